"""The oracle's own checks behind and around the verifier, reached with stub verifiers of fixed verdict.

A real EZKL verifier rejects instances outside the field and never answers false, so these
paths are unreachable with real proofs; each would still matter with another verifier.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web3 import Web3
from web3.contract.contract import ContractFunction
from zkoracle_testkit import (
    INT192_MAX,
    INT192_MIN,
    INT256_MAX,
    block_time,
    circuit,
    err,
    feed_params,
    limb_instances,
    register,
    rejected,
    stub_proof,
    timed,
    timed_circuit,
)

from oracle.circuits.quantize import answer_from_felt
from oracle.evm.contracts import feed_key
from oracle.evm.zkoracle import FIELD_MODULUS, RoundId, ZkOracle
from relayer.sender import TransactionSender

KEY = feed_key("stub")


def decode_limbs(limbs: list[int], *, scale: int = 13) -> int:
    """The observation time three limb instances carry."""
    return sum((limb >> scale) << (11 * i) for i, limb in enumerate(limbs))


def register_answer_feed(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, verifier: str, *, scale: int, decimals: int
) -> bytes:
    """A feed ``[limb0, limb1, limb2, answer]``: the observation time, then the answer."""
    config = circuit(verifier, output_scale=scale)
    register(owner, oracle, KEY, feed_params(decimals=decimals), config, submitters=(relayer.account.address,))
    return KEY


def stub_submit(oracle: ZkOracle, *instances: int) -> ContractFunction:
    return oracle.submit(KEY, stub_proof(), list(instances))


def stub_answer(oracle: ZkOracle, instance: int) -> ContractFunction:
    """A round whose answer instance is ``instance``, observed at a fresh time."""
    return stub_submit(oracle, *timed(oracle.w3, instance))


def felt(instance: int) -> str:
    """An instance as EZKL writes it: little-endian hex."""
    return instance.to_bytes(32, "little").hex()


def test_verifier_answering_false_is_an_invalid_proof(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    register_answer_feed(oracle, owner, relayer, stub_verifiers[False], scale=13, decimals=8)
    assert rejected(relayer, stub_answer(oracle, 1)) == err("ZkOracleInvalidProof", KEY)
    assert oracle.latest_round_id(KEY) is None


@pytest.mark.parametrize("instance", [FIELD_MODULUS, FIELD_MODULUS + 1, 2**256 - 1])
def test_answer_instance_outside_the_field_is_refused(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    instance: int,
) -> None:
    register_answer_feed(oracle, owner, relayer, stub_verifiers[True], scale=13, decimals=8)
    assert rejected(relayer, stub_answer(oracle, instance)) == err("EzklInstancesNotInField", instance)
    assert oracle.latest_round_id(KEY) is None


@pytest.mark.parametrize(
    ("value", "scale", "decimals"),
    [
        (0, 13, 8),
        (2000 * 2**13, 13, 8),
        (16, 13, 8),  # 195312.5 units: rounds away from zero
        (-16, 13, 8),
        (4096, 13, 0),  # exactly one half
        (-4096, 13, 0),
        (4095, 13, 0),
        (-1, 13, 8),
        (-(2**127), 13, 18),  # answers are stored as int192: -2**114 * 10**18 fits
        (2**127 - 1, 64, 36),
        (123456789, 0, 2),
    ],
)
def test_answer_derivation_matches_the_library(
    w3: Web3,
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    value: int,
    scale: int,
    decimals: int,
) -> None:
    # The pipeline predicts each round's answer with answer_from_felt; both must agree, sign included.
    register_answer_feed(oracle, owner, relayer, stub_verifiers[True], scale=scale, decimals=decimals)
    instance = value % FIELD_MODULUS
    instances = timed(w3, instance)
    observed = decode_limbs(instances[:3])
    confirmed = relayer.transact(stub_submit(oracle, *instances), what="submit stub round")
    expected = answer_from_felt(felt(instance), scale=scale, decimals=decimals)
    assert oracle.latest_round_data(KEY).answer == expected
    # The round is observed when its proof says, and included when it is stored.
    stored = oracle.round(KEY, RoundId(1, 1))
    assert (stored.observed_at, stored.included_at) == (observed, block_time(w3, confirmed))
    (event,) = oracle.round_submitted(confirmed.receipt)
    assert (event.answer, event.observed_at) == (expected, observed)


@pytest.mark.parametrize("sign", [1, -1])
def test_overflow_boundary_of_the_answer(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    sign: int,
) -> None:
    decimals = 36
    register_answer_feed(oracle, owner, relayer, stub_verifiers[True], scale=0, decimals=decimals)
    # Answers are stored as int192: its limits are the unbounded feed's bounds.
    edge = sign * (INT192_MAX // 10**decimals)
    relayer.transact(stub_answer(oracle, edge % FIELD_MODULUS), what="submit largest answer")
    assert oracle.latest_round_data(KEY).answer == edge * 10**decimals
    past = edge + sign
    assert rejected(relayer, stub_answer(oracle, past % FIELD_MODULUS)) == err(
        "ZkOracleAnswerOutOfBounds", KEY, past * 10**decimals, INT192_MIN, INT192_MAX
    )
    # Up to int256's limit the answer is derived exactly (and refused by the bounds); past it, not at all.
    largest = sign * (INT256_MAX // 10**decimals)
    assert rejected(relayer, stub_answer(oracle, largest % FIELD_MODULUS)) == err(
        "ZkOracleAnswerOutOfBounds", KEY, largest * 10**decimals, INT192_MIN, INT192_MAX
    )
    beyond = largest + sign
    assert rejected(relayer, stub_answer(oracle, beyond % FIELD_MODULUS)) == err(
        "EzklInstancesDecimalsOverflow", beyond, decimals
    )
    assert oracle.latest_round_id(KEY) == RoundId(1, 1)


@pytest.mark.parametrize("sign", [1, -1])
def test_rounding_next_to_the_int256_limit_does_not_overflow(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str], sign: int
) -> None:
    # value * 10 passes the multiplication check and sits 7 from int256's limit; rounding
    # by adding half of 2**13 first would overflow, rounding from the remainder must not.
    register_answer_feed(oracle, owner, relayer, stub_verifiers[True], scale=13, decimals=1)
    instance = (sign * (INT256_MAX // 10)) % FIELD_MODULUS
    # The exact answer reaches the bounds check (answers are stored as int192), no overflow first.
    answer = answer_from_felt(felt(instance), scale=13, decimals=1)
    assert rejected(relayer, stub_answer(oracle, instance)) == err(
        "ZkOracleAnswerOutOfBounds", KEY, answer, INT192_MIN, INT192_MAX
    )


@pytest.mark.parametrize("limb", range(3))
@pytest.mark.parametrize(
    "corrupt",
    [
        lambda good: good + 1,  # off the input grid
        lambda good: good + (1 << 12),  # half a unit
        lambda _good: 1 << (11 + 13),  # on the grid, but 2**11: wider than a limb
        lambda _good: FIELD_MODULUS - (1 << 13),  # -1 in the field
    ],
    ids=["plus one", "half unit", "limb overflow", "negative"],
)
def test_malformed_observation_time_is_refused(
    w3: Web3,
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    limb: int,
    corrupt: Callable[[int], int],
) -> None:
    register(
        owner, oracle, KEY, feed_params(), timed_circuit(stub_verifiers[True]), submitters=(relayer.account.address,)
    )
    limbs = limb_instances(int(w3.eth.get_block("latest")["timestamp"]))
    limbs[limb] = corrupt(limbs[limb])
    assert rejected(relayer, stub_submit(oracle, *limbs, 0)) == err("EzklInstancesMalformedTimeLimb", limb, limbs[limb])
    assert oracle.latest_round_id(KEY) is None
