"""Model intake: the ONNX file an operator brings -> the prepared model a circuit is built from.

Models arrive exported by someone else, often long ago: opsets onnxruntime no longer
runs (``PRelu``-6, ``Gemm``-6) and symbolic batch dimensions. Intake upgrades the opset, fixes every input dimension, checks the graph and
loads it in onnxruntime. It is deterministic, so the prepared bytes (and with them a
circuit's content key) depend only on the original file and the samples' size; a
model that needs none of it passes through byte for byte. The original file is never
touched: the prepared model is what the circuit is built from and commits to, and
:class:`ModelIntake` records how it was derived.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from math import prod
from pathlib import Path

import onnx
import onnx.checker
import onnx.shape_inference
import onnx.version_converter
from google.protobuf.message import DecodeError
from onnx import numpy_helper

from oracle.circuits.time_limbs import OBSERVED_AT_LIMBS
from oracle.exceptions import ModelIntakeError
from oracle.inference import OnnxModel, quiet_session

# Older default-domain opsets are upgraded to this one: onnxruntime has kernels for all of
# its operators and EZKL 23 (tract) reads it; newer opsets are kept as they are.
TARGET_OPSET = 13
# PRelu's slope broadcasts numpy-style (from the last axis) from this opset on; before, per channel.
PRELU_BROADCASTS_FROM = 7
_DEFAULT_DOMAINS = ("", "ai.onnx")
# The input that carries the observation time's limbs (see feeds/demo/build_model.py).
OBSERVED_AT_INPUT = "observed_at"
# Ethereum nodes do not relay a transaction over 128 KiB (geth's txpool, txMaxSize), and a
# circuit's public values travel in submit's calldata, one 32-byte word each; the rest of the
# budget is kept for the proof (about 5 KiB at the logrows seen here) and the ABI's framing.
MAX_TRANSACTION_BYTES = 128 * 1024
PROOF_ALLOWANCE_BYTES = 16 * 1024
MAX_PUBLIC_VALUES = (MAX_TRANSACTION_BYTES - PROOF_ALLOWANCE_BYTES) // 32
_REEXPORT = (
    f"re-export the model at opset {TARGET_OPSET} or later (torch.onnx.export(..., opset_version={TARGET_OPSET}))"
)


@dataclass(frozen=True)
class ModelIntake:
    """How a build folder's model.onnx was derived from the operator's file (kept in the manifest)."""

    original_sha256: str
    original_opset: int
    opset: int
    changes: list[str]


@dataclass(frozen=True)
class PreparedModel:
    onnx_bytes: bytes
    intake: ModelIntake | None  # None: the original file, byte for byte
    name: str

    def inference(self) -> OnnxModel:
        return OnnxModel(self.onnx_bytes, name=self.name)

    def public_values(self) -> int:
        """How many values the model's inputs and outputs hold: each is a public instance of a feed's circuit."""
        graph = onnx.load_from_string(self.onnx_bytes).graph
        weights = {init.name for init in graph.initializer}
        tensors = [value for value in graph.input if value.name not in weights] + list(graph.output)
        return sum(prod(d.dim_value for d in value.type.tensor_type.shape.dim) for value in tensors)


def check_public_values(prepared: PreparedModel, *, feed: str | None) -> None:
    """Refuse a model whose public values could never be posted in one transaction.

    Checked before EZKL sees the model: a circuit with hundreds of thousands of instances
    would calibrate and set up for hours, and its proof could not be submitted anyway.
    """
    count = prepared.public_values()
    if count > MAX_PUBLIC_VALUES:
        raise ModelIntakeError(
            feed,
            prepared.name,
            f"its inputs and outputs hold {count:,} values, each a public instance posted in submit's calldata "
            f"({count * 32 // 1024:,} KiB), over the {MAX_PUBLIC_VALUES:,} that fit in a {MAX_TRANSACTION_BYTES // 1024} "
            "KiB transaction (the most Ethereum nodes relay)",
            "reduce what the model reads and returns (pool or crop the input before the model, return only the "
            "values the feed answers with)",
        )


def prepare_model(
    path: Path, *, feed: str | None = None, input_size: int | None = None, observation_time: bool = False
) -> PreparedModel:
    """The prepared form of the ONNX file at ``path``.

    ``input_size`` is how many values a sample holds (all model inputs, flattened), when
    known: a single unknown dimension is solved from it, every other unknown one is 1.
    With ``observation_time``, a model without an ``observed_at`` input gets one (see
    :func:`_add_observed_at`), and ``input_size`` counts its limbs.
    """
    try:
        original = path.read_bytes()
    except OSError as exc:
        raise ModelIntakeError(
            feed, path.name, f"cannot read model file {path} ({exc.strerror})", "check the model path"
        ) from exc
    return prepare_bytes(original, name=path.name, feed=feed, input_size=input_size, observation_time=observation_time)


def prepare_bytes(
    original: bytes,
    *,
    name: str,
    feed: str | None = None,
    input_size: int | None = None,
    observation_time: bool = False,
) -> PreparedModel:
    """:func:`prepare_model` for bytes already read; ``name`` is the file's name, for messages."""
    try:
        model = onnx.load_from_string(original)
    except DecodeError as exc:
        raise ModelIntakeError(
            feed, name, f"is not an ONNX model ({exc})", "export it with torch.onnx.export or tf2onnx"
        ) from exc
    opset = default_opset(model)
    changes: list[str] = []
    if 0 < opset < TARGET_OPSET:  # 0: custom domains only, nothing to upgrade
        try:
            model = onnx.version_converter.convert_version(model, TARGET_OPSET)
        # The converter's adapters raise bare RuntimeErrors (and onnx's own ConvertError).
        except Exception as exc:
            raise ModelIntakeError(
                feed, name, f"cannot be upgraded from opset {opset} to {TARGET_OPSET} ({exc})", _REEXPORT
            ) from exc
        changes.append(f"opset {opset} -> {TARGET_OPSET}")
        # The converter leaves the IR version as it was; below 4 every initializer it adds (an
        # attribute that became an input, such as Pad's pads) would have to be a graph input too.
        needed = onnx.helper.find_min_ir_version_for(list(model.opset_import), ignore_unknown=True)
        if model.ir_version < needed:
            changes.append(f"IR version {model.ir_version} -> {needed}")
            model.ir_version = needed
    if observation_time and not any(value.name == OBSERVED_AT_INPUT for value in _model_inputs(model)):
        changes += _fix_input_dims(model, None if input_size is None else input_size - OBSERVED_AT_LIMBS)
        changes.append(_add_observed_at(model))
    else:
        changes += _fix_input_dims(model, input_size)
    if 0 < opset < PRELU_BROADCASTS_FROM:
        changes += _fix_channel_slopes(model)
    _check_graph(model, feed=feed, name=name)
    inferred = _infer_shapes(model, feed=feed, name=name)
    changes += _fix_output_dims(model, inferred)
    prepared = model.SerializeToString(deterministic=True) if changes else original
    _check_onnxruntime(prepared, inferred, feed=feed, name=name)
    intake = (
        ModelIntake(
            original_sha256=hashlib.sha256(original).hexdigest(),
            original_opset=opset,
            opset=default_opset(model),
            changes=changes,
        )
        if changes
        else None
    )
    return PreparedModel(onnx_bytes=prepared, intake=intake, name=name)


def _add_observed_at(model: onnx.ModelProto) -> str:
    """Append the observation time's limbs as a last input the graph does not use.

    EZKL still makes every public input an instance, so the proof carries the time the
    contract orders rounds by, while the model computes exactly what it did before.
    """
    model.graph.input.append(
        onnx.helper.make_tensor_value_info(OBSERVED_AT_INPUT, onnx.TensorProto.FLOAT, [1, OBSERVED_AT_LIMBS])
    )
    return f"input '{OBSERVED_AT_INPUT}' [1, {OBSERVED_AT_LIMBS}] added (the proven observation time)"


@cache
def output_names(path: Path) -> tuple[str, ...]:
    """The graph outputs' names of the ONNX file at ``path`` (a build folder's: never rewritten), in order."""
    return tuple(value.name for value in onnx.load(str(path), load_external_data=False).graph.output)


def default_opset(model: onnx.ModelProto) -> int:
    """The model's ONNX (default domain) opset; 0 when it imports none."""
    return next((entry.version for entry in model.opset_import if entry.domain in _DEFAULT_DOMAINS), 0)


def _model_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    weights = {init.name for init in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in weights]


def _fix_input_dims(model: onnx.ModelProto, input_size: int | None) -> list[str]:
    """Every unknown input dimension made concrete: solved from ``input_size`` when it is the only one, else 1."""
    inputs = _model_inputs(model)
    unknown = [(value, dim) for value in inputs for dim in value.type.tensor_type.shape.dim if dim.dim_value <= 0]
    if not unknown:
        return []
    before = {value.name: _dims_text(value) for value, _ in unknown}
    solved = _solve_single(inputs, unknown, input_size)
    for _, dim in unknown:
        dim.dim_value = solved if len(unknown) == 1 else 1
    return [f"input '{name}' shape {old} -> {_dims_text(_named(inputs, name))}" for name, old in before.items()]


def _solve_single(
    inputs: Sequence[onnx.ValueInfoProto],
    unknown: Sequence[tuple[onnx.ValueInfoProto, onnx.TensorShapeProto.Dimension]],
    input_size: int | None,
) -> int:
    """The one unknown dimension that makes the inputs hold ``input_size`` values (1 when that is not possible)."""
    if input_size is None or len(unknown) != 1:
        return 1
    owner = unknown[0][0]
    known = sum(prod(d.dim_value for d in v.type.tensor_type.shape.dim) for v in inputs if v is not owner)
    per_unit = prod(d.dim_value for d in owner.type.tensor_type.shape.dim if d.dim_value > 0)
    rest = input_size - known
    return rest // per_unit if rest > 0 and rest % per_unit == 0 else 1


def _fix_channel_slopes(model: onnx.ModelProto) -> list[str]:
    """A per-channel PRelu slope of an opset-6 export, reshaped to broadcast over the channel axis.

    Before opset 7 a PRelu slope of shape [C] meant one slope per channel (axis 1); from
    7 on, broadcasting aligns it with the last axis instead. The version converter
    leaves the slope as it was, which no longer fits an input of rank 3 or more
    (onnxruntime and EZKL's reader refuse it); [C, 1, ...] means what the export meant.
    """
    weights = {init.name: init for init in model.graph.initializer}
    inputs = {value.name: value for value in model.graph.input}
    changes = []
    for node in model.graph.node:
        if node.op_type != "PRelu" or node.input[1] not in weights or node.input[0] not in inputs:
            continue
        slope = weights[node.input[1]]
        dims = [d.dim_value for d in inputs[node.input[0]].type.tensor_type.shape.dim]
        if len(slope.dims) != 1 or len(dims) < 3 or slope.dims[0] != dims[1] or slope.dims[0] == 1:
            continue
        shape = [slope.dims[0]] + [1] * (len(dims) - 2)
        slope.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(slope).reshape(shape), slope.name))
        if slope.name in inputs:  # IR 3 lists every initializer among the graph's inputs too
            inputs[slope.name].CopyFrom(onnx.helper.make_tensor_value_info(slope.name, slope.data_type, shape))
        changes.append(f"PRelu slope '{slope.name}' [{slope.dims[0]}] -> {shape} (per channel, as opset 6 meant)")
    return changes


def _named(values: Sequence[onnx.ValueInfoProto], name: str) -> onnx.ValueInfoProto:
    return next(value for value in values if value.name == name)


def _dims_text(value: onnx.ValueInfoProto) -> str:
    dims = [str(d.dim_value) if d.dim_value > 0 else (d.dim_param or "?") for d in value.type.tensor_type.shape.dim]
    return f"[{', '.join(dims)}]"


def _fix_output_dims(model: onnx.ModelProto, inferred: onnx.ModelProto) -> list[str]:
    """Outputs declared with symbolic dimensions take the concrete shape inferred from the fixed inputs."""
    changes = []
    for declared, found in zip(model.graph.output, inferred.graph.output, strict=True):
        dims = declared.type.tensor_type.shape.dim
        concrete = [d.dim_value for d in found.type.tensor_type.shape.dim]
        if any(d.dim_value <= 0 for d in dims) and concrete and all(v > 0 for v in concrete):
            old = _dims_text(declared)
            declared.type.tensor_type.CopyFrom(found.type.tensor_type)
            changes.append(f"output '{declared.name}' shape {old} -> {_dims_text(declared)}")
    return changes


def node_label(index: int, node: onnx.NodeProto) -> str:
    """How messages name a node: its name, or its position when it has none."""
    return f"'{node.name}'" if node.name else f"#{index} (unnamed)"


def _check_graph(model: onnx.ModelProto, *, feed: str | None, name: str) -> None:
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        context = onnx.checker.C.CheckerContext()
        context.ir_version = model.ir_version
        context.opset_imports = {entry.domain: entry.version for entry in model.opset_import}
        for index, node in enumerate(model.graph.node):
            try:
                onnx.checker.check_node(node, context)
            except onnx.checker.ValidationError as node_exc:
                raise ModelIntakeError(
                    feed,
                    name,
                    f"is not a valid {node.op_type} node ({node_exc})",
                    "fix the node in the exporting code and export again",
                    node=node_label(index, node),
                    op_type=node.op_type,
                ) from exc
        raise ModelIntakeError(
            feed, name, f"is not a valid ONNX model ({exc})", "export it again with a current exporter"
        ) from exc


def _infer_shapes(model: onnx.ModelProto, *, feed: str | None, name: str) -> onnx.ModelProto:
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except onnx.shape_inference.InferenceError as exc:
        raise ModelIntakeError(
            feed,
            name,
            f"has tensor shapes that do not fit together ({exc})",
            "export it again with fixed input shapes",
        ) from exc


def _check_onnxruntime(prepared: bytes, inferred: onnx.ModelProto, *, feed: str | None, name: str) -> None:
    """onnxruntime loads the prepared model; when it cannot, the first node it cannot load is named."""
    try:
        quiet_session(prepared)
    # onnxruntime's load errors share no base class beyond Exception.
    except Exception as exc:
        for index, node in enumerate(inferred.graph.node):
            try:
                quiet_session(_single_node_model(inferred, node).SerializeToString())
            except Exception as node_exc:
                raise ModelIntakeError(
                    feed,
                    name,
                    f"onnxruntime cannot run it ({node_exc})",
                    f"replace the {node.op_type} operator with a standard one onnxruntime runs, or {_REEXPORT}",
                    node=node_label(index, node),
                    op_type=node.op_type,
                ) from node_exc
        raise ModelIntakeError(feed, name, f"onnxruntime cannot load it ({exc})", _REEXPORT) from exc


def _single_node_model(model: onnx.ModelProto, node: onnx.NodeProto) -> onnx.ModelProto:
    """``node`` alone, its inputs and outputs typed as shape inference found them, its weights kept."""
    graph = model.graph
    typed = {value.name: value for value in [*graph.input, *graph.value_info, *graph.output]}
    weights = {init.name: init for init in graph.initializer}
    inputs = [typed[n] for n in node.input if n and n not in weights and n in typed]
    outputs = [typed.get(n) or onnx.helper.make_empty_tensor_value_info(n) for n in node.output if n]
    alone = onnx.helper.make_graph([node], "node", inputs, outputs, [weights[n] for n in node.input if n in weights])
    # IR 4 lets the weights stay constants without being listed as inputs.
    return onnx.helper.make_model(alone, opset_imports=model.opset_import, ir_version=max(model.ir_version, 4))
