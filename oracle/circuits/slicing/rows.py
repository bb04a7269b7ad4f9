"""How many circuit rows EZKL spends on an ONNX node, and the logrows a slice of them needs.

Measured with EZKL 23.0.5 (``gen_settings`` + ``calibrate_settings``, target resources, input
and param scale 13, scale_rebase_multiplier 1, default ``num_inner_cols`` 2, the settings'
``num_rows``), on one-node and MLP models with polycommit inputs and outputs, batch 1:

    Gemm k -> n (with bias)    k*n/2 + 23.5*n    exact for 8-8 ... 256-64 and 64-512; 2 and 3
                                                 stacked 64-64 layers add one layer's figure each
    MatMul                     MACs/2 + 23.5 per output (the same einsum and rescale as Gemm)
    Conv                       MACs/2 + 25 per output (24.2-26.8 measured: 2->6, 4->16 3x3, 8->8 5x5)
    Relu                       8 per element     (decomposed comparison, 64..768 elements)
    Mul, Div                   23.5 per element  (the product is rescaled, like a Gemm output), but
                               0.5 by a scalar 2**-k (Div: 2**k), a shift of the scale, and 0 by 1
    Add, Sub                   0.5 per element   (one cell, two columns a row)
    Sigmoid, Tanh              0.5 per element   plus a lookup table (sized by the lookup range)
    Slice                      0.5 per element of the tensor sliced (0 for all of it): 256 of 512
                               costs 256, three 256-wide slices of 768 cost 1,152
    Concat                     0                 (the parts' cells are reused)
    input boundary             5 per value       (range-checked; public, private or polycommit alike)
    linked input boundary      0.5 per value     (the previous slice's committed output: not range-checked
                                                 again, EZKL's ignore_range_check_inputs_outputs;
                                                 4.5 less per value on 64-512, 256-64, 512-64, 1024-128)
    polycommit output          0                 (the cells already hold it)
    public output              10.5 per value

The MACs alone are the biggest term but not the only one: a 64 -> 512 Gemm + Relu is
32,832 rows, not 16,384. Every circuit also holds the range-check table of
``decomp_base`` 16,384 rows, so nothing is built below logrows 15, and the row count is
rounded up to a power of two past a few reserved (blinding) rows.

Checked on the bench MLP 64 -> 512 -> 512 -> 256 -> 1 (normalising Sub/Mul, public input
and output): whole, 253,883 rows measured (logrows 18), 253,884 estimated. Cut under
max_logrows 16 into 4 slices (the 512 -> 512 layer in 3 pieces, 512 -> 256 in 2, each split
where a slice fills up; linked boundaries not range-checked again), each slice calibrated
as the build does (scale 13, polycommit boundaries): estimated / measured 64,200 / 64,200,
64,071 / 64,070, 64,070 / 64,068, 64,272 / 64,259, all logrows 16. The too-big bench MLP
64 -> 1024 x 5 -> 1 under 18, 9 slices: 256,597 / 256,597, 256,280 / 256,279, 256,239 /
256,237, 256,726 / 256,724, ..., 255,340 / 255,328, every slice within 12 rows, all logrows 18.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import onnx

from oracle.circuits.slicing_plan import RANGE_CHECK_LOGROWS

INNER_COLS = 2  # EZKL's default num_inner_cols: a row holds two multiply-accumulates
PER_RESCALED_OUTPUT = 23.5  # a product's rescale back to the fixed scale (Gemm/MatMul/Mul outputs)
PER_CONV_OUTPUT = 25.0
PER_COPY = 1 / INNER_COLS  # one assigned cell, two to a row
PER_INPUT_VALUE = 5.0  # a committed (or public) input's range check
PER_LINKED_INPUT_VALUE = PER_COPY  # a linked boundary's value, its range check skipped
PER_PUBLIC_OUTPUT_VALUE = 10.5
RESERVED_ROWS = 16  # blinding and unusable rows on top of num_rows (EZKL rounds num_rows + these up)
# The estimate is exact on the ops measured exactly (_EXACT); the others (Conv: ±2%, some not
# measured at all) may drift, so their rows are counted with this much to spare.
MARGIN = 0.03

_PER_ELEMENT = {
    "Relu": 8.0,
    "Mul": PER_RESCALED_OUTPUT,
    "Div": PER_RESCALED_OUTPUT,
    "Add": PER_COPY,
    "Sub": PER_COPY,
    "Sigmoid": PER_COPY,
    "Tanh": PER_COPY,
    # Not measured: a copy per value moved.
    "Transpose": PER_COPY,
    "Gather": PER_COPY,
}
# Views of cells already assigned.
_FREE = frozenset({"Constant", "Concat", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"})
MATMUL_OPS = frozenset({"Gemm", "MatMul"})
CONV_OPS = frozenset({"Conv", "ConvTranspose"})
# Anything else (other nonlinearities, pooling, normalisation): counted like a Relu, per element.
_OTHER_PER_ELEMENT = 8.0
# Measured to the row (see above); every other op's estimate carries MARGIN.
_EXACT = MATMUL_OPS | _FREE | {"Relu", "Mul", "Div", "Add", "Sub", "Slice"}


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


def macs(node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]]) -> int:
    """Multiply-accumulates of a Gemm/MatMul/Conv node (0 for any other op)."""
    out = numel(shapes.get(node.output[0], (1,))) if node.output else 1
    if node.op_type in MATMUL_OPS and len(node.input) >= 2:
        a = shapes.get(node.input[0], ())
        transposed = node.op_type == "Gemm" and any(attr.name == "transA" and attr.i for attr in node.attribute)
        inner = (a[0] if transposed else a[-1]) if a else 1
        return out * inner
    if node.op_type in CONV_OPS and len(node.input) >= 2:
        kernel = shapes.get(node.input[1], ())
        return out * numel(kernel[1:]) if kernel else out
    return 0


def node_rows(
    node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]], *, scalars: Mapping[str, float] | None = None
) -> int:
    """The rows EZKL spends on ``node`` (see the module's measurements), with MARGIN to spare where the
    op's estimate is not exact; ``scalars``: one-value constants."""
    rows = _estimated_rows(node, shapes, scalars=scalars)
    return rows if node.op_type in _EXACT else math.ceil(rows * (1 + MARGIN))


def _estimated_rows(
    node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]], *, scalars: Mapping[str, float] | None = None
) -> int:
    if node.op_type in _FREE:
        return 0
    out = numel(shapes.get(node.output[0], (1,))) if node.output else 1
    if node.op_type in MATMUL_OPS or node.op_type in CONV_OPS:
        per_output = PER_CONV_OUTPUT if node.op_type in CONV_OPS else PER_RESCALED_OUTPUT
        return math.ceil(macs(node, shapes) / INNER_COLS + per_output * out)
    if node.op_type == "Slice":
        sliced = numel(shapes.get(node.input[0], (1,)))
        return 0 if sliced == out else math.ceil(PER_COPY * sliced)
    if node.op_type in ("Mul", "Div") and scalars:
        factor = next((scalars[name] for name in node.input[1:] if name in scalars), None)
        if factor is not None and factor > 0:
            shift = -math.log2(factor) if node.op_type == "Mul" else math.log2(factor)
            if shift == 0:
                return 0
            if shift > 0 and shift.is_integer():
                return math.ceil(PER_COPY * out)
    return math.ceil(_PER_ELEMENT.get(node.op_type, _OTHER_PER_ELEMENT) * out)


def input_rows(width: int, *, linked: bool = False) -> int:
    """What a slice spends on its input boundary of ``width`` values: the model's inputs are range-checked
    where they enter; a ``linked`` boundary (the previous slice's output) is not checked again."""
    return math.ceil((PER_LINKED_INPUT_VALUE if linked else PER_INPUT_VALUE) * width)


def public_output_rows(width: int) -> int:
    return math.ceil(PER_PUBLIC_OUTPUT_VALUE * width)


def logrows_for(rows: int) -> int:
    """The logrows EZKL calibrates a circuit of ``rows`` estimated rows to."""
    return max(RANGE_CHECK_LOGROWS, math.ceil(math.log2(rows + RESERVED_ROWS)))


def row_budget(logrows: int) -> int:
    """The most estimated rows a circuit at ``logrows`` may hold."""
    return 2**logrows - RESERVED_ROWS
