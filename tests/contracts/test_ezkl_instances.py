"""EzklInstances on its own, through a harness: field encoding, rescaling, quantising, time limbs.

Each function is checked at its edges and, with Hypothesis, against a Python reference;
where the node has its own copy of a rule (``oracle.circuits.quantize``), that copy is the
reference, so node and contract cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from library_harness import harness_contracts
from py_ecc.bn128 import curve_order as P
from web3.contract import Contract
from zkoracle_testkit import INT256_MAX, INT256_MIN, deploy, err, view_error

from oracle.circuits.quantize import answer_from_felt, quantize_like_contract
from relayer.sender import TransactionSender

HALF = (P - 1) // 2  # the largest magnitude a signed value in the field may have
MAX_SCALE, MAX_DECIMALS = 254, 76
LIMB_BITS = 11
EXAMPLES = 150
int256s = st.integers(INT256_MIN, INT256_MAX)


@pytest.fixture(scope="module")
def lib(owner: TransactionSender) -> Contract:
    return deploy(owner, harness_contracts()["EzklInstancesHarness"])


def div_round(numerator: int, divisor: int) -> int:
    """Half away from zero, exactly."""
    magnitude = (2 * abs(numerator) + divisor) // (2 * divisor)
    return magnitude if numerator >= 0 else -magnitude


def fits_int256(value: int) -> bool:
    return INT256_MIN <= value <= INT256_MAX


def felt(instance: int) -> str:
    """An instance as EZKL writes it: little-endian hex."""
    return instance.to_bytes(32, "little").hex()


# --- field element <-> signed integer ---------------------------------------------------------


@pytest.mark.parametrize(
    ("instance", "signed"),
    [(0, 0), (1, 1), (HALF, HALF), (HALF + 1, -HALF), (P - 1, -1), (P - 8192, -8192)],
    ids=["zero", "one", "largest positive", "most negative", "minus one", "minus one unit"],
)
def test_field_element_to_signed_and_back(lib: Contract, instance: int, signed: int) -> None:
    assert lib.functions.toSigned(instance).call() == signed
    assert lib.functions.toInstance(signed).call() == instance


@pytest.mark.parametrize("instance", [P, P + 1, 2**256 - 1])
def test_instance_outside_the_field_is_refused(lib: Contract, instance: int) -> None:
    assert view_error(lib.functions.toSigned(instance)) == err("EzklInstancesNotInField", instance)
    assert view_error(lib.functions.instanceToDecimals(instance, 13, 8)) == err("EzklInstancesNotInField", instance)


@pytest.mark.parametrize("value", [HALF + 1, -HALF - 1, INT256_MAX, INT256_MIN])
def test_signed_value_outside_the_field_is_refused(lib: Contract, value: int) -> None:
    assert view_error(lib.functions.toInstance(value)) == err("EzklInstancesSignedOutOfField", value)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(instance=st.integers(0, P - 1))
def test_every_field_element_round_trips(lib: Contract, instance: int) -> None:
    signed = lib.functions.toSigned(instance).call()
    assert signed == (instance - P if instance > P // 2 else instance)
    assert lib.functions.toInstance(signed).call() == instance


# --- rescaling: 2**-scale units -> 10**-decimals units ---------------------------------------


@pytest.mark.parametrize(
    ("value", "scale", "decimals", "expected"),
    [
        (0, 13, 8, 0),
        (4096, 13, 0, 1),  # exactly one half rounds away from zero
        (-4096, 13, 0, -1),
        (4095, 13, 0, 0),  # just under one half
        (-4095, 13, 0, 0),
        (12288, 13, 0, 2),  # one and a half
        (-12288, 13, 0, -2),
        (5, 1, 0, 3),  # scale above decimals: 2.5
        (-5, 1, 0, -3),
        (3, 0, 2, 300),  # scale below decimals: exact
        (-3, 0, 2, -300),
        (1, 13, 4, 1),  # 1.2207 units rounds down
        (-1, 13, 8, -12207),  # -12207.03125
        (7, 0, 0, 7),
        (1, MAX_SCALE, MAX_DECIMALS, div_round(10**MAX_DECIMALS, 2**MAX_SCALE)),
    ],
)
def test_to_decimals(lib: Contract, value: int, scale: int, decimals: int, expected: int) -> None:
    assert lib.functions.toDecimals(value, scale, decimals).call() == expected
    assert lib.functions.instanceToDecimals(value % P, scale, decimals).call() == expected


@pytest.mark.parametrize("decimals", [0, 1, 36, MAX_DECIMALS])
def test_to_decimals_overflow_boundary(lib: Contract, decimals: int) -> None:
    unit = 10**decimals
    largest, smallest = INT256_MAX // unit, -(-INT256_MIN // unit)
    assert lib.functions.toDecimals(largest, 0, decimals).call() == largest * unit
    assert lib.functions.toDecimals(smallest, 0, decimals).call() == smallest * unit
    # At decimals 0 nothing overflows: int256's own bounds are the boundary.
    for beyond in filter(fits_int256, (largest + 1, smallest - 1)):
        assert view_error(lib.functions.toDecimals(beyond, 0, decimals)) == err(
            "EzklInstancesDecimalsOverflow", beyond, decimals
        )


def test_to_decimals_refuses_unsupported_units(lib: Contract) -> None:
    assert view_error(lib.functions.toDecimals(1, MAX_SCALE + 1, 0)) == err("EzklInstancesUnsupportedScale", 255)
    assert view_error(lib.functions.toDecimals(1, 0, MAX_DECIMALS + 1)) == err("EzklInstancesUnsupportedDecimals", 77)
    # The units are checked before the value: a bad scale is named even when the value overflows.
    assert view_error(lib.functions.toDecimals(INT256_MAX, 255, 255)) == err("EzklInstancesUnsupportedScale", 255)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(value=int256s, scale=st.integers(0, 64), decimals=st.integers(0, 36))
def test_to_decimals_matches_the_node(lib: Contract, value: int, scale: int, decimals: int) -> None:
    call = lib.functions.toDecimals(value, scale, decimals)
    if not fits_int256(value * 10**decimals):
        assert view_error(call) == err("EzklInstancesDecimalsOverflow", value, decimals)
        return
    expected = div_round(value * 10**decimals, 2**scale)
    assert call.call() == expected
    if -HALF <= value <= HALF:
        # The node predicts each round's answer from the instance with answer_from_felt.
        instance = value % P
        assert lib.functions.instanceToDecimals(instance, scale, decimals).call() == expected
        assert answer_from_felt(felt(instance), scale=scale, decimals=decimals) == expected


# --- quantising: 10**-decimals units -> 2**-scale steps ---------------------------------------


@pytest.mark.parametrize(
    ("value", "decimals", "scale", "expected"),
    [
        (0, 8, 13, 0),
        (203850000000, 8, 13, 16699392),  # 2038.5: exactly on the grid
        (1, 1, 0, 0),  # 0.1
        (5, 1, 0, 1),  # exactly one half rounds away from zero
        (-5, 1, 0, -1),
        (15, 1, 0, 2),
        (-15, 1, 0, -2),
        (1, 0, 13, 8192),  # scale above decimals
        (-1, 0, 13, -8192),
        (123, 2, 0, 1),  # decimals above scale: 1.23
        (-123, 2, 0, -1),
    ],
)
def test_quantize(lib: Contract, value: int, decimals: int, scale: int, expected: int) -> None:
    assert lib.functions.quantize(value, decimals, scale).call() == expected
    assert lib.functions.tryQuantize(value, decimals, scale).call() == [True, expected]


@pytest.mark.parametrize("scale", [0, 13, 64, MAX_SCALE])
def test_quantize_overflow_boundary(lib: Contract, scale: int) -> None:
    unit = 2**scale
    largest, smallest = INT256_MAX // unit, INT256_MIN // unit  # smallest * unit is int256's minimum itself
    assert lib.functions.quantize(largest, 0, scale).call() == largest * unit
    assert lib.functions.quantize(smallest, 0, scale).call() == INT256_MIN
    for beyond in filter(fits_int256, (largest + 1, smallest - 1)):
        assert view_error(lib.functions.quantize(beyond, 0, scale)) == err(
            "EzklInstancesQuantizeOverflow", beyond, scale
        )
        assert lib.functions.tryQuantize(beyond, 0, scale).call() == [False, 0]


def test_quantize_refuses_unsupported_units(lib: Contract) -> None:
    for function in (lib.functions.quantize, lib.functions.tryQuantize):
        assert view_error(function(1, MAX_DECIMALS + 1, 0)) == err("EzklInstancesUnsupportedDecimals", 77)
        assert view_error(function(1, 0, MAX_SCALE + 1)) == err("EzklInstancesUnsupportedScale", 255)
        assert view_error(function(INT256_MAX, 255, 255)) == err("EzklInstancesUnsupportedDecimals", 255)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(value=int256s, decimals=st.integers(0, 36), scale=st.integers(0, 64))
def test_quantize_matches_the_node(lib: Contract, value: int, decimals: int, scale: int) -> None:
    if not fits_int256(value * 2**scale):
        assert view_error(lib.functions.quantize(value, decimals, scale)) == err(
            "EzklInstancesQuantizeOverflow", value, scale
        )
        assert lib.functions.tryQuantize(value, decimals, scale).call() == [False, 0]
        return
    expected = div_round(value * 2**scale, 10**decimals)
    assert lib.functions.quantize(value, decimals, scale).call() == expected
    assert lib.functions.tryQuantize(value, decimals, scale).call() == [True, expected]
    if abs(expected) < 2**24:
        # The node quantises on-chain input values with quantize_like_contract.
        assert quantize_like_contract(value, decimals=decimals, scale=scale) == expected


# --- division rounding half away from zero ----------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "divisor", "expected"),
    [
        (0, 1, 0),
        (7, 2, 4),
        (-7, 2, -4),
        (5, 3, 2),
        (-5, 3, -2),
        (4, 3, 1),
        (-4, 3, -1),
        (INT256_MIN, 1, INT256_MIN),
        (INT256_MAX, 1, INT256_MAX),
        (INT256_MAX, 2, 2**254),  # rounds up without overflowing
        (INT256_MIN, 2, -(2**254)),
        (INT256_MAX - 1, INT256_MAX, 1),  # twice the remainder would overflow int256
        (-(INT256_MAX - 1), INT256_MAX, -1),
        (INT256_MIN, INT256_MAX, -1),
        (2**253, 2**254, 1),  # one half of a huge divisor
        (-(2**253), 2**254, -1),
        (2**253 - 1, 2**254, 0),
    ],
)
def test_div_round(lib: Contract, numerator: int, divisor: int, expected: int) -> None:
    assert div_round(numerator, divisor) == expected
    assert lib.functions.divRound(numerator, divisor).call() == expected


@pytest.mark.parametrize("divisor", [0, -1, INT256_MIN])
def test_div_round_refuses_a_non_positive_divisor(lib: Contract, divisor: int) -> None:
    assert view_error(lib.functions.divRound(1, divisor)) == err("EzklInstancesNonPositiveDivisor", divisor)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(numerator=int256s, divisor=st.one_of(st.integers(1, 2**64), st.integers(1, INT256_MAX)))
def test_div_round_matches_exact_rounding(lib: Contract, numerator: int, divisor: int) -> None:
    assert lib.functions.divRound(numerator, divisor).call() == div_round(numerator, divisor)


# --- the observation time's limbs -------------------------------------------------------------


def limbs_of(unix_time: int, scale: int) -> list[int]:
    mask = (1 << LIMB_BITS) - 1
    return [((unix_time >> (LIMB_BITS * i)) & mask) << scale for i in range(3)]


@pytest.mark.parametrize(
    ("unix_time", "scale"),
    [(0, 13), (1_700_000_000, 13), (2**33 - 1, 13), (2**33 - 1, 0), (1_700_000_000, 0), (2**33 - 1, 242)],
    ids=["zero", "now", "largest limbs", "largest limbs at scale 0", "scale 0", "largest scale that fits"],
)
def test_decode_observed_at(lib: Contract, unix_time: int, scale: int) -> None:
    assert lib.functions.decodeObservedAt(limbs_of(unix_time, scale), scale).call() == unix_time


def test_decode_observed_at_at_scale_255(lib: Contract) -> None:
    # The unit 2**255 leaves room only for limbs 0 and 1.
    assert lib.functions.decodeObservedAt([2**255, 0, 2**255], 255).call() == 1 + (1 << (2 * LIMB_BITS))


@pytest.mark.parametrize("count", [0, 2, 4])
def test_decode_observed_at_needs_three_limbs(lib: Contract, count: int) -> None:
    assert view_error(lib.functions.decodeObservedAt([0] * count, 13)) == err("EzklInstancesTimeLimbCount", count)


@pytest.mark.parametrize("position", range(3))
@pytest.mark.parametrize(
    "corrupt",
    [
        lambda good: good + 1,  # off the input grid
        lambda good: good + (1 << 12),  # half a unit
        lambda _good: 1 << (LIMB_BITS + 13),  # on the grid, but 2**11: wider than a limb
        lambda _good: P - (1 << 13),  # -1 in the field
        lambda _good: 2**256 - 1,
    ],
    ids=["plus one", "half unit", "limb overflow", "negative", "largest uint"],
)
def test_malformed_limb_is_named(lib: Contract, position: int, corrupt: Callable[[int], int]) -> None:
    limbs = limbs_of(1_700_000_000, 13)
    limbs[position] = corrupt(limbs[position])
    assert view_error(lib.functions.decodeObservedAt(limbs, 13)) == err(
        "EzklInstancesMalformedTimeLimb", position, limbs[position]
    )


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(
    limbs=st.lists(st.integers(0, 2**256 - 1) | st.integers(0, 2**24), min_size=3, max_size=3), scale=st.integers(0, 20)
)
def test_decode_observed_at_matches_the_reference(lib: Contract, limbs: list[int], scale: int) -> None:
    call = lib.functions.decodeObservedAt(limbs, scale)
    unit, time = 1 << scale, 0
    for position, instance in enumerate(limbs):
        limb, rest = divmod(instance, unit)
        if rest or limb >> LIMB_BITS:
            assert view_error(call) == err("EzklInstancesMalformedTimeLimb", position, instance)
            return
        time |= limb << (LIMB_BITS * position)
    assert call.call() == time
