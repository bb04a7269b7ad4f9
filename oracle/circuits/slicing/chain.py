"""Running a model slice by slice, as the slice circuits compute it.

Each proven slice's outputs are taken from its EZKL witness (the fixed-point values its
proof will commit to) and handed to the next slice dequantised; at a shared scale they
quantise back to exactly the same field elements, so the Poseidon commitments on both
sides of a boundary agree. Slices that are not proven run in onnxruntime.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ezkl

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.ezkl_failures import is_ezkl_failure
from oracle.circuits.quantize import felt_to_float
from oracle.circuits.slicing.artifacts import SlicedCircuit
from oracle.exceptions import CircuitError
from oracle.inference import split_by_shapes


@dataclass(frozen=True)
class SliceStep:
    inputs: list[float]  # the slice's flat input as its circuit (or onnxruntime) received it
    outputs: list[float]
    input_commitment: str | None  # Poseidon digest (EZKL's little-endian hex) of the input, if hashed
    output_commitment: str | None


@dataclass(frozen=True)
class ChainRun:
    steps: list[SliceStep]

    @property
    def outputs(self) -> list[float]:
        return self.steps[-1].outputs

    def broken_links(self) -> list[int]:
        """Slices whose input commitment differs from the previous proven slice's output commitment."""
        return [
            index
            for index in range(1, len(self.steps))
            if self.steps[index - 1].output_commitment is not None
            and self.steps[index].input_commitment is not None
            and self.steps[index - 1].output_commitment != self.steps[index].input_commitment
        ]


def run_chain(circuit: SlicedCircuit, inputs: Sequence[float]) -> ChainRun:
    flat = [float(x) for x in inputs]
    steps = []
    with tempfile.TemporaryDirectory(prefix="zkoracle-chain-") as tmp:
        for piece in circuit.slices:
            if piece.circuit is None:
                steps.append(SliceStep(flat, piece.inference.run(flat), None, None))
            else:
                steps.append(witness_step(piece.circuit, flat, workdir=Path(tmp)))
            flat = steps[-1].outputs
    return ChainRun(steps)


def witness_step(circuit: CircuitArtifacts, inputs: Sequence[float], *, workdir: Path) -> SliceStep:
    manifest = circuit.manifest
    data, witness_path = workdir / f"{manifest.key}-input.json", workdir / f"{manifest.key}-witness.json"
    data.write_text(json.dumps({"input_data": split_by_shapes(inputs, manifest.input_shapes)}))
    try:
        witness = ezkl.gen_witness(data=str(data), model=str(circuit.compiled), output=str(witness_path))
    except BaseException as exc:
        if not is_ezkl_failure(exc):
            raise
        raise CircuitError(f"witness generation failed for slice circuit {manifest.key}: {exc}") from exc
    outputs = [
        felt_to_float(felt, scale)
        for felts, scale in zip(witness["outputs"], manifest.output_scales, strict=True)
        for felt in felts
    ]
    return SliceStep(
        inputs=list(inputs),
        outputs=outputs,
        input_commitment=_digest(witness.get("processed_inputs")),
        output_commitment=_digest(witness.get("processed_outputs")),
    )


def _digest(processed: dict | None) -> str | None:
    if not processed or not processed.get("poseidon_hash"):
        return None
    return processed["poseidon_hash"][0]
