"""On-chain inputs: ZkOracle reads a declared view during `submit` and requires the proof to be about it.

A real proof of the demo model whose first price an ExampleValueSource holds shows the
binding end to end; stub feeds check the quantisation against exact numbers, including the
limits where it overflows.
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
    circuit,
    deploy,
    err,
    events,
    feed_params,
    helper_contracts,
    onchain_input,
    quantize,
    register,
    rejected,
    stub_proof,
    submit,
)

from oracle.evm.contracts import feed_key, project_contracts
from oracle.evm.zkoracle import FIELD_MODULUS, CircuitConfig, RoundId, ZkOracle
from relayer.sender import TransactionSender

KEY = feed_key("onchain")
FIRST_PRICE = 2038.5  # both session demo proofs start with it (conftest.FIRST_PRICES / SECOND_PRICES)
SCALE = 13
# ZkOracle.MAX_EXACT_INPUT_STEPS: EZKL reads inputs as f32, exact only below 2**24 grid steps.
MAX_EXACT_STEPS = 2**24


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
    submit(relayer, oracle, KEY, first_proof)

    # The value moves after the proof was made: the proof is now about a stale input.
    moved = on_chain + 10 ** (decimals - 1)
    owner.transact(source.functions.setValue(moved), what="move the value")
    call = oracle.submit(KEY, second_proof.proof_bytes, second_proof.instances)
    assert rejected(relayer, call) == err(
        "ZkOracleOnchainInputMismatch",
        KEY,
        0,
        quantize(moved, decimals=decimals, scale=SCALE),
        second_proof.instances[0],
    )
    owner.transact(source.functions.setValue(on_chain), what="restore the value")
    submit(relayer, oracle, KEY, second_proof)
    assert oracle.latest_round_id(KEY) == RoundId(1, 2)


@pytest.mark.parametrize("target", ["account without code", "missing function", "reverting view", "wide answer"])
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
    if target == "account without code":
        address = outsider.account.address
    elif target == "missing function":
        address = value_source(owner, 0).address
        selector = bytes(Web3.keccak(text="latestAnswer()"))[:4]
    else:
        address = deploy(
            owner, helper_contracts()["RevertingSource" if target == "reverting view" else "WideSource"]
        ).address
    config = replace(demo_config, onchain_inputs=(onchain_input(address, decimals=1, index=0, selector=selector),))
    register(owner, oracle, KEY, feed_params(), config, submitters=(relayer.account.address,))
    call = oracle.submit(KEY, first_proof.proof_bytes, first_proof.instances)
    assert rejected(relayer, call) == err("ZkOracleOnchainInputUnavailable", KEY, address, selector)


# --- quantisation, exactly (stub verifier) ---------------------------------------------------


def register_stub_feed(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, verifier: str, *, decimals: int, scale: int
) -> Contract:
    """A feed with instances ``[input, answer]`` whose input comes from a fresh value source."""
    source = value_source(owner, 0)
    config = circuit(
        verifier,
        instance_count=2,
        input_count=1,
        output_index=1,
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
    assert rejected(relayer, oracle.submit(KEY, stub_proof(), [off_by_one, 0])) == err(
        "ZkOracleOnchainInputMismatch", KEY, 0, expected, off_by_one
    )
    relayer.transact(oracle.submit(KEY, stub_proof(), [expected, 0]), what="submit matching input")
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
    call = oracle.submit(KEY, stub_proof(), [quantize(value, decimals=decimals, scale=scale) % FIELD_MODULUS, 0])
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
    call = oracle.submit(KEY, stub_proof(), [0, 0])
    # Too large even to scale is beyond the exact range too: the input's own error, not the answer's.
    assert rejected(relayer, call) == err("ZkOracleOnchainInputOutOfRange", KEY, 0, value)
