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
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING

from oracle.exceptions import FeedSpecError

if TYPE_CHECKING:
    from oracle.feeds.schema import FeedSpec

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


def answer_position(
    output: OutputRef, names: Sequence[str], shapes: Sequence[Sequence[int]], *, feed: str, field: str = "output"
) -> int:
    """The flat position among all the model's output values that ``output`` names.

    Raises FeedSpecError (naming ``field``) listing the model's output tensors when it names none of them.
    """
    sizes = [prod(shape) for shape in shapes]
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    available = ", ".join(f"{name} {list(shape)}" for name, shape in zip(names, shapes, strict=True))

    def refuse(problem: str, fix: str) -> FeedSpecError:
        return FeedSpecError(feed, field, f"{problem} (the model's outputs: {available})", fix)

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


@dataclass(frozen=True)
class Answer:
    """One of a feed's ``[[answers]]``, its defaults filled in from the feed and its place in the model's outputs."""

    id: str
    position: int  # flat position among the model's output values
    offset: int  # instances past the feed's output instance (the lowest answer's): ZkOracle's outputOffset
    decimals: int
    description: str
    heartbeat_seconds: int
    deviation_percent: float | None
    min_answer: float | None
    max_answer: float | None


def resolve_answers(spec: FeedSpec, names: Sequence[str], shapes: Sequence[Sequence[int]]) -> tuple[Answer, ...]:
    """``spec``'s answers in feed.toml's order (none for a feed of one answer); FeedSpecError names a bad output."""
    positions = [
        answer_position(answer.output, names, shapes, feed=spec.id, field=f"answers.{i}.output")
        for i, answer in enumerate(spec.answers)
    ]
    lowest = min(positions, default=0)
    return tuple(
        Answer(
            id=answer.id,
            position=position,
            offset=position - lowest,
            decimals=spec.decimals if answer.decimals is None else answer.decimals,
            description=answer.description or f"{spec.description} ({answer.id})"[:200],
            heartbeat_seconds=(
                spec.onchain.heartbeat_seconds if answer.heartbeat_seconds is None else answer.heartbeat_seconds
            ),
            deviation_percent=(
                spec.trigger.deviation_percent if answer.deviation_percent is None else answer.deviation_percent
            ),
            min_answer=answer.min_answer,
            max_answer=answer.max_answer,
        )
        for answer, position in zip(spec.answers, positions, strict=True)
    )


def _fix(names: Sequence[str], shapes: Sequence[Sequence[int]]) -> str:
    name, size = names[0], prod(shapes[0])
    return f'use output = "{name}[i]" with i below {size} (row-major), or another tensor listed'
