"""Heartbeat and deviation triggers, as Chainlink nodes decide when to post.

Inference is cheap and proving is not, so every tick infers and only a tick whose
output moved far enough from the last landed round, or whose heartbeat is due, is
proven and posted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from oracle.feeds.answer import Answer
from oracle.feeds.schema import FeedSpec, ScheduleSpec
from oracle.schedules import seconds_to_next_tick
from oracle.store import Round, RoundAnswer


@dataclass(frozen=True)
class Decision:
    post: bool
    reason: str
    kind: str = ""  # what fired (or held) it: "first round", "heartbeat", "deviation", "every tick"


def decide(spec: FeedSpec, observed: Round, last: Round | None, *, now: float) -> Decision:
    """Whether ``observed`` (inference done, not proven) should become a round on-chain."""
    if last is None or last.model_output is None or observed.model_output is None:
        return Decision(True, "first round", "first round")
    if (held := _not_later(observed.observed_at, last)) is not None:
        return held
    return _decide(
        spec.schedule,
        heartbeat=spec.onchain.heartbeat_seconds,
        threshold=spec.trigger.deviation_percent,
        last_value=last.model_output,
        last_time=_time_of(last),
        value=observed.model_output,
        now=now,
    )


def decide_answers(
    spec: FeedSpec,
    answers: Sequence[Answer],
    observed: Mapping[str, float],
    last: Mapping[str, tuple[RoundAnswer, Round]],
    *,
    now: float,
    observed_at: int | None = None,
) -> dict[str, Decision]:
    """For each answer, by id: whether its value in ``observed`` (proven at ``observed_at``) should land, against
    its own last landed round (``last``), its own deviation threshold and heartbeat."""
    decisions = {}
    for answer in answers:
        if answer.id not in last:
            decisions[answer.id] = Decision(True, "first round", "first round")
            continue
        landed, row = last[answer.id]
        if (held := _not_later(observed_at, row)) is not None:
            decisions[answer.id] = held
            continue
        decisions[answer.id] = _decide(
            spec.schedule,
            heartbeat=answer.heartbeat_seconds,
            threshold=answer.deviation_percent,
            last_value=landed.model_output,
            last_time=_time_of(row),
            value=observed[answer.id],
            now=now,
        )
    return decisions


def _decide(
    schedule: ScheduleSpec,
    *,
    heartbeat: int,
    threshold: float | None,
    last_value: float,
    last_time: float,
    value: float,
    now: float,
) -> Decision:
    age = now - last_time
    # Post one tick early: waiting for the next tick would overrun the heartbeat consumers rely on.
    if heartbeat and age + seconds_to_next_tick(schedule, now=now) >= heartbeat:
        return Decision(True, f"heartbeat ({age:.0f}s since the last round, heartbeat {heartbeat}s)", "heartbeat")
    if threshold is None:
        return Decision(True, "every tick", "every tick")
    change = _percent_change(last_value, value)
    if change >= threshold:
        return Decision(True, f"deviation {change:.3f}% ≥ {threshold}%", "deviation")
    due = f", heartbeat due in {heartbeat - age:.0f}s" if heartbeat else ""
    return Decision(False, f"deviation {change:.3f}% < {threshold}%{due}", "deviation")


def _not_later(observed_at: int | None, last: Round) -> Decision | None:
    """Held when a round observed at ``observed_at`` is not later than ``last``: the oracle would refuse it as
    stale, so proving it would be wasted (a tick in the same second as the round it follows)."""
    if observed_at is None or last.observed_at is None or observed_at > last.observed_at:
        return None
    return Decision(
        False,
        f"observed at {observed_at}, not after the last landed round's {last.observed_at}: "
        "the oracle takes only later observations",
        "not later",
    )


def _percent_change(old: float, new: float) -> float:
    if old == 0:
        return 0.0 if new == 0 else float("inf")
    return abs(new - old) / abs(old) * 100


def _time_of(row: Round) -> float:
    """The proven observation time when the feed binds one, else when the round was recorded."""
    if row.observed_at is not None:
        return float(row.observed_at)
    return row.created_at.timestamp()
