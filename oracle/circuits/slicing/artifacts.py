"""A built sliced circuit: its folder, its manifest and the per-slice circuits it points to."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

from oracle.circuits.artifacts import MANIFEST, CircuitArtifacts, _numel
from oracle.circuits.intake import ModelIntake
from oracle.exceptions import CircuitError
from oracle.inference import OnnxModel

SLICED_PREFIX = "sliced-"


@dataclass(frozen=True)
class SliceEntry:
    index: int
    model_file: str  # relative to the sliced circuit's folder
    input_tensor: str
    output_tensor: str
    estimated_cost: int  # the planner's estimate of its EZKL rows (see slicing.rows)
    circuit_key: str | None  # the slice's own circuit build; None when the slice is not proven


@dataclass(frozen=True)
class SlicedManifest:
    key: str
    ezkl_version: str
    scale: int  # every boundary tensor is committed at this fixed-point scale
    slices: list[SliceEntry]
    input_shapes: list[list[int]]  # the whole model's
    output_shapes: list[list[int]]
    model_commitment: str
    quantization_error: float  # bound on |chained circuit output − float model output|
    dev_srs: bool
    timings: dict[str, float]
    sample_lows: list[float]  # per model input: the calibration samples' range (see CircuitManifest)
    sample_highs: list[float]
    intake: ModelIntake | None = None  # how model.onnx was prepared (see CircuitManifest)

    @classmethod
    def from_json(cls, data: dict) -> SlicedManifest:
        intake = data.get("intake")
        return cls(
            **{
                **data,
                "slices": [SliceEntry(**entry) for entry in data["slices"]],
                "intake": None if intake is None else ModelIntake(**intake),
            }
        )

    @property
    def input_size(self) -> int:
        return sum(_numel(shape) for shape in self.input_shapes)

    @property
    def input_scales(self) -> list[int]:
        """The first slice's input scale, which the build fixed for every boundary."""
        return [self.scale]

    @property
    def proven(self) -> list[bool]:
        return [entry.circuit_key is not None for entry in self.slices]

    @property
    def coverage(self) -> tuple[int, int]:
        """(proven slices, all slices): what a round of this circuit proves."""
        return sum(self.proven), len(self.slices)


@dataclass(frozen=True)
class SliceCircuit:
    index: int
    model: Path
    circuit: CircuitArtifacts | None  # None: run as plain inference (targeted verification)

    @property
    def proven(self) -> bool:
        return self.circuit is not None

    @cached_property
    def inference(self) -> OnnxModel:
        """The slice in onnxruntime: how an unproven slice runs, one session kept across rounds."""
        return OnnxModel(self.model)


@dataclass(frozen=True)
class SlicedCircuit:
    """Slices of one model, each proven by its own circuit, linked by KZG boundary commitments.

    Instance layout of the slice proofs: the first slice's instances are the model's
    inputs, a middle slice has none, the last slice's are the model's public outputs. The
    boundary tensors are committed inside the proofs (see :mod:`oracle.circuits.slicing.links`).
    """

    root: Path
    manifest: SlicedManifest
    build_root: Path

    @property
    def model(self) -> Path:
        """The whole model, for plain inference."""
        return self.root / "model.onnx"

    @cached_property
    def slices(self) -> list[SliceCircuit]:
        return [
            SliceCircuit(
                index=entry.index,
                model=self.root / entry.model_file,
                circuit=None
                if entry.circuit_key is None
                else CircuitArtifacts.load(self.build_root / entry.circuit_key),
            )
            for entry in self.manifest.slices
        ]

    @property
    def first(self) -> CircuitArtifacts:
        return _proven(self.slices[0])

    @property
    def last(self) -> CircuitArtifacts:
        return _proven(self.slices[-1])

    @property
    def output_scale(self) -> int:
        return self.last.manifest.output_scale

    @classmethod
    def load(cls, root: Path) -> SlicedCircuit:
        try:
            data = json.loads((root / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise CircuitError(f"sliced circuit {root.name}: cannot read its manifest: {exc}") from exc
        return cls(root=root, manifest=SlicedManifest.from_json(data), build_root=root.parent)

    def write_manifest(self) -> None:
        (self.root / MANIFEST).write_text(json.dumps(asdict(self.manifest), indent=2, sort_keys=True))


def _proven(piece: SliceCircuit) -> CircuitArtifacts:
    if piece.circuit is None:
        raise CircuitError(f"slice {piece.index} has no circuit: the first and last slices are always proven")
    return piece.circuit
