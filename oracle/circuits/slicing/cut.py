"""Cutting an ONNX model into standalone slices at tensors that carry all state forward.

A cut is valid where exactly one tensor crosses it: every value computed before the cut
and used after it is that tensor. Each slice then has one input and one output tensor,
and the slices' boundary commitments (one KZG commitment each) describe the whole
activation passed on. Cuts are chosen on an estimate of each slice's EZKL rows (see
``slicing.rows``): its nodes' rows plus its input boundary's, which every value passed
across a cut costs again (half a row) in the slice it enters. So of two cuts balancing
equally well, the one passing fewer values on wins, and it is also the cheaper link.
Under ``max_logrows`` a wide node is split so that slices fill up (:meth:`ModelGraph.fit`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import onnx
import onnx.utils
from onnx import TensorProto, numpy_helper

from oracle.circuits.slicing.rows import (
    PER_COPY,
    input_rows,
    logrows_for,
    node_rows,
    numel,
    public_output_rows,
    row_budget,
)
from oracle.circuits.slicing.split import (
    SplitNode,
    node_key,
    piece_label,
    split_axis,
    split_nodes,
    split_wide_nodes,
)
from oracle.circuits.slicing_plan import MAX_SLICES
from oracle.exceptions import CircuitError, SlicePlanError

# Splitting every wide node into equal pieces of at most this share of a slice's rows lets the
# cuts balance the slices, at a Slice of the carried tensor per piece.
PIECES_PER_SLICE = 2
# Filling slices instead: how close (rows) the search for the evenest fill target gets.
FILL_PRECISION = 256
_FLOAT_TYPES = frozenset({TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16})


@dataclass(frozen=True)
class CutPoint:
    """A position between two nodes where a single tensor crosses."""

    position: int  # nodes[:position] come before the cut
    tensor: str
    shape: tuple[int, ...]
    cost_before: int  # estimated rows of nodes[:position]

    @property
    def width(self) -> int:
        return numel(self.shape)


@dataclass(frozen=True)
class SliceEstimate:
    """What the planner expects of one slice: its ops, rows and logrows, the values entering and leaving it."""

    ops: list[str]
    rows: int
    input_width: int
    output_width: int

    @property
    def logrows(self) -> int:
        return logrows_for(self.rows)


@dataclass(frozen=True)
class ModelGraph:
    """What slicing needs to know about a model: its nodes, where it can be cut, what each node costs in rows."""

    path: Path
    proto: onnx.ModelProto
    node_costs: list[int]
    cut_points: list[CutPoint]
    input_width: int  # values of the model's inputs: the first slice's public inputs
    output_width: int
    splits: list[SplitNode] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path, *, onnx_bytes: bytes | None = None) -> ModelGraph:
        """The graph of the model at ``path`` or, given ``onnx_bytes``, of its prepared form."""
        try:
            model = onnx.load(str(path)) if onnx_bytes is None else onnx.load_from_string(onnx_bytes)
        except OSError as exc:
            raise CircuitError(f"cannot read model {path} for slicing: {exc}") from exc
        return cls._of(path, model)

    @classmethod
    def _of(cls, path: Path, model: onnx.ModelProto, splits: list[SplitNode] | None = None) -> ModelGraph:
        try:
            proto = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        except onnx.onnx_cpp2py_export.shape_inference.InferenceError as exc:  # type: ignore[attr-defined]
            raise CircuitError(f"cannot read model {path} for slicing: {exc}") from exc
        shapes = tensor_shapes(proto)
        graph = proto.graph
        scalars = {
            init.name: float(numpy_helper.to_array(init).reshape(-1)[0])
            for init in graph.initializer
            if numel(init.dims) == 1 and init.data_type in _FLOAT_TYPES
        }
        costs = [node_rows(node, shapes, scalars=scalars) for node in graph.node]
        weights = {init.name for init in graph.initializer}
        return cls(
            path=path,
            proto=proto,
            node_costs=costs,
            cut_points=_cut_points(proto, shapes, costs),
            input_width=sum(numel(shapes[v.name]) for v in graph.input if v.name not in weights),
            output_width=sum(numel(shapes[v.name]) for v in graph.output),
            splits=splits or [],
        )

    @property
    def total_cost(self) -> int:
        return sum(self.node_costs)

    def split_for(self, max_logrows: int, *, samples: Sequence[Sequence[float]] = ()) -> ModelGraph:
        """This graph with every node too wide for a slice of ``max_logrows`` split into equal pieces (see ``split``).

        With ``samples``, the rewritten graph is checked to compute the same outputs on them.
        """
        piece_rows = row_budget(max_logrows) // PIECES_PER_SLICE
        model, splits = split_wide_nodes(
            self.proto, tensor_shapes(self.proto), piece_rows, model_name=self.path.name, samples=samples
        )
        return self if not splits else ModelGraph._of(self.path, model, splits)

    def fit(
        self, max_logrows: int, *, min_slices: int = 2, samples: Sequence[Sequence[float]] = ()
    ) -> tuple[ModelGraph, list[CutPoint]]:
        """The fewest slices (at least ``min_slices``) within ``max_logrows``, wide nodes split to get there.

        Two ways of splitting are planned and the one with fewer slices (then the smaller largest
        slice) is kept: every wide node in equal pieces (:meth:`split_for`), or each split exactly
        where a slice fills up (:meth:`split_to_fill`), which leaves one piece per slice the node
        spans and so one Slice of the carried tensor per slice, not per piece.
        """
        plans: list[tuple[ModelGraph, list[CutPoint]]] = []
        refusal: SlicePlanError | CircuitError | None = None
        for graph in (
            self.split_for(max_logrows, samples=samples),
            self.split_to_fill(max_logrows, min_slices, samples),
        ):
            if graph is None:
                continue
            try:
                plans.append((graph, graph.fitting_cuts(max_logrows, min_slices=min_slices)))
            except (SlicePlanError, CircuitError) as exc:
                refusal = refusal or exc
        if not plans:
            assert refusal is not None
            raise refusal
        return min(plans, key=lambda plan: (len(plan[1]), max(plan[0].slice_rows(plan[1]))))

    def split_to_fill(
        self, max_logrows: int, min_slices: int = 2, samples: Sequence[Sequence[float]] = ()
    ) -> ModelGraph | None:
        """This graph with wide nodes split where slices of ``max_logrows`` fill up, into at least ``min_slices``
        (None if filling leaves a slice over the budget, e.g. at an op that cannot be split).

        Filled to the budget, the fewest slices fit; then the smallest fill target that keeps
        that many is searched for, so the slices come out even.
        """

        def filled(target: int) -> tuple[dict[str, list[int]], int, int] | None:
            """The pieces filling slices to ``target``, how many slices they make and the largest one's rows."""
            sizes = _fill_sizes(self, target)
            if sizes is None:
                return None
            model, splits = split_nodes(self.proto, tensor_shapes(self.proto), sizes, model_name=self.path.name)
            graph = ModelGraph._of(self.path, model, splits) if splits else self
            try:
                cuts = graph.fitting_cuts(max_logrows, min_slices=min_slices)
            except (SlicePlanError, CircuitError):
                return None
            return sizes, len(cuts) + 1, max(graph.slice_rows(cuts))

        budget = row_budget(max_logrows)
        fullest = filled(budget)
        if fullest is None:
            return None
        sizes, count, _largest = fullest
        # Below the best target the last slice, holding what the others left, outgrows it.
        low, high = math.ceil(self.total_cost / count), budget
        while high - low > FILL_PRECISION:
            middle = (low + high) // 2
            even = filled(middle)
            if even is not None and even[1] == count and even[2] <= middle:
                sizes, high = even[0], middle
            else:
                low = middle
        model, splits = split_nodes(
            self.proto, tensor_shapes(self.proto), sizes, model_name=self.path.name, samples=samples
        )
        return ModelGraph._of(self.path, model, splits) if splits else self

    def cut_named(self, tensor: str) -> CutPoint:
        for point in self.cut_points:
            if point.tensor == tensor:
                return point
        candidates = ", ".join(point.tensor for point in self.cut_points) or "none"
        raise CircuitError(
            f"model {self.path.name}: cannot cut at tensor '{tensor}': it is not the only value crossing "
            f"from one part of the graph to the next. Tensors that can be cut at: {candidates}"
        )

    def balanced_cuts(self, slices: int) -> list[CutPoint]:
        """``slices - 1`` cut points making the largest slice as small as the graph allows, then passing the fewest
        values across the cuts, then spreading the rows most evenly."""
        if slices < 2:
            raise CircuitError(f"model {self.path.name}: slicing needs at least 2 slices, not {slices}")
        if len(self.cut_points) < slices - 1:
            raise CircuitError(
                f"model {self.path.name}: {slices} slices need {slices - 1} cut points, "
                f"the graph has {len(self.cut_points)} ({', '.join(p.tensor for p in self.cut_points) or 'none'})"
            )
        return [self.cut_points[j - 1] for j in _min_max_partition(self._span_rows, self._widths(), slices)]

    def fitting_cuts(self, max_logrows: int, *, min_slices: int = 2) -> list[CutPoint]:
        """The fewest slices (at least ``min_slices``) each estimated within ``max_logrows``, cut as ``balanced_cuts``.

        Split wide nodes first (:meth:`fit`): a node is never cut inside.
        """
        budget = row_budget(max_logrows)
        for node, rows in zip(self.proto.graph.node, self.node_costs, strict=True):
            if rows > budget:
                raise SlicePlanError(
                    model=self.path.name,
                    node=node.name or node.output[0],
                    op_type=node.op_type,
                    rows=rows,
                    needed_logrows=logrows_for(rows),
                    max_logrows=max_logrows,
                    splittable=piece_label(node) is not None,
                )
        widths = self._widths()
        best: list[int] = []
        for count in range(max(min_slices, 2), min(len(self.cut_points) + 1, MAX_SLICES) + 1):
            best = _min_max_partition(self._span_rows, widths, count)
            bounds = [0, *best, len(self.cut_points) + 1]
            if max(self._span_rows(i, j) for i, j in itertools.pairwise(bounds)) <= budget:
                return [self.cut_points[j - 1] for j in best]
        if not best:
            raise CircuitError(
                f"model {self.path.name}: {max(min_slices, 2)} slices need {max(min_slices, 2) - 1} cut points, "
                f"the graph has {len(self.cut_points)}"
            )
        needed = max(self.slice_rows([self.cut_points[j - 1] for j in best]))
        raise SlicePlanError(
            model=self.path.name,
            node=None,
            op_type=None,
            rows=needed,
            needed_logrows=logrows_for(needed),
            max_logrows=max_logrows,
            splittable=False,
            slices=len(best) + 1,
        )

    def slice_rows(self, cuts: Sequence[CutPoint]) -> list[int]:
        """Each slice's estimated rows: its nodes', its input boundary's and (the last) its public outputs'."""
        index = {point.position: number for number, point in enumerate(self.cut_points, 1)}
        bounds = [0, *(index[point.position] for point in cuts), len(self.cut_points) + 1]
        return [self._span_rows(i, j) for i, j in itertools.pairwise(bounds)]

    def estimates(self, cuts: Sequence[CutPoint]) -> list[SliceEstimate]:
        """Per slice, what the planner expects (for ``feeds validate``)."""
        positions = [0, *(point.position for point in cuts), len(self.node_costs)]
        widths = [self.input_width, *(point.width for point in cuts), self.output_width]
        nodes = list(self.proto.graph.node)
        return [
            SliceEstimate(
                ops=[label for node in nodes[a:b] if (label := _op_label(node))],
                rows=rows,
                input_width=widths[number],
                output_width=widths[number + 1],
            )
            for number, ((a, b), rows) in enumerate(
                zip(itertools.pairwise(positions), self.slice_rows(cuts), strict=True)
            )
        ]

    def _widths(self) -> list[int]:
        return [point.width for point in self.cut_points]

    @cached_property
    def _rows_before(self) -> list[int]:
        return [0, *(p.cost_before for p in self.cut_points), self.total_cost]

    def _span_rows(self, i: int, j: int) -> int:
        """Rows of the slice from bound ``i`` to bound ``j`` (0: the model's start, k: cut point k, last: its end)."""
        before = self._rows_before
        entering = input_rows(self.input_width) if i == 0 else input_rows(self.cut_points[i - 1].width, linked=True)
        leaving = public_output_rows(self.output_width) if j == len(before) - 1 else 0
        return before[j] - before[i] + entering + leaving

    def extract(self, cuts: Sequence[CutPoint], out_dir: Path) -> list[Path]:
        """Write each slice as a standalone ONNX model: slice-0.onnx, slice-1.onnx, ..."""
        out_dir.mkdir(parents=True, exist_ok=True)
        inferred = out_dir / "inferred.onnx"
        onnx.save(self.proto, str(inferred))
        graph = self.proto.graph
        initializers = {init.name for init in graph.initializer}
        inputs = [value.name for value in graph.input if value.name not in initializers]
        outputs = [value.name for value in graph.output]
        boundaries = [inputs, *([point.tensor] for point in cuts), outputs]
        paths = []
        for index, (slice_inputs, slice_outputs) in enumerate(itertools.pairwise(boundaries)):
            path = out_dir / f"slice-{index}.onnx"
            onnx.utils.extract_model(str(inferred), str(path), slice_inputs, slice_outputs, check_model=True)
            paths.append(path)
        inferred.unlink()
        return paths


def _op_label(node: onnx.NodeProto) -> str:
    label = piece_label(node)
    return node.op_type if label is None else label


def _min_max_partition(span: Callable[[int, int], int], widths: Sequence[int], slices: int) -> list[int]:
    """The bounds (1..len(widths), one per cut) of ``slices`` slices: the costliest as cheap as it can be,
    then the fewest values crossing the cuts, then the least sum of squared costs.

    Bound 0 is the model's start and ``len(widths) + 1`` its end; ``span(i, j)`` is the cost of a slice
    from bound i to bound j. Two dynamic programmes: the least possible costliest slice, then, with every
    slice held to it, the narrowest and most even cuts.
    """
    last = len(widths) + 1
    worst: list[dict[int, int]] = [{0: 0}]
    for k in range(1, slices + 1):
        ends = [last] if k == slices else range(k, last)
        worst.append(
            {
                j: min(max(before, span(i, j)) for i, before in worst[k - 1].items() if i < j)
                for j in ends
                if any(i < j for i in worst[k - 1])
            }
        )
    cap = worst[slices][last]
    # best[k][j]: (values crossing, sum of squares, chosen bounds) for k slices ending at bound j.
    best: list[dict[int, tuple[int, int, tuple[int, ...]]]] = [{0: (0, 0, ())}]
    for k in range(1, slices + 1):
        layer: dict[int, tuple[int, int, tuple[int, ...]]] = {}
        for j in [last] if k == slices else range(k, last):
            options = [
                (crossing + (widths[j - 1] if j < last else 0), squares + cost**2, (*chosen, j))
                for i, (crossing, squares, chosen) in best[k - 1].items()
                if i < j and (cost := span(i, j)) <= cap
            ]
            if options:
                layer[j] = min(options)
        best.append(layer)
    return list(best[slices][last][2][:-1])


def tensor_shapes(proto: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape in a shape-inferred model, a symbolic dimension taken as 1."""
    shapes: dict[str, tuple[int, ...]] = {}
    graph = proto.graph
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        # A symbolic (batch) dimension is 1, as in EZKL's circuits.
        shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in dims)
    for init in graph.initializer:
        shapes[init.name] = tuple(init.dims)
    return shapes


def _cut_points(proto: onnx.ModelProto, shapes: dict[str, tuple[int, ...]], costs: list[int]) -> list[CutPoint]:
    graph = proto.graph
    nodes = list(graph.node)
    initializers = {init.name for init in graph.initializer}
    constants = {out for node in nodes if node.op_type == "Constant" for out in node.output}
    graph_outputs = {value.name for value in graph.output}
    last_use: dict[str, int] = {}
    for index, node in enumerate(nodes):
        for name in node.input:
            if name:
                last_use[name] = index
    produced_at: dict[str, int] = {value.name: -1 for value in graph.input if value.name not in initializers}
    points = []
    cost_before = 0
    for position in range(1, len(nodes)):
        node = nodes[position - 1]
        cost_before += costs[position - 1]
        for name in node.output:
            produced_at[name] = position - 1
        crossing = [
            name
            for name, made in produced_at.items()
            if name not in constants and (last_use.get(name, -1) >= position or name in graph_outputs)
        ]
        if len(crossing) == 1 and produced_at[crossing[0]] >= 0 and crossing[0] not in graph_outputs:
            name = crossing[0]
            points.append(CutPoint(position=position, tensor=name, shape=shapes.get(name, ()), cost_before=cost_before))
    return points


def _fill_sizes(graph: ModelGraph, target: int) -> dict[str, list[int]] | None:
    """Per wide node, the output features of its pieces when slices are filled to ``target`` estimated rows in
    graph order: a splittable node that does not fit is split where the slice is full, its rest continuing
    in the next slice; any other node opens a new slice at the last cut point. None if a slice must start
    over ``target`` (too small a target to make progress)."""
    proto = graph.proto
    shapes = tensor_shapes(proto)
    weights = {init.name: init for init in proto.graph.initializer}
    cuts = {point.position: point for point in graph.cut_points}
    sizes: dict[str, list[int]] = {}
    rows = input_rows(graph.input_width)
    last_cut: tuple[int, int] | None = None  # (its width, this slice's rows before it) of this slice's latest cut
    for position, (node, node_cost) in enumerate(zip(proto.graph.node, graph.node_costs, strict=True)):
        if position in cuts:
            last_cut = (cuts[position].width, rows)
        if rows + node_cost <= target:
            rows += node_cost
            continue
        axis = split_axis(node, shapes, weights)
        features = shapes[node.output[0]][axis] if axis is not None else 1
        if axis is None or features < 2:
            if last_cut is None:
                rows += node_cost  # nowhere to cut: the plan's check finds the slice over budget
                continue
            width, before = last_cut
            rows = input_rows(width, linked=True) + rows - before + node_cost
            last_cut = None
            continue
        if rows + math.ceil(node_cost / features) > target and position in cuts:
            # Not one feature fits: the node opens the next slice.
            rows, last_cut = input_rows(cuts[position].width, linked=True), None
            if rows + node_cost <= target:
                rows += node_cost
                continue
        pieces = _fill_node(
            node_cost, features, numel(shapes[node.input[0]]), numel(shapes[node.output[0]]), rows, target
        )
        if pieces is None:
            return None
        pieces_list, rows = pieces
        if len(pieces_list) > 1:
            sizes[node_key(node)] = pieces_list
        last_cut = None
    return sizes


def _fill_node(
    node_cost: int, features: int, x_width: int, y_width: int, rows: int, target: int
) -> tuple[list[int], int] | None:
    """A wide node's pieces (features each) filling the current slice (``rows`` so far) and the next ones to
    ``target``, and the rows of the slice its last piece ends in. Every piece after the first takes the input
    back out of the carried tensor, and the last also the earlier pieces' outputs: a Slice of the carried
    tensor each (see ``rows``)."""
    per_feature = node_cost / features
    per_feature_width = y_width / features
    pieces: list[int] = []
    done = 0
    while True:
        carried = x_width + math.ceil(per_feature_width * done)
        take = math.ceil(PER_COPY * carried) if done else 0
        rest = features - done
        if rows + take + math.ceil(per_feature * rest) + take <= target:
            return [*pieces, rest], rows + math.ceil(per_feature * rest) + 2 * take
        fits = min(rest - 1, math.floor((target - rows - take) / per_feature))
        if fits < 1:
            return None
        pieces.append(fits)
        done += fits
        rows = input_rows(x_width + math.ceil(per_feature_width * done), linked=True)
