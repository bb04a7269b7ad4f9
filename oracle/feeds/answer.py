"""``output`` in feed.toml: which value of the model's output tensors is the feed's answer.

Three spellings: a plain integer (the position among all output values, flattened in
order, as EZKL lays out the public instances), a tensor name (a one-element tensor,
e.g. ``"forecast"``) or a tensor name with a row-major index (``"logits[3]"``, or one
index per dimension, ``"logits[0, 3]"``). Every spelling resolves to that flat
position, which the circuit's :meth:`answer_index` turns into an instance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from math import prod

from oracle.exceptions import FeedSpecError

OutputRef = int | str

_NAMED = re.compile(r"^\s*(?P<name>[^\[\]]+?)\s*(?:\[(?P<index>\s*\d+\s*(?:,\s*\d+\s*)*)\])?\s*$")
SYNTAX_FIX = (
    'name an output tensor and a row-major index (output = "logits[3]"), a one-element tensor '
    '(output = "forecast") or a flat index (output = 0)'
)


def check_syntax(output: OutputRef) -> OutputRef:
    """``output`` itself, or ValueError when it is no spelling of an answer (no model needed)."""
    if isinstance(output, int):
        if output < 0:
            raise ValueError("a flat output index counts from 0")
    elif not _NAMED.match(output):
        raise ValueError(f"{output!r} is not a tensor name with an optional [index]")
    return output


def answer_position(output: OutputRef, names: Sequence[str], shapes: Sequence[Sequence[int]], *, feed: str) -> int:
    """The flat position among all the model's output values that ``output`` names.

    Raises FeedSpecError (field ``output``) listing the model's output tensors when it names none of them.
    """
    sizes = [prod(shape) for shape in shapes]
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    available = ", ".join(f"{name} {list(shape)}" for name, shape in zip(names, shapes, strict=True))

    def refuse(problem: str, fix: str) -> FeedSpecError:
        return FeedSpecError(feed, "output", f"{problem} (the model's outputs: {available})", fix)

    if isinstance(output, int):
        if output >= sum(sizes):
            raise refuse(f"the model has {sum(sizes)} output values, not {output + 1}", _fix(names, shapes))
        return output
    match = _NAMED.match(output)
    if match is None:
        raise refuse(f"{output!r} is not a tensor name with an optional [index]", SYNTAX_FIX)
    name = match["name"]
    if name not in names:
        raise refuse(f"no output tensor is named {name!r}", _fix(names, shapes))
    tensor = list(names).index(name)
    shape = list(shapes[tensor])
    if match["index"] is None:
        if sizes[tensor] != 1:
            raise refuse(f"output {name} holds {sizes[tensor]} values, not one", _fix([name], [shape]))
        return offsets[tensor]
    index = [int(part) for part in match["index"].split(",")]
    if len(index) == 1:
        flat = index[0]
        if flat >= sizes[tensor]:
            raise refuse(f"output {name} holds {sizes[tensor]} values, not {flat + 1}", _fix([name], [shape]))
    else:
        if len(index) != len(shape) or any(i >= dim for i, dim in zip(index, shape, strict=False)):
            raise refuse(f"{output!r} is not an element of output {name} {shape}", _fix([name], [shape]))
        flat = sum(i * prod(shape[axis + 1 :]) for axis, i in enumerate(index))
    return offsets[tensor] + flat


def _fix(names: Sequence[str], shapes: Sequence[Sequence[int]]) -> str:
    name, size = names[0], prod(shapes[0])
    return f'use output = "{name}[i]" with i below {size} (row-major), or another tensor listed'
