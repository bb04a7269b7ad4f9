"""Proving in this process with EZKL."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ezkl

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.ezkl_failures import is_ezkl_failure
from oracle.exceptions import ProverError
from oracle.inference import split_by_shapes
from oracle.provers.base import Proof


@dataclass(frozen=True)
class ProvingMaterial:
    """The files proving reads: from a local build, or from a remote prover's artifact cache."""

    compiled: Path
    pk: Path
    srs: Path
    label: str  # names the circuit in error messages

    @classmethod
    def of(cls, circuit: CircuitArtifacts) -> ProvingMaterial:
        return cls(compiled=circuit.compiled, pk=circuit.pk, srs=circuit.srs, label=circuit.manifest.key)


def prove_material(material: ProvingMaterial, tensors: Sequence[Sequence[float]], *, prover: str = "local") -> Proof:
    """Witness generation and proving with ``material``'s proving key.

    ``tensors`` holds one flat list per model input tensor (EZKL's data layout); a flat
    round input is cut into them with :func:`oracle.inference.split_by_shapes`.
    """
    with tempfile.TemporaryDirectory(prefix="zkoracle-prove-") as tmp:
        work = Path(tmp)
        data, witness, proof = work / "input.json", work / "witness.json", work / "proof.json"
        data.write_text(json.dumps({"input_data": [[float(x) for x in tensor] for tensor in tensors]}))
        started = time.perf_counter()
        try:
            ezkl.gen_witness(data=str(data), model=str(material.compiled), output=str(witness))
            witnessed = time.perf_counter()
            ezkl.prove(
                witness=str(witness),
                model=str(material.compiled),
                pk_path=str(material.pk),
                proof_path=str(proof),
                srs_path=str(material.srs),
            )
        except BaseException as exc:
            if not is_ezkl_failure(exc):
                raise
            raise ProverError(f"{prover} proving failed for circuit {material.label}: {exc}") from exc
        proven = time.perf_counter()
        return Proof(
            document=proof.read_bytes(),
            prover=prover,
            prove_seconds=proven - started,
            stages={"witness": witnessed - started, "prove": proven - witnessed},
        )


class LocalProver:
    """Witness generation and proving with the circuit's proving key, on this machine."""

    name = "local"

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        tensors = split_by_shapes(inputs, circuit.manifest.input_shapes)
        return prove_material(ProvingMaterial.of(circuit), tensors, prover=self.name)
