"""Where to cut a model into slices and which slices to prove: plain data, importable without EZKL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from oracle.exceptions import CircuitError

if TYPE_CHECKING:
    from oracle.circuits.slicing.cut import CutPoint, ModelGraph

# A feed's slices are at most this many.
MAX_SLICES = 16
# KZG's BN254 SRS (and EZKL) stop at 2**26 rows.
MAX_LOGROWS = 26
# The planner plans no slice smaller: EZKL's default 2**14-row range-check table, plus reserved
# rows. (A build may still take a smaller table and fewer rows: oracle.circuits.build.SMALL_DECOMPOSITION.)
RANGE_CHECK_LOGROWS = 15


@dataclass(frozen=True)
class SlicingPlan:
    """Where to cut and which slices to prove: explicit cut tensors, or a slice count to balance.

    With ``max_logrows``, nodes too wide for a slice of that size are split into pieces first
    and ``slices`` is the least count: the plan takes the fewest slices, at least that many,
    each estimated within ``max_logrows``.
    """

    slices: int | None = None
    cuts: tuple[str, ...] = ()
    proven: tuple[int, ...] | None = None  # None: every slice
    calibration_target: Literal["resources", "accuracy"] = "resources"
    max_logrows: int | None = None

    def layout(
        self, graph: ModelGraph, *, samples: Sequence[Sequence[float]] = ()
    ) -> tuple[ModelGraph, list[CutPoint]]:
        """The graph the slices are cut from (``graph``, or it with wide nodes split) and the cuts.

        ``samples`` check that a split graph computes what ``graph`` does.
        """
        if self.max_logrows is not None:
            return graph.fit(self.max_logrows, min_slices=self.slices or 2, samples=samples)
        return graph, self.cut_points(graph)

    def cut_points(self, graph: ModelGraph) -> list[CutPoint]:
        if self.cuts:
            points = [graph.cut_named(name) for name in self.cuts]
            if [p.position for p in points] != sorted({p.position for p in points}):
                raise CircuitError(
                    f"model {graph.path.name}: cut tensors {list(self.cuts)} must be distinct and in graph order"
                )
            return points
        if self.slices is None:
            raise CircuitError(f"model {graph.path.name}: a slicing plan needs a slice count or cut tensors")
        return graph.balanced_cuts(self.slices)

    def proven_mask(self, count: int) -> list[bool]:
        if self.proven is None:
            return [True] * count
        wanted = set(self.proven)
        if any(not 0 <= index < count for index in wanted):
            raise CircuitError(f"proven slices {sorted(wanted)} must lie in 0..{count - 1}")
        if 0 not in wanted or count - 1 not in wanted:
            # The first slice binds the inputs and the last yields the answer: without them nothing is proven.
            raise CircuitError(f"proven slices {sorted(wanted)} must include the first (0) and last ({count - 1})")
        return [index in wanted for index in range(count)]
