"""On-chain inputs: ZkOracle reads a declared source during `submit` and requires the proof to be about it.

A real proof of the demo model whose first price an ExampleValueSource holds shows the
binding end to end; stub feeds check the quantisation against exact numbers, including the
limits where it overflows, and the AggregatorV3 inputs read at the round a submission names.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from web3 import Web3
from web3.contract import Contract
from zkoracle_testkit import (
    INT256_MAX,
    INT256_MIN,
    VALUE_SELECTOR,
    Proven,
    aggregator_input,
    block_time,
    circuit,
    deploy,
    deploy_aggregator,
    err,
    events,
    feed_params,
    helper_contracts,
    limb_instances,
    onchain_input,
    quantize,
    register,
    rejected,
    stub_proof,
    stub_time,
    submit,
    view_error,
)

from oracle.evm.contracts import feed_key, project_contracts
from oracle.evm.zkoracle import FIELD_MODULUS, CircuitConfig, InputEvidence, InputPolicy, RoundId, ZkOracle
from relayer.sender import TransactionSender

KEY = feed_key("onchain")
FIRST_PRICE = 2038.5  # both session demo proofs start with it (conftest.FIRST_PRICES / SECOND_PRICES)
SCALE = 13
# ZkOracle.MAX_EXACT_INPUT_STEPS: EZKL reads inputs as f32, exact only below 2**24 grid steps.
MAX_EXACT_STEPS = 2**24
# One source round per on-chain input, 0 for a getter.
ONE_GETTER = InputEvidence(source_rounds=(0,))


def value_source(owner: TransactionSender, initial: int) -> Contract:
    return deploy(owner, project_contracts()["ExampleValueSource"], initial)


# --- ExampleValueSource ----------------------------------------------------------------------


def test_value_source_announces_values_and_only_its_deployer_sets_them(
    owner: TransactionSender, outsider: TransactionSender
) -> None:
    compiled = project_contracts()["ExampleValueSource"]
    factory = owner.w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    confirmed = owner.transact(factory.constructor(-42), what="deploy value source")
    source = owner.w3.eth.contract(address=confirmed.receipt["contractAddress"], abi=compiled.abi)
    (created,) = events(source.events.ValueSet(), confirmed)
    assert created["args"]["value"] == -42
    assert source.functions.value().call() == -42

    confirmed = owner.transact(source.functions.setValue(INT256_MAX), what="set value")
    (changed,) = events(source.events.ValueSet(), confirmed)
    assert changed["args"]["value"] == INT256_MAX
    assert rejected(outsider, source.functions.setValue(0)) == err(
        "ExampleValueSourceNotOwner", outsider.account.address
    )
    assert source.functions.value().call() == INT256_MAX


# --- a real circuit bound to an on-chain value -----------------------------------------------


@pytest.mark.parametrize("decimals", [1, 8])
def test_proof_must_use_the_value_on_chain_at_submission(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    demo_config: CircuitConfig,
    first_proof: Proven,
    second_proof: Proven,
    decimals: int,
) -> None:
    on_chain = round(FIRST_PRICE * 10**decimals)
    source = value_source(owner, on_chain)
    config = replace(demo_config, onchain_inputs=(onchain_input(source.address, decimals=decimals, index=0),))
    register(owner, oracle, KEY, feed_params(), config, submitters=(relayer.account.address,))
    # The proof's first instance is the price EZKL quantised; the contract quantises the same value alike.
    assert first_proof.instances[0] == quantize(on_chain, decimals=decimals, scale=SCALE)
    submit(relayer, oracle, KEY, first_proof, ONE_GETTER)

    # The value moves after the proof was made: the proof is now about a stale input.
    moved = on_chain + 10 ** (decimals - 1)
    owner.transact(source.functions.setValue(moved), what="move the value")
    call = oracle.submit(KEY, second_proof.proof_bytes, second_proof.instances, ONE_GETTER)
    assert rejected(relayer, call) == err(
        "ZkOracleOnchainInputMismatch",
        KEY,
        0,
        quantize(moved, decimals=decimals, scale=SCALE),
        second_proof.instances[0],
    )
    owner.transact(source.functions.setValue(on_chain), what="restore the value")
    submit(relayer, oracle, KEY, second_proof, ONE_GETTER)
    assert oracle.latest_round_id(KEY) == RoundId(1, 2)


@pytest.mark.parametrize("target", ["missing function", "reverting view", "wide answer"])
def test_unreadable_onchain_input_is_refused(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    outsider: TransactionSender,
    demo_config: CircuitConfig,
    first_proof: Proven,
    target: str,
) -> None:
    selector = VALUE_SELECTOR
    if target == "missing function":
        address = value_source(owner, 0).address
        selector = bytes(Web3.keccak(text="latestAnswer()"))[:4]
    else:
        address = deploy(
            owner, helper_contracts()["RevertingSource" if target == "reverting view" else "WideSource"]
        ).address
    config = replace(demo_config, onchain_inputs=(onchain_input(address, decimals=1, index=0, selector=selector),))
    register(owner, oracle, KEY, feed_params(), config, submitters=(relayer.account.address,))
    call = oracle.submit(KEY, first_proof.proof_bytes, first_proof.instances, ONE_GETTER)
    assert rejected(relayer, call) == err("ZkOracleOnchainInputUnavailable", KEY, 0, address)


def test_source_without_code_is_refused_at_registration(
    oracle: ZkOracle, owner: TransactionSender, outsider: TransactionSender, demo_config: CircuitConfig
) -> None:
    # A call to an account without code succeeds with no data: it can never stand in for a source.
    address = outsider.account.address
    for source in (onchain_input(address, decimals=1, index=0), aggregator_input(address, decimals=1, index=0)):
        config = replace(demo_config, onchain_inputs=(source,))
        assert rejected(owner, oracle.register_feed(KEY, feed_params(), config)) == err(
            "ZkOracleNotAContract", KEY, address
        )


# --- quantisation, exactly (stub verifier) ---------------------------------------------------


def stub_instances(oracle: ZkOracle, value: int, scale: int, answer: int = 0) -> list[int]:
    """``[value, limb0, limb1, limb2, answer]`` observed at a fresh time, the limbs at ``scale``."""
    return [value, *limb_instances(stub_time(oracle.w3), scale=scale), answer]


def register_stub_feed(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, verifier: str, *, decimals: int, scale: int
) -> Contract:
    """A feed with instances ``[input, limb0, limb1, limb2, answer]`` whose input comes from a fresh value source."""
    source = value_source(owner, 0)
    config = circuit(
        verifier,
        instance_count=5,
        input_count=4,
        output_index=4,
        observed_at_index=1,
        input_scale=scale,
        onchain_inputs=(onchain_input(source.address, decimals=decimals, index=0),),
    )
    register(owner, oracle, KEY, feed_params(), config, submitters=(relayer.account.address,))
    return source


@pytest.mark.parametrize(
    ("value", "decimals", "scale"),
    [
        (20385, 1, 13),  # 2038.5 USD: exact on the grid
        (-20385, 1, 13),  # negatives are p - |x|
        (5, 1, 0),  # 0.5 rounds half away from zero: 1
        (-5, 1, 0),  # -0.5: -1
        (15, 1, 0),  # 1.5: 2
        (4, 1, 0),  # 0.4: 0
        (1, 8, 13),  # 0.00000001 * 8192 rounds to 0
        (123456789, 36, 64),
        (0, 0, 0),
        (MAX_EXACT_STEPS - 1, 0, 0),  # the widest input EZKL still reads exactly (f32)
        (-(MAX_EXACT_STEPS - 1), 0, 0),
        (167772154, 1, 0),  # 16777215.4 rounds down, inside the range
    ],
)
def test_onchain_value_is_quantised_like_ezkl(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    value: int,
    decimals: int,
    scale: int,
) -> None:
    source = register_stub_feed(oracle, owner, relayer, stub_verifiers[True], decimals=decimals, scale=scale)
    owner.transact(source.functions.setValue(value), what="set value")
    expected = quantize(value, decimals=decimals, scale=scale)
    off_by_one = (expected + 1) % FIELD_MODULUS
    assert rejected(
        relayer, oracle.submit(KEY, stub_proof(), stub_instances(oracle, off_by_one, scale), ONE_GETTER)
    ) == err("ZkOracleOnchainInputMismatch", KEY, 0, expected, off_by_one)
    relayer.transact(
        oracle.submit(KEY, stub_proof(), stub_instances(oracle, expected, scale), ONE_GETTER), what="submit"
    )
    assert oracle.latest_round_id(KEY) == RoundId(1, 1)


@pytest.mark.parametrize(
    ("value", "decimals", "scale"),
    [
        (MAX_EXACT_STEPS, 0, 0),
        (-MAX_EXACT_STEPS, 0, 0),
        (167772155, 1, 0),  # 16777215.5 rounds up onto the limit
        (-167772155, 1, 0),
        (2**200, 0, 13),
        (INT256_MAX // 2**13, 36, 13),  # the largest value whose scaling does not overflow
        (-(2**254), 0, 0),  # beyond the field
        (-(2**242), 0, 13),  # scales to int256.min exactly
    ],
)
def test_onchain_value_beyond_exact_input_range_is_refused(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    value: int,
    decimals: int,
    scale: int,
) -> None:
    # No proof could carry it exactly, so the contract names the value instead of a mismatch.
    source = register_stub_feed(oracle, owner, relayer, stub_verifiers[True], decimals=decimals, scale=scale)
    owner.transact(source.functions.setValue(value), what="set value")
    instance = quantize(value, decimals=decimals, scale=scale) % FIELD_MODULUS
    call = oracle.submit(KEY, stub_proof(), stub_instances(oracle, instance, scale), ONE_GETTER)
    assert rejected(relayer, call) == err("ZkOracleOnchainInputOutOfRange", KEY, 0, value)


@pytest.mark.parametrize("value", [INT256_MAX // 2**13 + 1, INT256_MAX, INT256_MIN // 2**13 - 1, INT256_MIN])
def test_onchain_value_too_large_to_scale_is_refused(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    value: int,
) -> None:
    source = register_stub_feed(oracle, owner, relayer, stub_verifiers[True], decimals=0, scale=13)
    owner.transact(source.functions.setValue(value), what="set value")
    call = oracle.submit(KEY, stub_proof(), stub_instances(oracle, 0, 13), ONE_GETTER)
    # Too large even to scale is beyond the exact range too: the input's own error, not the answer's.
    assert rejected(relayer, call) == err("ZkOracleOnchainInputOutOfRange", KEY, 0, value)


# --- AggregatorV3 inputs: read at the round the submission names ------------------------------

AGGREGATOR_MAX_AGE = 600


def register_aggregator_feed(
    oracle: ZkOracle, owner: TransactionSender, verifier: str, aggregator: str, *, scale: int = 13, decimals: int = 8
) -> None:
    """A permissionless Onchain feed ``[price, limb0, limb1, limb2, answer]``, the price an aggregator's round."""
    config = circuit(
        verifier,
        instance_count=5,
        input_count=4,
        output_index=4,
        observed_at_index=1,
        input_scale=scale,
        output_scale=scale,
        onchain_inputs=(aggregator_input(aggregator, decimals=decimals, index=0, max_age=AGGREGATOR_MAX_AGE),),
    )
    register(owner, oracle, KEY, feed_params(policy=InputPolicy.ONCHAIN, permissionless=True), config)


def at_round(source_round: int) -> InputEvidence:
    return InputEvidence(source_rounds=(source_round,))


def test_example_aggregator_keeps_its_rounds_and_only_its_deployer_sets_them(
    w3: Web3, owner: TransactionSender, outsider: TransactionSender
) -> None:
    aggregator = deploy_aggregator(owner, 3000 * 10**8, decimals=8, description="ETH / USD")
    assert (aggregator.functions.decimals().call(), aggregator.functions.description().call()) == (8, "ETH / USD")
    assert aggregator.functions.version().call() == 1
    first = aggregator.functions.getRoundData(1).call()
    assert first[:2] == [1, 3000 * 10**8] and first[2] == first[3] and first[4] == 1
    confirmed = owner.transact(aggregator.functions.setAnswer(3100 * 10**8), what="new round")
    (event,) = events(aggregator.events.AnswerUpdated(), confirmed)
    stamp = block_time(w3, confirmed)
    assert dict(event["args"]) == {"current": 3100 * 10**8, "roundId": 2, "updatedAt": stamp}
    assert aggregator.functions.latestRoundData().call() == [2, 3100 * 10**8, stamp, stamp, 2]
    assert aggregator.functions.latestRound().call() == 2
    # Earlier rounds stay readable: a proof names the round it used.
    assert aggregator.functions.getRoundData(1).call()[1] == 3000 * 10**8
    owner.transact(aggregator.functions.setAnswerAt(7, 1234), what="round with an old time")
    assert aggregator.functions.getRoundData(3).call() == [3, 7, 1234, 1234, 3]
    for missing in (0, 4):
        assert view_error(aggregator.functions.getRoundData(missing)) == err("ExampleAggregatorUnknownRound", missing)
    for call in (aggregator.functions.setAnswer(1), aggregator.functions.setAnswerAt(1, 1)):
        assert rejected(outsider, call) == err("ExampleAggregatorNotOwner", outsider.account.address)


def test_aggregator_input_is_read_at_the_named_round(
    w3: Web3,
    oracle: ZkOracle,
    owner: TransactionSender,
    outsider: TransactionSender,
    stub_verifiers: dict[bool, str],
) -> None:
    aggregator = deploy_aggregator(owner, 3000 * 10**8)
    register_aggregator_feed(oracle, owner, stub_verifiers[True], aggregator.address, scale=7)
    first = quantize(3000 * 10**8, decimals=8, scale=7)
    outsider.transact(oracle.submit(KEY, stub_proof(), stub_instances(oracle, first, 7), at_round(1)), what="round 1")
    # The source moves on; a proof of its round 1 is still about round 1 (while not too old).
    owner.transact(aggregator.functions.setAnswer(3100 * 10**8), what="source round 2")
    outsider.transact(oracle.submit(KEY, stub_proof(), stub_instances(oracle, first, 7), at_round(1)), what="again")
    # Naming round 2 takes round 2's value, and no other.
    second = quantize(3100 * 10**8, decimals=8, scale=7)
    wrong = oracle.submit(KEY, stub_proof(), stub_instances(oracle, first, 7), at_round(2))
    assert rejected(outsider, wrong) == err("ZkOracleOnchainInputMismatch", KEY, 0, second, first)
    outsider.transact(oracle.submit(KEY, stub_proof(), stub_instances(oracle, second, 7), at_round(2)), what="round 2")
    assert oracle.latest_round_id(KEY) == RoundId(1, 3)


def test_aggregator_round_must_be_named_once_per_input(
    oracle: ZkOracle, owner: TransactionSender, outsider: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    aggregator = deploy_aggregator(owner, 3000 * 10**8)
    register_aggregator_feed(oracle, owner, stub_verifiers[True], aggregator.address, scale=7)
    value = quantize(3000 * 10**8, decimals=8, scale=7)
    for rounds in ((), (1, 1)):
        call = oracle.submit(KEY, stub_proof(), stub_instances(oracle, value, 7), InputEvidence(source_rounds=rounds))
        assert rejected(outsider, call) == err("ZkOracleSourceRoundCountMismatch", KEY, 1, len(rounds))


def test_aggregator_round_older_than_the_inputs_max_age_is_refused(
    w3: Web3,
    oracle: ZkOracle,
    owner: TransactionSender,
    outsider: TransactionSender,
    stub_verifiers: dict[bool, str],
) -> None:
    aggregator = deploy_aggregator(owner, 3000 * 10**8)
    register_aggregator_feed(oracle, owner, stub_verifiers[True], aggregator.address, scale=7)
    value = quantize(3000 * 10**8, decimals=8, scale=7)
    now = int(w3.eth.get_block("latest")["timestamp"])
    too_old = now - AGGREGATOR_MAX_AGE - 100
    owner.transact(aggregator.functions.setAnswerAt(3000 * 10**8, too_old), what="stale source round")
    call = oracle.submit(KEY, stub_proof(), stub_instances(oracle, value, 7), at_round(2))
    latest = int(w3.eth.get_block("latest")["timestamp"])
    assert rejected(outsider, call) == err("ZkOracleOnchainInputTooOld", KEY, 0, too_old, latest - AGGREGATOR_MAX_AGE)
    # A source round dated after the block is no fresher: it is refused alike.
    ahead = latest + 3600
    owner.transact(aggregator.functions.setAnswerAt(3000 * 10**8, ahead), what="source round from the future")
    call = oracle.submit(KEY, stub_proof(), stub_instances(oracle, value, 7), at_round(3))
    latest = int(w3.eth.get_block("latest")["timestamp"])
    assert rejected(outsider, call) == err("ZkOracleOnchainInputTooOld", KEY, 0, ahead, latest - AGGREGATOR_MAX_AGE)
    assert oracle.latest_round_id(KEY) is None


@pytest.mark.parametrize("case", ["unknown round", "round without time", "reverting aggregator"])
def test_unavailable_aggregator_round_is_refused(
    oracle: ZkOracle,
    owner: TransactionSender,
    outsider: TransactionSender,
    stub_verifiers: dict[bool, str],
    case: str,
) -> None:
    if case == "reverting aggregator":
        address, source_round = deploy(owner, helper_contracts()["RevertingAggregator"]).address, 1
    else:
        aggregator = deploy_aggregator(owner, 3000 * 10**8)
        address, source_round = aggregator.address, 9
        if case == "round without time":
            owner.transact(aggregator.functions.setAnswerAt(3000 * 10**8, 0), what="round without time")
            source_round = 2
    register_aggregator_feed(oracle, owner, stub_verifiers[True], address, scale=7)
    value = quantize(3000 * 10**8, decimals=8, scale=7)
    call = oracle.submit(KEY, stub_proof(), stub_instances(oracle, value, 7), at_round(source_round))
    assert rejected(outsider, call) == err("ZkOracleOnchainInputUnavailable", KEY, 0, address)


def test_a_price_of_real_magnitude_needs_an_input_scale_that_fits(
    oracle: ZkOracle, owner: TransactionSender, outsider: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    # ETH / USD at 3,000 with 8 decimals: 3000 * 2**7 = 384,000 grid steps fit EZKL's exact
    # f32 range (2**24); at scale 13 they would be 24,576,000, beyond it.
    price = 3000 * 10**8
    aggregator = deploy_aggregator(owner, price)
    register_aggregator_feed(oracle, owner, stub_verifiers[True], aggregator.address, scale=7)
    assert quantize(price, decimals=8, scale=7) == 3000 * 2**7 < MAX_EXACT_STEPS
    call = oracle.submit(KEY, stub_proof(), stub_instances(oracle, 3000 * 2**7, 7, answer=3000 * 2**7), at_round(1))
    outsider.transact(call, what="3,000 USD at scale 7")
    assert oracle.latest_round_data(KEY).answer == price

    too_fine = feed_key("scale 13")
    config = replace(oracle.circuit(KEY)[1], input_scale=13)
    register(owner, oracle, too_fine, feed_params(policy=InputPolicy.ONCHAIN, permissionless=True), config)
    assert 3000 * 2**13 >= MAX_EXACT_STEPS
    instances = [3000 * 2**13, *limb_instances(stub_time(oracle.w3), scale=13), 0]
    call = oracle.submit(too_fine, stub_proof(), instances, at_round(1))
    assert rejected(outsider, call) == err("ZkOracleOnchainInputOutOfRange", too_fine, 0, price)
