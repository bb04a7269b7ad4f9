"""A deterministic synthetic price series, for demos and tests that need moving inputs."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence

from oracle.sources.base import InputSource
from oracle.sources.settings import SyntheticSourceSpec

# Cycles with incommensurate periods (in ticks) never line up, so the series does not
# visibly repeat within a demo, yet any tick's value can be recomputed by anyone.
_CYCLES: tuple[tuple[float, float], ...] = ((0.060, 97.0), (0.025, 23.0), (0.012, 7.3))
_NOISE = 0.004


def _noise(seed: str, tick: int) -> float:
    digest = hashlib.sha256(f"{seed}:{tick}".encode()).digest()
    uniform = int.from_bytes(digest[:8], "big") / 2**64
    return (uniform - 0.5) * 2.0


def synthetic_price(tick: int, *, base: float = 2000.0, seed: str = "zkoracle") -> float:
    """Price at integer ``tick``: ``base`` modulated by slow cycles and hashed noise."""
    log_move = sum(amp * math.sin(2 * math.pi * tick / period) for amp, period in _CYCLES)
    log_move += _NOISE * _noise(seed, tick)
    return base * math.exp(log_move)


def price_window(last_tick: int, length: int, *, base: float = 2000.0, seed: str = "zkoracle") -> list[float]:
    """The ``length`` prices ending at ``last_tick``, oldest first."""
    return [synthetic_price(t, base=base, seed=seed) for t in range(last_tick - length + 1, last_tick + 1)]


class SyntheticPriceSource(InputSource):
    """The latest window of the synthetic series; the tick advances with wall-clock time."""

    def __init__(self, *, window: int, tick_seconds: float, base: float = 2000.0, seed: str = "zkoracle") -> None:
        self._window = window
        self._tick_seconds = tick_seconds
        self._base = base
        self._seed = seed

    @classmethod
    def from_settings(cls, settings: SyntheticSourceSpec) -> SyntheticPriceSource:
        return cls(window=settings.window, tick_seconds=settings.tick_seconds, base=settings.base, seed=settings.seed)

    def current_tick(self, *, now: float | None = None) -> int:
        return int((time.time() if now is None else now) // self._tick_seconds)

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        return price_window(self.current_tick(now=now), self._window, base=self._base, seed=self._seed)
