"""[input] transforms (reorder, scale, offset) and the calibrated-range check, as the pipeline applies them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oracle.circuits.artifacts import sample_bounds
from oracle.exceptions import SourceError
from oracle.feeds.inputs import CalibratedRange, InputSpec


def test_identity_by_default_leaves_values_bit_for_bit() -> None:
    values = [0.1, -3.25, 1e-9]
    assert InputSpec().apply(values) == values and InputSpec().is_identity


def test_order_picks_then_scale_and_offset_map_each_value() -> None:
    spec = InputSpec(order=[2, 0, 0], scale=[0.01, 1.0, 2.0], offset=-1.0)
    assert spec.apply([150.0, 99.0, 300.0]) == pytest.approx([2.0, 149.0, 299.0])
    assert InputSpec(scale=0.5, offset=[1.0, 2.0]).apply([4.0, 6.0]) == [3.0, 5.0]


@pytest.mark.parametrize(
    ("spec", "values", "reason"),
    [
        (InputSpec(order=[0, 3]), [1.0, 2.0], "source returned 2 values, input.order uses index 3"),
        (InputSpec(scale=[1.0, 2.0]), [1.0, 2.0, 3.0], "input.scale has 2 entries, the source gave 3 values"),
    ],
)
def test_values_that_do_not_fit_the_transform_fail_the_round(spec: InputSpec, values: list[float], reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        spec.apply(values)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"scale": 0}, "a scale of 0"),
        ({"order": [0, 1], "offset": [1.0, 2.0, 3.0]}, "one entry per model input"),
        ({"order": [-1]}, "counted from 0"),
        ({"offset": float("nan")}, "finite number"),
        ({"range_margin": -0.1}, "greater than or equal to 0"),
    ],
)
def test_spec_refuses_transforms_that_cannot_be_right(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        InputSpec.model_validate(fields)


def test_calibrated_range_is_per_input_with_a_margin_of_the_span() -> None:
    calibrated = CalibratedRange.widened(*sample_bounds([[0.0, 10.0], [100.0, 20.0]]), margin=0.1)
    assert (calibrated.lows, calibrated.highs) == ((-10.0, 9.0), (110.0, 21.0))
    calibrated.check([-10.0, 21.0], feed="f")  # the edges are inside
    with pytest.raises(SourceError) as info:
        calibrated.check([50.0, 21.5], feed="f")
    assert str(info.value).startswith("feed 'f': input 1 is 21.5, outside the range the circuit was calibrated on")
    assert "[9, 21]" in str(info.value) and "add samples" in str(info.value)
