"""Proving in this process with EZKL."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import ezkl

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.exceptions import ProverError
from oracle.provers.base import Proof


class LocalProver:
    """Witness generation and proving with the circuit's proving key, on this machine."""

    name = "local"

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        with tempfile.TemporaryDirectory(prefix="zkoracle-prove-") as tmp:
            work = Path(tmp)
            data, witness, proof = work / "input.json", work / "witness.json", work / "proof.json"
            data.write_text(json.dumps({"input_data": [[float(x) for x in inputs]]}))
            started = time.perf_counter()
            try:
                ezkl.gen_witness(data=str(data), model=str(circuit.compiled), output=str(witness))
                ezkl.prove(
                    witness=str(witness),
                    model=str(circuit.compiled),
                    pk_path=str(circuit.pk),
                    proof_path=str(proof),
                    srs_path=str(circuit.srs),
                )
            except Exception as exc:  # ezkl raises bare RuntimeErrors carrying the cause
                raise ProverError(f"local proving failed for circuit {circuit.manifest.key}: {exc}") from exc
            return Proof(document=proof.read_bytes(), prover=self.name, prove_seconds=time.perf_counter() - started)
