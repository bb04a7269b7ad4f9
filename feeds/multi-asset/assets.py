"""Eight simulated assets' recent moves, the multi-asset feed's input source.

``moves(now=...)`` gives each asset's percent change over the last ``lookback`` ticks of
its own deterministic synthetic series (the demo feed's generator, one seed and base
price per asset), so any tick can be recomputed by anyone. Each move stays within
``MAX_MOVE_PCT`` by construction, and the feed's calibration samples cover that range.
"""

from __future__ import annotations

import time

from oracle.sources.synthetic import synthetic_price

# symbol: the series' central price
ASSETS: dict[str, float] = {
    "btc": 60000.0,
    "eth": 2000.0,
    "sol": 150.0,
    "bnb": 550.0,
    "xrp": 0.6,
    "ada": 0.45,
    "avax": 35.0,
    "link": 15.0,
}
# The series' cycles move a price by at most ~10% in log terms (0.06 + 0.025 + 0.012 + noise),
# so a move over four ticks stays inside this (the calibration samples reach it).
MAX_MOVE_PCT = 12.0


def moves_at(tick: int, *, lookback: int = 4) -> list[float]:
    """Each asset's percent change from ``tick - lookback`` to ``tick``, in the order of ``ASSETS``."""
    moved = []
    for symbol, base in ASSETS.items():
        now, then = (synthetic_price(t, base=base, seed=symbol) for t in (tick, tick - lookback))
        moved.append(round(100.0 * (now / then - 1.0), 4))
    return moved


def moves(*, now: float | None = None, tick_seconds: float = 10.0, lookback: int = 4) -> list[float]:
    """The eight assets' moves at ``now`` (a unix time)."""
    tick = int((time.time() if now is None else now) // tick_seconds)
    return moves_at(tick, lookback=lookback)
