"""Rewriting a wide Gemm/MatMul/Conv into pieces, each of which can end a slice behind one tensor.

A slice boundary is one tensor (one KZG commitment, one 64-byte link on-chain). So the
pieces of ``Y = Op(X, W, b)``, split by output features (Gemm, MatMul) or channels
(Conv), are chained through a carried tensor holding what later pieces still need:

    P1 = Concat(X, Y1)                        Y1 = Op(X, W1, b1)
    P2 = Concat(P1, Y2)                       Y2 = Op(P1[:, :|X|], W2, b2)
    ...
    Y  = Concat(P[k-1][Y1..Y(k-1) parts], Yk) Yk = Op(P[k-1][:, :|X|], Wk, bk)

(flattened to ``[1, n]`` where ``X`` or the pieces are not already so). Each ``Pi`` is the
only tensor crossing between pieces, so a cut may fall there; the last piece joins
them into ``Y`` under its old name and the rest of the graph is untouched. Pieces may
differ in size: the planner sizes them so each ends where a slice is full. Every output
feature is computed by the same dot product as before: the rewritten model computes
the same function, which :func:`split_wide_nodes` checks with onnxruntime.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from oracle.circuits.slicing.rows import node_rows, numel
from oracle.exceptions import CircuitError
from oracle.inference import OnnxModel

# Piece nodes are named "<node>#<i>/<k>"; the Slice/Concat/Reshape plumbing around them "<node>#<i>/<k>.<role>".
PIECE_MARK = "#"
# float32 dot products summed in another order by onnxruntime's kernels differ in the last bits.
_RTOL, _ATOL = 1e-4, 1e-5


@dataclass(frozen=True)
class SplitNode:
    """A node the rewrite split, for reports."""

    name: str
    op_type: str
    pieces: int
    rows: int


def piece_label(node: onnx.NodeProto) -> str | None:
    """``"Gemm 2/5"`` for a piece, ``""`` for the plumbing between pieces, None for an ordinary node."""
    if PIECE_MARK not in node.name:
        return None
    _, _, piece = node.name.rpartition(PIECE_MARK)
    return "" if "." in piece else f"{node.op_type} {piece}"


def split_wide_nodes(
    proto: onnx.ModelProto,
    shapes: dict[str, tuple[int, ...]],
    piece_rows: int,
    *,
    model_name: str,
    samples: Sequence[Sequence[float]] = (),
) -> tuple[onnx.ModelProto, list[SplitNode]]:
    """``proto`` with every splittable node over ``piece_rows`` estimated rows split into equal pieces under it.

    Nodes that cannot be split are left as they are: the planner reports them. With
    ``samples``, the rewritten model must compute what ``proto`` does on each of them.
    """
    weights = {init.name: init for init in proto.graph.initializer}
    sizes: dict[str, list[int]] = {}
    for node in proto.graph.node:
        rows = node_rows(node, shapes)
        axis = split_axis(node, shapes, weights)
        if rows <= piece_rows or axis is None:
            continue
        features = shapes[node.output[0]][axis]
        count = min(features, math.ceil(rows / piece_rows))
        if count >= 2:
            sizes[node_key(node)] = [features // count + (1 if i < features % count else 0) for i in range(count)]
    return split_nodes(proto, shapes, sizes, model_name=model_name, samples=samples)


def node_key(node: onnx.NodeProto) -> str:
    return node.name or node.output[0]


def split_nodes(
    proto: onnx.ModelProto,
    shapes: dict[str, tuple[int, ...]],
    sizes: dict[str, list[int]],
    *,
    model_name: str,
    samples: Sequence[Sequence[float]] = (),
) -> tuple[onnx.ModelProto, list[SplitNode]]:
    """``proto`` with each node named in ``sizes`` split into pieces of those many output features (or channels).

    With ``samples``, the rewritten model must compute what ``proto`` does on each of them.
    """
    graph = proto.graph
    weights = {init.name: init for init in graph.initializer}
    nodes: list[onnx.NodeProto] = []
    added: list[onnx.TensorProto] = []
    replaced: set[str] = set()
    split: list[SplitNode] = []
    for node in graph.node:
        base = node_key(node)
        axis = split_axis(node, shapes, weights)
        pieces = sizes.get(base, [])
        if len(pieces) < 2 or axis is None:
            nodes.append(node)
            continue
        rewritten, initializers = _pieces(node, base, pieces, axis, shapes, weights)
        nodes += rewritten
        added += initializers
        replaced.update(name for name in node.input[1:] if name)
        split.append(SplitNode(name=base, op_type=node.op_type, pieces=len(pieces), rows=node_rows(node, shapes)))
    if not split:
        return proto, []
    used = {name for node in nodes for name in node.input}
    kept = [init for init in graph.initializer if init.name not in replaced or init.name in used]
    new_graph = helper.make_graph(
        nodes, graph.name, list(graph.input), list(graph.output), kept + added, value_info=list(graph.value_info)
    )
    model = helper.make_model(new_graph, opset_imports=list(proto.opset_import), ir_version=proto.ir_version)
    onnx.checker.check_model(model)
    if samples:
        _check_same_function(proto, model, samples, model_name=model_name)
    return model, split


def split_axis(
    node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]], weights: dict[str, onnx.TensorProto]
) -> int | None:
    """The output axis ``node`` can be split along (its features or channels), or None if it cannot be."""
    attrs = {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}
    out = shapes.get(node.output[0]) if node.output else None
    if not out or len(node.input) < 2 or node.input[1] not in weights:
        return None
    if len(node.input) > 2 and node.input[2] and node.input[2] not in weights:
        return None
    if node.op_type == "Gemm" and not attrs.get("transA", 0) and len(out) == 2:
        return 1
    if node.op_type == "MatMul" and len(weights[node.input[1]].dims) == 2:
        return len(out) - 1
    if node.op_type == "Conv" and attrs.get("group", 1) == 1 and len(out) >= 3:
        return 1
    return None


def _pieces(
    node: onnx.NodeProto,
    base: str,
    sizes: Sequence[int],
    axis: int,
    shapes: dict[str, tuple[int, ...]],
    weights: dict[str, onnx.TensorProto],
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    x, y = node.input[0], node.output[0]
    x_shape, y_shape = shapes[x], shapes[y]
    features = y_shape[axis]
    if sum(sizes) != features or min(sizes) < 1:
        raise CircuitError(f"node {base}: pieces of {list(sizes)} features do not make its {features}")
    count = len(sizes)
    weight = numpy_helper.to_array(weights[node.input[1]])
    bias = numpy_helper.to_array(weights[node.input[2]]) if len(node.input) > 2 and node.input[2] else None
    attrs = {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}
    # The weight's axis holding the output features: Gemm's B is [N, K] when transposed, MatMul's [K, N], Conv's [M, ...].
    weight_axis = 1 if node.op_type == "MatMul" or (node.op_type == "Gemm" and not attrs.get("transB", 0)) else 0
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def const(name: str, values: Sequence[int]) -> str:
        inits.append(numpy_helper.from_array(np.array(values, dtype=np.int64), name))
        return name

    def flat(tensor: str, shape: tuple[int, ...], name: str) -> str:
        if len(shape) == 2 and shape[0] == 1:
            return tensor
        nodes.append(
            helper.make_node("Reshape", [tensor, const(f"{name}.shape", [1, numel(shape)])], [name], name=name)
        )
        return name

    def take(carried: str, start: int, stop: int, shape: tuple[int, ...], name: str) -> str:
        """``carried[:, start:stop]`` in ``shape``."""
        sliced = f"{name}.flat" if not (len(shape) == 2 and shape[0] == 1) else name
        nodes.append(
            helper.make_node(
                "Slice",
                [carried, const(f"{name}.starts", [start]), const(f"{name}.ends", [stop]), const(f"{name}.axes", [1])],
                [sliced],
                name=sliced,
            )
        )
        if sliced != name:
            nodes.append(helper.make_node("Reshape", [sliced, const(f"{name}.shape", list(shape))], [name], name=name))
        return name

    x_width = numel(x_shape)
    carried = ""
    offsets: list[tuple[int, int, tuple[int, ...]]] = []  # where each earlier piece's output sits in the carried tensor
    feature = 0
    for number, size in enumerate(sizes, start=1):
        piece = f"{base}{PIECE_MARK}{number}/{count}"
        weight_part = np.take(weight, range(feature, feature + size), axis=weight_axis)
        inputs = [
            x if number == 1 else take(carried, 0, x_width, x_shape, f"{piece}.x"),
            f"{node.input[1]}{PIECE_MARK}{number}",
        ]
        inits.append(numpy_helper.from_array(np.ascontiguousarray(weight_part), inputs[1]))
        if bias is not None:
            # A bias over the features (Conv's always is) is split with them; a broadcast one is shared.
            per_feature = node.op_type == "Conv" or (bias.ndim > 0 and bias.shape[-1] == features > 1)
            part = np.take(bias, range(feature, feature + size), axis=-1) if per_feature else bias
            inputs.append(f"{node.input[2]}{PIECE_MARK}{number}")
            inits.append(numpy_helper.from_array(np.ascontiguousarray(part), inputs[2]))
        piece_shape = tuple(size if i == axis else d for i, d in enumerate(y_shape))
        output = f"{y}{PIECE_MARK}{number}"
        if number < count:
            nodes.append(helper.make_node(node.op_type, inputs, [output], name=piece, **attrs))
            before = flat(x, x_shape, f"{piece}.carry0") if number == 1 else carried
            start = x_width + sum(numel(shape) for _, _, shape in offsets)
            offsets.append((start, start + numel(piece_shape), piece_shape))
            carried = f"{base}{PIECE_MARK}{number}/{count}.carry"
            nodes.append(
                helper.make_node(
                    "Concat",
                    [before, flat(output, piece_shape, f"{piece}.out")],
                    [carried],
                    name=carried,
                    axis=1,
                )
            )
        else:
            nodes.append(helper.make_node(node.op_type, inputs, [output], name=piece, **attrs))
            if numel(y_shape[:axis]) == 1:
                # Flattened, the earlier pieces lie in the carried tensor as their concatenation does: one
                # Slice takes them all (a Slice costs rows for the whole tensor it reads, see rows).
                done = tuple(feature if i == axis else d for i, d in enumerate(y_shape))
                parts = [take(carried, x_width, offsets[-1][1], done, f"{piece}.parts")]
            else:
                parts = [take(carried, a, b, shape, f"{piece}.part{i}") for i, (a, b, shape) in enumerate(offsets, 1)]
            nodes.append(helper.make_node("Concat", [*parts, output], [y], name=f"{piece}.join", axis=axis))
        feature += size
    return nodes, inits


def _check_same_function(
    original: onnx.ModelProto, rewritten: onnx.ModelProto, samples: Sequence[Sequence[float]], *, model_name: str
) -> None:
    before = OnnxModel(original.SerializeToString(), name=model_name)
    after = OnnxModel(rewritten.SerializeToString(), name=model_name)
    for number, sample in enumerate(samples):
        expected, got = before.run(sample), after.run(sample)
        if not np.allclose(got, expected, rtol=_RTOL, atol=_ATOL):
            raise CircuitError(
                f"model {model_name}: splitting its wide nodes changed its output on sample {number} "
                f"({got} instead of {expected}): report this model"
            )
