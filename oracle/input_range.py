"""Refusing inputs outside the range the circuit was calibrated on.

EZKL picks the circuit's fixed-point scales and range checks from the calibration
samples, and the quantisation error bound every proof is checked against is measured
on inputs between those samples. An input far outside them may fail witness
generation after the expensive setup, or prove a value the bound does not cover; the
round is refused before inference instead, with a reason that says what to add.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oracle.exceptions import SourceError
from oracle.feedspec import FeedSpec


@dataclass(frozen=True)
class CalibratedRange:
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    margin: float

    @classmethod
    def from_samples(cls, samples: Sequence[Sequence[float]], *, margin: float) -> CalibratedRange:
        """Per input: the samples' min and max, widened by ``margin`` × their span on each side."""
        columns = list(zip(*samples, strict=True))
        spans = [max(column) - min(column) for column in columns]
        return cls(
            lows=tuple(min(column) - margin * span for column, span in zip(columns, spans, strict=True)),
            highs=tuple(max(column) + margin * span for column, span in zip(columns, spans, strict=True)),
            margin=margin,
        )

    def check(self, values: Sequence[float], *, feed: str) -> None:
        for index, (value, low, high) in enumerate(zip(values, self.lows, self.highs, strict=True)):
            if not low <= value <= high:
                raise SourceError(
                    f"feed '{feed}': input {index} is {value:.6g}, outside the range the circuit was calibrated on "
                    f"[{low:.6g}, {high:.6g}] (samples ± {self.margin:g} × their span); "
                    "add samples covering it and rebuild the circuit"
                )


def check_calibrated_range(spec: FeedSpec, values: Sequence[float]) -> None:
    """Raise SourceError when a source value (after transforms) lies outside the feed's calibrated range."""
    CalibratedRange.from_samples(spec.load_samples(), margin=spec.input.range_margin).check(values, feed=spec.id)
