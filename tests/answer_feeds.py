"""The multi-asset feed's answers, set up for tests: per-answer deviation bands that make only chosen answers fire."""

from __future__ import annotations

from oracle.feeds.schema import FeedSpec


def with_thresholds(spec: FeedSpec, moving: set[str]) -> FeedSpec:
    """``spec`` whose ``moving`` answers post on any move and whose others only past a 90% move."""
    answers = tuple(
        answer.model_copy(update={"deviation_percent": 0.001 if answer.id in moving else 90.0})
        for answer in spec.answers
    )
    return spec.model_copy(update={"answers": answers})
