"""The observation time as circuit inputs: three small limbs, least significant first.

Pure Python, so the feed schema and anything else can use it without loading EZKL.
"""

from __future__ import annotations

# Mirrors ZkOracle.OBSERVED_AT_LIMBS / OBSERVED_AT_LIMB_BITS: a raw unix time breaks EZKL's
# range checks, so it is proven as small limbs, least significant first.
OBSERVED_AT_LIMBS = 3
OBSERVED_AT_LIMB_BITS = 11


def time_limbs(unix_time: int) -> list[float]:
    """``unix_time`` as the limbs a feed's model takes as its ``observed_at`` input."""
    if not 0 <= unix_time < 1 << (OBSERVED_AT_LIMBS * OBSERVED_AT_LIMB_BITS):
        raise ValueError(f"observation time {unix_time} does not fit {OBSERVED_AT_LIMBS} limbs")
    mask = (1 << OBSERVED_AT_LIMB_BITS) - 1
    return [float((unix_time >> (OBSERVED_AT_LIMB_BITS * i)) & mask) for i in range(OBSERVED_AT_LIMBS)]
