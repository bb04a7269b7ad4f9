"""Chart geometry for the dashboard's inline SVG: no chart library, no CDN, nothing to download."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

WIDTH = 560
HEIGHT = 190
LEFT, RIGHT, TOP, BOTTOM = 78, 14, 12, 26  # margins around the plot area, in SVG units


@dataclass(frozen=True)
class Sample:
    at: datetime
    value: float
    round_id: int


@dataclass(frozen=True)
class Marker:
    cx: float
    cy: float
    round_id: int
    value: float
    label: str


@dataclass(frozen=True)
class Tick:
    at: float  # SVG coordinate along its axis
    label: str


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    markers: list[Marker]
    line: str  # the polyline's "points" attribute
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def _span(low: float, high: float) -> tuple[float, float]:
    """A value range with a margin, never empty (one point, or all equal, still gets a height)."""
    if high == low:
        pad = abs(low) * 0.01 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


def chart(name: str, title: str, samples: Sequence[Sample], *, fmt: Callable[[float], str]) -> Chart:
    """A time series as markers joined by a line, with labelled y extremes and first/last times."""
    ordered = sorted(samples, key=lambda s: (s.at.timestamp(), s.round_id))
    if not ordered:
        return Chart(name=name, title=title, markers=[], line="", y_ticks=[], x_ticks=[])
    times = [s.at.timestamp() for s in ordered]
    x_low, x_high = _span(min(times), max(times))
    y_low, y_high = _span(min(s.value for s in ordered), max(s.value for s in ordered))
    left, right, top, bottom = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM

    def x_of(t: float) -> float:
        return round(left + (t - x_low) / (x_high - x_low) * (right - left), 2)

    def y_of(v: float) -> float:
        return round(bottom - (v - y_low) / (y_high - y_low) * (bottom - top), 2)

    markers = [
        Marker(
            cx=x_of(t),
            cy=y_of(s.value),
            round_id=s.round_id,
            value=s.value,
            label=f"round {s.round_id}: {fmt(s.value)} at {s.at:%Y-%m-%d %H:%M:%S}",
        )
        for s, t in zip(ordered, times, strict=True)
    ]
    y_values = sorted({min(s.value for s in ordered), max(s.value for s in ordered)})
    return Chart(
        name=name,
        title=title,
        markers=markers,
        line=" ".join(f"{m.cx},{m.cy}" for m in markers),
        y_ticks=[Tick(at=y_of(v), label=fmt(v)) for v in y_values],
        x_ticks=[
            Tick(at=x_of(t), label=f"{datetime.fromtimestamp(t, UTC):%H:%M:%S}") for t in sorted({times[0], times[-1]})
        ],
    )
