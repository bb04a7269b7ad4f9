"""Cutting an ONNX model into standalone slices at tensors that carry all state forward.

A cut is valid where exactly one tensor crosses it: every value computed before the cut
and used after it is that tensor. Each slice then has one input and one output tensor,
and the slices' boundary commitments (one KZG commitment each) describe the whole
activation passed on. Automatic cuts balance an estimate of each slice's circuit size:
multiply-accumulates for Gemm/MatMul/Conv, output elements for everything else.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx
import onnx.utils

from oracle.exceptions import CircuitError

# Ops whose circuit cost is a product of their operands' dimensions, not their output size.
_MATMUL_OPS = frozenset({"Gemm", "MatMul"})
_CONV_OPS = frozenset({"Conv", "ConvTranspose"})


@dataclass(frozen=True)
class CutPoint:
    """A position between two nodes where a single tensor crosses."""

    position: int  # nodes[:position] come before the cut
    tensor: str
    shape: tuple[int, ...]
    cost_before: int  # estimated cost of nodes[:position]


@dataclass(frozen=True)
class ModelGraph:
    """What slicing needs to know about a model: its nodes, where it can be cut, what each node costs."""

    path: Path
    proto: onnx.ModelProto
    node_costs: list[int]
    cut_points: list[CutPoint]

    @classmethod
    def load(cls, path: Path, *, onnx_bytes: bytes | None = None) -> ModelGraph:
        """The graph of the model at ``path`` or, given ``onnx_bytes``, of its prepared form."""
        try:
            model = onnx.load(str(path)) if onnx_bytes is None else onnx.load_from_string(onnx_bytes)
            proto = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        except (OSError, onnx.onnx_cpp2py_export.shape_inference.InferenceError) as exc:  # type: ignore[attr-defined]
            raise CircuitError(f"cannot read model {path} for slicing: {exc}") from exc
        shapes = _tensor_shapes(proto)
        costs = [_node_cost(node, shapes) for node in proto.graph.node]
        return cls(path=path, proto=proto, node_costs=costs, cut_points=_cut_points(proto, shapes, costs))

    @property
    def total_cost(self) -> int:
        return sum(self.node_costs)

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
        """``slices - 1`` cut points splitting the estimated cost as evenly as the graph allows."""
        if slices < 2:
            raise CircuitError(f"model {self.path.name}: slicing needs at least 2 slices, not {slices}")
        if len(self.cut_points) < slices - 1:
            raise CircuitError(
                f"model {self.path.name}: {slices} slices need {slices - 1} cut points, "
                f"the graph has {len(self.cut_points)} ({', '.join(p.tensor for p in self.cut_points) or 'none'})"
            )
        return _min_max_partition(self.cut_points, self.total_cost, slices)

    def slice_costs(self, cuts: Sequence[CutPoint]) -> list[int]:
        bounds = [0, *(point.position for point in cuts), len(self.node_costs)]
        return [sum(self.node_costs[a:b]) for a, b in itertools.pairwise(bounds)]

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


def _min_max_partition(points: Sequence[CutPoint], total: int, slices: int) -> list[CutPoint]:
    """The cuts minimising the costliest slice (then the spread), by dynamic programming over cut points."""
    bounds = [0, *(p.cost_before for p in points), total]
    last = len(bounds) - 1
    # best[k][j]: (max cost, sum of squares, chosen bound indices) for k slices ending at bound j.
    best: list[dict[int, tuple[int, int, tuple[int, ...]]]] = [{0: (0, 0, ())}]
    for k in range(1, slices + 1):
        layer: dict[int, tuple[int, int, tuple[int, ...]]] = {}
        ends = [last] if k == slices else range(1, last)
        for j in ends:
            options = [
                (max(worst, bounds[j] - bounds[i]), squares + (bounds[j] - bounds[i]) ** 2, (*chosen, j))
                for i, (worst, squares, chosen) in best[k - 1].items()
                if i < j
            ]
            if options:
                layer[j] = min(options)
        best.append(layer)
    _, _, chosen = best[slices][last]
    return [points[j - 1] for j in chosen[:-1]]


def _tensor_shapes(proto: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    graph = proto.graph
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        # A symbolic (batch) dimension is 1, as in EZKL's circuits.
        shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in dims)
    for init in graph.initializer:
        shapes[init.name] = tuple(init.dims)
    return shapes


def _numel(shape: Sequence[int]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count


def _node_cost(node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]]) -> int:
    out = _numel(shapes.get(node.output[0], (1,))) if node.output else 1
    if node.op_type in _MATMUL_OPS and len(node.input) >= 2:
        a = shapes.get(node.input[0], ())
        transposed = node.op_type == "Gemm" and any(a.name == "transA" and a.i for a in node.attribute)
        inner = (a[0] if transposed else a[-1]) if a else 1
        return out * inner
    if node.op_type in _CONV_OPS and len(node.input) >= 2:
        kernel = shapes.get(node.input[1], ())
        return out * _numel(kernel[1:]) if kernel else out
    return max(out, 1)


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
