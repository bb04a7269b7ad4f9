"""The dashboard's chart geometry: every round is a marker inside the plot area, placed by time and value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oracle.api.charts import Sample, chart

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_markers_follow_time_and_value_inside_the_plot_area() -> None:
    samples = [Sample(START + timedelta(seconds=10 * i), value, round_id=i) for i, value in enumerate([3.0, 1.0, 2.0])]
    drawn = chart("value", "value", list(reversed(samples)), fmt=str)
    assert [m.round_id for m in drawn.markers] == [0, 1, 2]  # time order, whatever the input order
    xs = [m.cx for m in drawn.markers]
    assert xs == sorted(xs) and len(set(xs)) == 3
    by_value = sorted(drawn.markers, key=lambda m: m.value)
    assert by_value[0].cy > by_value[1].cy > by_value[2].cy  # SVG y grows downwards
    for marker in drawn.markers:
        assert drawn.left <= marker.cx <= drawn.right and drawn.top <= marker.cy <= drawn.bottom
    assert [tick.label for tick in drawn.y_ticks] == ["1.0", "3.0"]
    assert [tick.label for tick in drawn.x_ticks] == ["12:00:00", "12:00:20"]
    assert drawn.line == " ".join(f"{m.cx},{m.cy}" for m in drawn.markers)


def test_one_round_is_drawn_mid_plot_and_no_round_draws_nothing() -> None:
    single = chart("gas", "gas", [Sample(START, 700_000.0, round_id=7)], fmt=str)
    (marker,) = single.markers
    assert marker.cx == (single.left + single.right) / 2 and marker.cy == (single.top + single.bottom) / 2
    empty = chart("gas", "gas", [], fmt=str)
    assert empty.markers == [] and empty.line == ""
