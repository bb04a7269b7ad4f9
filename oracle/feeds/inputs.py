"""``[input]``: what the node does to a source's values before the model sees them, and where they must lie.

``[input]`` in feed.toml picks and reorders the source's values by index, then maps each
through ``value * scale + offset`` (e.g. cents to dollars, or centring prices). The
samples in samples.json are model inputs, i.e. values after these transforms.

EZKL picks the circuit's fixed-point scales and range checks from the calibration
samples, and the quantisation error bound every proof is checked against is measured
on inputs between those samples. An input far outside them may fail witness
generation after the expensive setup, or prove a value the bound does not cover; the
round is refused before inference instead, with a reason that says what to add.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, model_validator

from oracle.exceptions import SourceError

PerValue = FiniteFloat | list[FiniteFloat]


class InputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    order: list[int] | None = Field(
        default=None, min_length=1, description="model input i is source value order[i] (indices may repeat or skip)"
    )
    scale: PerValue = Field(default=1.0, description="one factor for all values, or one per model input")
    offset: PerValue = Field(default=0.0, description="added after scaling: one for all, or one per model input")
    range_margin: float = Field(
        default=0.5,
        ge=0,
        description="inputs may lie this fraction of the samples' span outside the samples' range, per input",
    )

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if self.order is not None and min(self.order) < 0:
            raise ValueError("order holds indices into the source's values, counted from 0")
        if 0.0 in (self.scale if isinstance(self.scale, list) else [self.scale]):
            raise ValueError("a scale of 0 would throw the value away")
        lengths = {len(x) for x in (self.order, self.scale, self.offset) if isinstance(x, list)}
        if len(lengths) > 1:
            raise ValueError(
                f"order, scale and offset lists must have one entry per model input (got {sorted(lengths)})"
            )
        return self

    @property
    def is_identity(self) -> bool:
        return self.order is None and self.scale == 1.0 and self.offset == 0.0

    def apply(self, values: Sequence[float]) -> list[float]:
        """The model's source inputs from the source's ``values``."""
        picked = list(values)
        if self.order is not None:
            if max(self.order) >= len(picked):
                raise SourceError(f"source returned {len(picked)} values, input.order uses index {max(self.order)}")
            picked = [picked[i] for i in self.order]
        scales, offsets = _per_value(self.scale, len(picked), "scale"), _per_value(self.offset, len(picked), "offset")
        return [x * s + o for x, s, o in zip(picked, scales, offsets, strict=True)]


def _per_value(setting: PerValue, count: int, name: str) -> list[float]:
    if not isinstance(setting, list):
        return [setting] * count
    if len(setting) != count:
        raise SourceError(f"input.{name} has {len(setting)} entries, the source gave {count} values")
    return setting


@dataclass(frozen=True)
class CalibratedRange:
    """Where a round's source values may lie: the calibration samples' range, widened by a margin of its span."""

    lows: tuple[float, ...]
    highs: tuple[float, ...]
    margin: float

    @classmethod
    def widened(cls, lows: Sequence[float], highs: Sequence[float], *, margin: float) -> CalibratedRange:
        """Per input: the samples' ``lows`` and ``highs``, widened by ``margin`` × their span on each side."""
        spans = [high - low for low, high in zip(lows, highs, strict=True)]
        return cls(
            lows=tuple(low - margin * span for low, span in zip(lows, spans, strict=True)),
            highs=tuple(high + margin * span for high, span in zip(highs, spans, strict=True)),
            margin=margin,
        )

    def check(self, values: Sequence[float], *, feed: str) -> None:
        """Raise SourceError when a source value (after transforms) lies outside the calibrated range."""
        for index, (value, low, high) in enumerate(zip(values, self.lows, self.highs, strict=True)):
            if not low <= value <= high:
                raise SourceError(
                    f"feed '{feed}': input {index} is {value:.6g}, outside the range the circuit was calibrated on "
                    f"[{low:.6g}, {high:.6g}] (samples ± {self.margin:g} × their span); "
                    "add samples covering it and rebuild the circuit"
                )
