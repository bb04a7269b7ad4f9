"""Checking a proof off-chain before anything is sent: a prover is never trusted."""

from __future__ import annotations

import tempfile
from pathlib import Path

import ezkl

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.ezkl_failures import is_ezkl_failure
from oracle.exceptions import ProverError


def verify_document(circuit: CircuitArtifacts, document: bytes) -> None:
    """Raise :class:`ProverError` unless ``document`` (an EZKL proof JSON) verifies for ``circuit``."""
    with tempfile.NamedTemporaryFile(suffix=".json", prefix="zkoracle-verify-") as file:
        Path(file.name).write_bytes(document)
        try:
            valid = ezkl.verify(
                proof_path=file.name,
                settings_path=str(circuit.settings),
                vk_path=str(circuit.vk),
                srs_path=str(circuit.srs),
            )
        except BaseException as exc:  # ezkl raises (or panics) on malformed or invalid proofs
            if not is_ezkl_failure(exc):
                raise
            raise ProverError(f"proof does not verify against circuit {circuit.manifest.key}: {exc}") from exc
    if not valid:
        raise ProverError(f"proof does not verify against circuit {circuit.manifest.key}")
