"""Turning values found in JSON, CSV or returned by code into model inputs."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

from oracle.exceptions import SourceError


def to_float(raw: object, *, what: str) -> float:
    """A finite float from a number or a numeric string (many price APIs send "3012.55").

    ``what`` names where the value came from; it starts the error message.
    """
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real | str):
        raise SourceError(f"{what} is {raw!r}, not a number")
    try:
        value = float(raw)
    except ValueError:
        raise SourceError(f"{what} is {raw!r}, not a number") from None
    if not math.isfinite(value):
        raise SourceError(f"{what} is {raw!r}, not a finite number")
    return value


def flatten(raw: object, *, what: str) -> list[float]:
    """A number, or a tensor given as nested lists (or a NumPy array), as finite floats in row-major order.

    ``what`` names where the values came from; an element's index is added to it in errors.
    """
    if isinstance(raw, str | bytes | dict) or not isinstance(raw, Iterable):
        return [to_float(raw, what=what)]
    return [value for index, item in enumerate(raw) for value in flatten(item, what=f"{what}[{index}]")]
