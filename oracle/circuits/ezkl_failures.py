"""Recognising EZKL's failures, which do not all derive from Exception."""

from __future__ import annotations

import onnx


def is_ezkl_failure(exc: BaseException) -> bool:
    """EZKL raises RuntimeError, or pyo3's PanicException (a BaseException) when its Rust core panics."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def dilated_node(model: onnx.ModelProto, message: str) -> tuple[int, onnx.NodeProto] | None:
    """The node EZKL means by "non unit dilations not supported" (it names none): the first dilated one.

    EZKL proves some dilated layers (a strided dilated Conv3d builds) and refuses others, so
    only its own refusal says which; this points the operator at the layer to change.
    """
    if "dilation" not in message:
        return None
    for index, node in enumerate(model.graph.node):
        dilations = next((list(attribute.ints) for attribute in node.attribute if attribute.name == "dilations"), [])
        if any(dilation != 1 for dilation in dilations):
            return index, node
    return None
