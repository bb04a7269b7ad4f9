"""One circuit model: a feed's model proven as a chain of pieces, a whole model being the chain of one.

A build yields either one circuit of the whole model or a sliced circuit (each on disk
as before, cached by content hash); everything after the build sees a :class:`FeedCircuit`
and handles the pieces in order: the first takes the model inputs, the last gives the
answers, consecutive proven pieces are linked by KZG commitments inside their proofs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from oracle.circuits.artifacts import MANIFEST, CircuitArtifacts, _numel
from oracle.circuits.intake import ModelIntake
from oracle.circuits.slicing.artifacts import SLICED_PREFIX, SliceCircuit, SlicedCircuit
from oracle.circuits.slicing.build import commitment_of_slices
from oracle.exceptions import CircuitError


@dataclass(frozen=True)
class Boundary:
    """The tensors a piece of a sliced model takes and gives (a whole model's one piece has none)."""

    input_tensor: str
    output_tensor: str


# What a whole circuit's manifest and a sliced one's both record, under the same names.
_FROM_MANIFEST = (
    "key",
    "model_commitment",
    "quantization_error",
    "ezkl_version",
    "input_shapes",
    "output_shapes",
    "sample_lows",
    "sample_highs",
    "intake",
    "timings",
)


@dataclass(frozen=True)
class FeedCircuit:
    """A feed's circuit: its pieces (a whole model's one, or its slices) and what the whole chain commits to.

    ``key`` names the build; ``model_commitment`` is what ZkOracle registers;
    ``quantization_error`` bounds |proven answer − float model answer| over the chain.
    """

    key: str
    model: Path  # the whole model, for plain inference
    pieces: tuple[SliceCircuit, ...]
    boundaries: tuple[Boundary, ...]  # per piece of a sliced model; empty for a whole model
    model_commitment: str
    quantization_error: float
    ezkl_version: str
    input_shapes: list[list[int]]
    output_shapes: list[list[int]]
    sample_lows: list[float]
    sample_highs: list[float]
    intake: ModelIntake | None
    timings: dict[str, float]  # the build's steps, in seconds, as it recorded them
    # Held-out samples and per output value the largest |circuit − onnxruntime| on them (a whole model's build
    # measures them; a sliced model's error is its quantisation bound).
    held_out_samples: int = 0
    held_out_errors: tuple[float, ...] = ()

    @classmethod
    def whole(cls, circuit: CircuitArtifacts) -> FeedCircuit:
        manifest = circuit.manifest
        return cls(
            model=circuit.model,
            pieces=(SliceCircuit(index=0, model=circuit.model, circuit=circuit),),
            boundaries=(),
            held_out_samples=manifest.held_out_samples,
            held_out_errors=tuple(manifest.held_out_errors),
            **{name: getattr(manifest, name) for name in _FROM_MANIFEST},
        )

    @classmethod
    def sliced(cls, circuit: SlicedCircuit) -> FeedCircuit:
        manifest = circuit.manifest
        return cls(
            model=circuit.model,
            pieces=tuple(circuit.slices),
            boundaries=tuple(Boundary(entry.input_tensor, entry.output_tensor) for entry in manifest.slices),
            **{name: getattr(manifest, name) for name in _FROM_MANIFEST},
        )

    @classmethod
    def load(cls, build_root: Path, key: str) -> FeedCircuit:
        """The circuit built under ``key`` in ``build_root``, whole or sliced, every piece's circuit read now."""
        if (build_root / key / MANIFEST).is_file():
            return cls.whole(CircuitArtifacts.load(build_root / key))
        root = build_root / f"{SLICED_PREFIX}{key}"
        if not (root / MANIFEST).is_file():
            raise CircuitError(f"circuit {key} is not in the build folder {build_root}")
        try:
            return cls.sliced(SlicedCircuit.load(root))
        except (OSError, ValueError) as exc:
            raise CircuitError(f"sliced circuit {key}: its slice circuits cannot be read from {build_root}: {exc}") from exc

    @property
    def first(self) -> CircuitArtifacts:
        """The proven piece that takes the model inputs (and the observation time)."""
        return _proven(self.pieces[0])

    @property
    def last(self) -> CircuitArtifacts:
        """The proven piece whose public outputs are the answers."""
        return _proven(self.pieces[-1])

    @property
    def proven_circuits(self) -> list[CircuitArtifacts]:
        return [piece.circuit for piece in self.pieces if piece.circuit is not None]

    @property
    def coverage(self) -> tuple[int, int]:
        """(proven pieces, all pieces): what a round of this circuit proves."""
        return sum(piece.proven for piece in self.pieces), len(self.pieces)

    @property
    def fully_proven(self) -> bool:
        proven, total = self.coverage
        return proven == total

    @property
    def dev_srs(self) -> bool:
        """Whether any piece was set up with the locally generated (dev) SRS."""
        return any(circuit.manifest.dev_srs for circuit in self.proven_circuits)

    @property
    def input_size(self) -> int:
        """How many values the model takes."""
        return sum(_numel(shape) for shape in self.input_shapes)

    @property
    def input_scale(self) -> int:
        return self.first.manifest.input_scales[0]

    @property
    def output_scale(self) -> int:
        return self.last.manifest.output_scale

    def answer_index(self, output: int) -> int:
        """Position of model output element ``output`` among the last piece's instances."""
        return self.last.manifest.answer_index(output)

    def answer_scale(self, output: int) -> int:
        return self.last.manifest.answer_scale(output)


def _proven(piece: SliceCircuit) -> CircuitArtifacts:
    if piece.circuit is None:
        raise CircuitError(f"piece {piece.index} has no circuit: the first and last pieces are always proven")
    return piece.circuit


def chain_commitment(whole_onnx: bytes, pieces: Sequence[str | bytes]) -> str:
    """The model commitment of a chain, from each piece's (a proven piece's circuit commitment, 0x hex, or an
    unproven slice's ONNX bytes): a whole model's is its one circuit's own, a sliced model's binds the whole
    ONNX and every slice (:func:`~oracle.circuits.slicing.build.commitment_of_slices`).

    Verifiers holding only downloaded bytes derive it so.
    """
    if len(pieces) == 1:
        (only,) = pieces
        if not isinstance(only, str):
            raise CircuitError("a whole model's one piece is always proven, so it has a circuit commitment")
        return only
    return commitment_of_slices(whole_onnx, pieces)
