"""Where a slice proof carries the KZG commitments of its boundary tensors.

A slice commits to its input and output tensors with EZKL's ``polycommit`` visibility: an
unblinded KZG commitment of the column holding the tensor, carried in the proof itself
(no public instance, no in-circuit hash). EZKL writes those commitments first among the
proof's commitments, each an uncompressed G1 point of 64 bytes (x ‖ y, big-endian): the
input tensor's, then the output tensor's. So in a proof's bytes

    input only (the last slice)      input  [0, 64)
    output only (the first slice)    output [0, 64)
    both (a middle slice)            input  [0, 64), output [64, 128)

Two slices committing to the same values over the same domain (one logrows) produce the
same point, so a link is a byte comparison: ZkOracle's ``_checkSliceLinks`` makes the
same one. The build checks this layout on a proof of a slice of each layout (see ``slicing.build``).
"""

from __future__ import annotations

from dataclasses import dataclass

from oracle.circuits.artifacts import CircuitManifest
from oracle.exceptions import CircuitError

POINT_BYTES = 64


@dataclass(frozen=True)
class CommitmentLayout:
    """Which boundary tensors a slice circuit commits to, hence where their points sit in its proofs."""

    input_committed: bool
    output_committed: bool

    @property
    def input_offset(self) -> int | None:
        return 0 if self.input_committed else None

    @property
    def output_offset(self) -> int | None:
        if not self.output_committed:
            return None
        return POINT_BYTES if self.input_committed else 0

    def input_point(self, proof: bytes) -> bytes | None:
        """The input tensor's commitment in ``proof``'s bytes; None if the proof is too short to hold it."""
        return _point(proof, self.input_offset, "input")

    def output_point(self, proof: bytes) -> bytes | None:
        """The output tensor's commitment in ``proof``'s bytes; None if the proof is too short to hold it."""
        return _point(proof, self.output_offset, "output")


def commitment_layout(manifest: CircuitManifest) -> CommitmentLayout:
    """The layout of a slice circuit's proofs, from its boundary visibilities."""
    return CommitmentLayout(
        input_committed=manifest.input_visibility == "polycommit",
        output_committed=manifest.output_visibility == "polycommit",
    )


def linked(before: bytes | None, after: bytes | None) -> bool:
    """Whether two commitments read from proofs are one point (a proof too short holds none)."""
    return before is not None and before == after


def _point(proof: bytes, offset: int | None, side: str) -> bytes | None:
    if offset is None:
        raise CircuitError(f"the circuit does not commit to its {side}, so its proofs carry no {side} commitment")
    if len(proof) < offset + POINT_BYTES:
        return None
    return proof[offset : offset + POINT_BYTES]
