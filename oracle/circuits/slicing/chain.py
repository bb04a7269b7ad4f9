"""Running a model slice by slice, as the slice circuits compute it.

Each proven slice's outputs are taken from its EZKL witness (the fixed-point values its
proof will commit to) and handed to the next slice dequantised; at a shared scale they
quantise back to exactly the same field elements, so the KZG commitments on both sides
of a boundary (over one shared logrows) are one point. Slices that are not proven run in
onnxruntime.
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
from oracle.circuits.slicing.artifacts import SliceCircuit
from oracle.exceptions import CircuitError
from oracle.inference import split_by_shapes


@dataclass(frozen=True)
class SliceStep:
    inputs: list[float]  # the slice's flat input as its circuit (or onnxruntime) received it
    outputs: list[float]
    # KZG commitments of the input and output tensors as a proof carries them (64-byte
    # uncompressed G1 points, see slicing.links); None for a tensor the slice does not commit to.
    input_commitment: bytes | None
    output_commitment: bytes | None


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


def run_chain(pieces: Sequence[SliceCircuit], inputs: Sequence[float]) -> ChainRun:
    """Carry ``inputs`` through ``pieces`` in order: EZKL witnesses for proven ones, onnxruntime for the others."""
    flat = [float(x) for x in inputs]
    steps = []
    with tempfile.TemporaryDirectory(prefix="zkoracle-chain-") as tmp:
        for piece in pieces:
            if piece.circuit is None:
                steps.append(SliceStep(flat, piece.inference.run(flat), None, None))
            else:
                steps.append(witness_step(piece.circuit, flat, workdir=Path(tmp)))
            flat = steps[-1].outputs
    return ChainRun(steps)


def witness_step(circuit: CircuitArtifacts, inputs: Sequence[float], *, workdir: Path) -> SliceStep:
    manifest = circuit.manifest
    data, witness_path = workdir / f"{manifest.key}-input.json", witness_file(circuit, workdir)
    data.write_text(json.dumps({"input_data": split_by_shapes(inputs, manifest.input_shapes)}))
    try:
        # With the vk and SRS, EZKL also computes the polycommit commitments the proof will carry.
        witness = ezkl.gen_witness(
            data=str(data),
            model=str(circuit.compiled),
            output=str(witness_path),
            vk_path=str(circuit.vk),
            srs_path=str(circuit.srs),
        )
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
        input_commitment=_commitment(witness.get("processed_inputs"), manifest.key, "input"),
        output_commitment=_commitment(witness.get("processed_outputs"), manifest.key, "output"),
    )


def witness_file(circuit: CircuitArtifacts, workdir: Path) -> Path:
    """Where :func:`witness_step` leaves ``circuit``'s witness in ``workdir``."""
    return workdir / f"{circuit.manifest.key}-witness.json"


def _commitment(processed: dict | None, key: str, side: str) -> bytes | None:
    """The one KZG commitment of a polycommit tensor, as the proof's 64 bytes (x ‖ y big-endian)."""
    points = (processed or {}).get("polycommit")
    if not points:
        return None
    if len(points) != 1 or len(points[0]) != 1:
        raise CircuitError(
            f"slice circuit {key}: its {side} is committed as {[len(p) for p in points]} points, not one; "
            "a boundary must be one tensor in one column"
        )
    point = points[0][0]  # EZKL's PyG1Affine: coordinates as little-endian hex
    return bytes.fromhex(point.x)[::-1] + bytes.fromhex(point.y)[::-1]
