"""Between floats and EZKL's public instances (BN254 field elements)."""

from __future__ import annotations

import ezkl
from py_ecc.bn128 import curve_order  # the BN254 scalar field: EZKL's instance field


def felt_to_uint(felt: str) -> int:
    """An EZKL instance (little-endian hex) as the uint256 the verifier expects."""
    return int(ezkl.felt_to_big_endian(felt), 16)


def felt_to_float(felt: str, scale: int) -> float:
    return float(ezkl.felt_to_float(felt, scale))


def felt_to_signed(felt: str) -> int:
    """The field element as a signed integer: the upper half of the field is negative."""
    value = felt_to_uint(felt)
    return value - curve_order if value > curve_order // 2 else value


def answer_from_felt(felt: str, *, scale: int, decimals: int) -> int:
    """The answer ZkOracle derives from this instance, computed exactly as the contract does."""
    numerator = felt_to_signed(felt) * 10**decimals
    denominator = 1 << scale
    magnitude = (abs(numerator) + denominator // 2) // denominator
    return magnitude if numerator >= 0 else -magnitude


# EZKL reads inputs as f32 before scaling them, so only grid values below 2**24 steps
# reach the circuit exactly; ZkOracle refuses on-chain inputs beyond that.
MAX_EXACT_INPUT_STEPS = 1 << 24


def quantize_like_contract(raw: int, *, decimals: int, scale: int) -> int:
    """``raw / 10**decimals`` in steps of 2**-scale, rounded half away from zero as ZkOracle does."""
    numerator, denominator = abs(raw) << scale, 10**decimals
    steps = (2 * numerator + denominator) // (2 * denominator)
    if steps >= MAX_EXACT_INPUT_STEPS:
        raise ValueError(
            f"{raw}e-{decimals} is {steps} steps of 2**-{scale}, beyond the {MAX_EXACT_INPUT_STEPS} EZKL reads exactly"
        )
    return steps if raw >= 0 else -steps
