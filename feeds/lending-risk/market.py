"""A simulated lending market's state, the lending-risk feed's input source.

``snapshot(now=...)`` is what a feed operator's own code would compute from a market's
contracts and venues; here each feature follows slow cycles plus hashed noise, so any
tick can be recomputed by anyone. Every feature stays inside its ``BOUNDS`` by
construction, and the feed's calibration samples cover those bounds.
"""

from __future__ import annotations

import hashlib
import math
import time

# name: (low, high, period of its slow cycle in ticks)
BOUNDS: dict[str, tuple[float, float, float]] = {
    "utilisation_pct": (40.0, 95.0, 173.0),
    "collateral_ratio": (1.2, 2.5, 61.0),
    "price_change_1h_pct": (-8.0, 8.0, 29.0),
    "liquidity_musd": (5.0, 50.0, 211.0),
    "borrow_apr_pct": (1.0, 25.0, 89.0),
    "venue_spread_bps": (0.0, 60.0, 13.0),
}
FEATURES = tuple(BOUNDS)


def _noise(market: str, tick: int, feature: str) -> float:
    digest = hashlib.sha256(f"{market}:{feature}:{tick}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 2.0 - 1.0


def features_at(tick: int, *, market: str = "eth-usdc") -> list[float]:
    values = []
    for feature, (low, high, period) in BOUNDS.items():
        unit = 0.5 + 0.4 * math.sin(2 * math.pi * tick / period) + 0.1 * _noise(market, tick, feature)
        values.append(round(low + (high - low) * unit, 4))
    return values


def snapshot(*, now: float | None = None, market: str = "eth-usdc", tick_seconds: float = 15.0) -> list[float]:
    """The market's six risk features at ``now`` (a unix time), in the order of ``FEATURES``."""
    tick = int((time.time() if now is None else now) // tick_seconds)
    return features_at(tick, market=market)
