"""Heartbeat and deviation triggers, as Chainlink nodes decide when to post.

Inference is cheap and proving is not, so every tick infers and only a tick whose
output moved far enough from the last landed round, or whose heartbeat is due, is
proven and posted.
"""

from __future__ import annotations

from dataclasses import dataclass

from oracle.feeds.schema import FeedSpec
from oracle.schedules import seconds_to_next_tick
from oracle.store import Round


@dataclass(frozen=True)
class Decision:
    post: bool
    reason: str


def decide(spec: FeedSpec, observed: Round, last: Round | None, *, now: float) -> Decision:
    """Whether ``observed`` (inference done, not proven) should become a round on-chain."""
    if last is None or last.model_output is None or observed.model_output is None:
        return Decision(True, "first round")
    heartbeat = spec.onchain.heartbeat_seconds
    age = now - _time_of(last)
    # Post one tick early: waiting for the next tick would overrun the heartbeat consumers rely on.
    if heartbeat and age + seconds_to_next_tick(spec.schedule, now=now) >= heartbeat:
        return Decision(True, f"heartbeat ({age:.0f}s since the last round, heartbeat {heartbeat}s)")
    threshold = spec.trigger.deviation_percent
    if threshold is None:
        return Decision(True, "every tick")
    change = _percent_change(last.model_output, observed.model_output)
    if change >= threshold:
        return Decision(True, f"deviation {change:.3f}% ≥ {threshold}%")
    due = f", heartbeat due in {heartbeat - age:.0f}s" if heartbeat else ""
    return Decision(False, f"deviation {change:.3f}% < {threshold}%{due}")


def _percent_change(old: float, new: float) -> float:
    if old == 0:
        return 0.0 if new == 0 else float("inf")
    return abs(new - old) / abs(old) * 100


def _time_of(row: Round) -> float:
    """The proven observation time when the feed binds one, else when the round was recorded."""
    if row.observed_at is not None:
        return float(row.observed_at)
    return row.created_at.timestamp()
