"""Recognising EZKL's failures, which do not all derive from Exception."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import onnx


def is_ezkl_failure(exc: BaseException) -> bool:
    """EZKL raises RuntimeError, or pyo3's PanicException (a BaseException) when its Rust core panics."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"



@dataclass(frozen=True)
class Refusal:
    """What EZKL refused in a model, where, and what to change."""

    index: int
    node: onnx.NodeProto
    problem: str
    fix: str


def _dilated(node: onnx.NodeProto) -> bool:
    dilations = next((list(attribute.ints) for attribute in node.attribute if attribute.name == "dilations"), [])
    return any(dilation != 1 for dilation in dilations)


# EZKL says what it refuses but not where (e.g. "misformed params: non unit dilations not
# supported"): each entry is a phrase of its message, the nodes it can mean, and the fix.
# EZKL proves some dilated layers (a strided dilated Conv3d builds), so only its own
# refusal says which node is at fault; this points the operator at the first candidate.
_REFUSALS: tuple[tuple[str, Callable[[onnx.NodeProto], bool], str, str], ...] = (
    (
        "dilations",
        _dilated,
        "EZKL cannot prove this layer's dilations",
        "export the layer with dilation 1: a dilated kernel is an ordinary kernel with zeros between its taps",
    ),
    (
        "pad mode",
        lambda node: node.op_type == "Pad",
        "EZKL cannot prove this Pad's mode or fill value",
        "pad with zeros (mode 'constant', value 0), or pad the input before it reaches the model",
    ),
)


# EZKL's ONNX reader (tract) names the node it cannot translate, by name or first output.
_UNTRANSLATED = re.compile(r'Translating node #\d+ "(?P<name>[^"]*)" (?P<op>[A-Za-z0-9_]+)')


def refusal_in(model: onnx.ModelProto, message: str) -> Refusal | None:
    """The node an EZKL build failure ``message`` is about, when the message names it or says what kind of node."""
    if untranslated := _UNTRANSLATED.search(message):
        name = untranslated["name"]
        for index, node in enumerate(model.graph.node):
            if name in (node.name, *node.output):
                return Refusal(
                    index=index,
                    node=node,
                    problem=f"EZKL's ONNX reader cannot translate this {node.op_type} as exported",
                    fix="check its attributes and parameter shapes against the ONNX operator spec and re-export it "
                    "(or compute it before the model)",
                )
    for phrase, matches, problem, fix in _REFUSALS:
        if phrase in message:
            for index, node in enumerate(model.graph.node):
                if matches(node):
                    return Refusal(index=index, node=node, problem=problem, fix=fix)
    return None
