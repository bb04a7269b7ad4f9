"""ZkOracle administration: roles, registration, rotation, pausing, heartbeat, submitters, and their checks.

None of these needs a real proof: submissions here go to stub verifiers, whose verdict is
fixed, so each test isolates the administrative rule it names.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from zkoracle_testkit import (
    DEFAULT_ADMIN_ROLE,
    OPERATOR,
    OPERATOR_ROLE,
    ZERO_ADDRESS,
    as_stored,
    circuit,
    deploy_oracle_with_receipt,
    err,
    events,
    feed_params,
    make_sender,
    normalise,
    onchain_input,
    register,
    rejected,
    round_id,
    stub_proof,
    submit_call,
    timed_circuit,
    view_error,
)

from oracle.deployments.contracts import feed_params as spec_feed_params
from oracle.evm.contracts import ORACLE, contract_factory, feed_key
from oracle.feeds.schema import FeedSpec
from relayer.sender import TransactionSender

KEY = feed_key("admin-test")


@pytest.fixture
def stub_key(
    oracle: Contract, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> bytes:
    """A registered allow-listed feed whose single instance is its answer, the relayer allowed."""
    register(owner, oracle, KEY, feed_params(), circuit(stub_verifiers[True]), submitters=(relayer.account.address,))
    return KEY


def stub_submit(oracle: Contract, key: bytes, answer: int = 1) -> ContractFunction:
    return submit_call(oracle, key, stub_proof(), [answer])


# --- roles -----------------------------------------------------------------------------------


def test_constructor_grants_admin_and_operator_to_the_admin(w3: Web3, owner: TransactionSender) -> None:
    admin = make_sender(w3, OPERATOR).account.address
    oracle, confirmed = deploy_oracle_with_receipt(owner, admin)
    granted = [
        (event["args"]["role"], event["args"]["account"], event["args"]["sender"])
        for event in events(oracle.events.RoleGranted(), confirmed)
    ]
    # OpenZeppelin's RoleGranted, with the deployer as sender: the admin need not deploy.
    assert granted == [
        (DEFAULT_ADMIN_ROLE, admin, owner.account.address),
        (OPERATOR_ROLE, admin, owner.account.address),
    ]
    assert oracle.functions.OPERATOR_ROLE().call() == OPERATOR_ROLE
    assert oracle.functions.hasRole(DEFAULT_ADMIN_ROLE, admin).call() is True
    assert oracle.functions.hasRole(OPERATOR_ROLE, admin).call() is True
    assert oracle.functions.hasRole(OPERATOR_ROLE, owner.account.address).call() is False


def test_constructor_refuses_the_zero_admin(w3: Web3, owner: TransactionSender) -> None:
    # An oracle nobody administers could never register a feed.
    assert rejected(owner, contract_factory(w3, ORACLE).constructor(ZERO_ADDRESS)) == err("ZkOracleZeroAddress")


@pytest.mark.parametrize("action", ["registerFeed", "rotateFeed", "setPaused", "setHeartbeat", "setSubmitter"])
def test_only_operators_administer_feeds(
    oracle: Contract,
    stub_key: bytes,
    outsider: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    action: str,
) -> None:
    address = outsider.account.address
    other = circuit(stub_verifiers[False])
    calls: dict[str, Callable[[], ContractFunction]] = {
        "registerFeed": lambda: oracle.functions.registerFeed(feed_key("intruder"), feed_params(), other),
        "rotateFeed": lambda: oracle.functions.rotateFeed(stub_key, other),
        "setPaused": lambda: oracle.functions.setPaused(stub_key, True),
        "setHeartbeat": lambda: oracle.functions.setHeartbeat(stub_key, 1),
        "setSubmitter": lambda: oracle.functions.setSubmitter(stub_key, address, True),
    }
    # A submitter is no operator either: the relayer's key is the one most exposed.
    for intruder in (outsider, relayer):
        expected = err("AccessControlUnauthorizedAccount", intruder.account.address, OPERATOR_ROLE)
        assert rejected(intruder, calls[action]()) == expected
    # Nothing changed.
    assert oracle.functions.getCircuit(stub_key).call()[0] == 1
    assert oracle.functions.isPaused(stub_key).call() is False
    assert oracle.functions.getFeedParams(stub_key).call() == feed_params()
    assert oracle.functions.isSubmitter(stub_key, address).call() is False
    intruder_key = feed_key("intruder")
    assert view_error(oracle.functions.getFeedParams(intruder_key)) == err("ZkOracleUnknownFeed", intruder_key)


def test_admin_grants_and_revokes_the_operator_role(
    w3: Web3, oracle: Contract, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    operator = make_sender(w3, OPERATOR)
    address = operator.account.address
    confirmed = owner.transact(oracle.functions.grantRole(OPERATOR_ROLE, address), what="grant operator")
    (event,) = events(oracle.events.RoleGranted(), confirmed)
    assert (event["args"]["role"], event["args"]["account"]) == (OPERATOR_ROLE, address)
    operator.transact(
        oracle.functions.registerFeed(KEY, feed_params(), circuit(stub_verifiers[True])), what="register as operator"
    )
    # Operating feeds does not make one an admin: the operator cannot hand out roles.
    assert rejected(operator, oracle.functions.grantRole(OPERATOR_ROLE, operator.account.address)) == err(
        "AccessControlUnauthorizedAccount", address, DEFAULT_ADMIN_ROLE
    )
    owner.transact(oracle.functions.revokeRole(OPERATOR_ROLE, address), what="revoke operator")
    assert rejected(operator, oracle.functions.setPaused(KEY, True)) == err(
        "AccessControlUnauthorizedAccount", address, OPERATOR_ROLE
    )


# --- registration ----------------------------------------------------------------------------


def test_registering_stores_and_announces_the_feed(
    oracle: Contract, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    params = feed_params(decimals=6, heartbeat=3600, max_age=90, description="BTC / USD forecast")
    config = timed_circuit(stub_verifiers[True], commitment=b"\x11" * 32)
    confirmed = register(owner, oracle, KEY, params, config)

    (registered,) = events(oracle.events.FeedRegistered(), confirmed)
    assert dict(registered["args"]) == {
        "feedId": KEY,
        "decimals": 6,
        "permissionless": False,
        "description": "BTC / USD forecast",
    }
    # Registration starts phase 1, announced like every later rotation.
    (rotated,) = events(oracle.events.FeedRotated(), confirmed)
    assert dict(rotated["args"]) == {
        "feedId": KEY,
        "phaseId": 1,
        "verifier": stub_verifiers[True],
        "modelCommitment": b"\x11" * 32,
    }

    assert oracle.functions.getFeedParams(KEY).call() == params
    phase, stored = oracle.functions.getCircuit(KEY).call()
    assert (phase, normalise(stored)) == (1, as_stored(config))
    assert normalise(oracle.functions.getPhaseCircuit(KEY, 1).call()) == as_stored(config)
    assert oracle.functions.isPaused(KEY).call() is False
    assert oracle.functions.latestRoundId(KEY).call() == 0
    # An allow-listed feed starts with nobody allowed, its operator included.
    assert oracle.functions.isSubmitter(KEY, owner.account.address).call() is False


def test_registering_with_the_deployers_tuples(
    oracle: Contract, owner: TransactionSender, demo_spec: FeedSpec, demo_config: tuple, demo_verifier: str
) -> None:
    # The deployer's tuples must match the contract's structs field by field.
    params = spec_feed_params(demo_spec)
    register(owner, oracle, KEY, params, demo_config)
    assert oracle.functions.getFeedParams(KEY).call() == (
        demo_spec.decimals,
        demo_spec.onchain.heartbeat_seconds,
        demo_spec.onchain.max_observation_age_seconds,
        False,
        demo_spec.description,
    )
    phase, stored = oracle.functions.getCircuit(KEY).call()
    assert (phase, normalise(stored)) == (1, as_stored(demo_config))
    verifier, _commitment, *layout = normalise(stored)
    # 4 prices and 3 time limbs in, the forecast out; the time limbs follow the prices.
    assert (verifier, layout) == (demo_verifier, [8, 7, 7, 13, 13, True, 4, [], []])


def test_permissionless_feed_admits_anyone(
    oracle: Contract, owner: TransactionSender, outsider: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    confirmed = register(owner, oracle, KEY, feed_params(permissionless=True), timed_circuit(stub_verifiers[True]))
    (event,) = events(oracle.events.FeedRegistered(), confirmed)
    assert event["args"]["permissionless"] is True
    assert oracle.functions.isSubmitter(KEY, outsider.account.address).call() is True
    assert oracle.functions.isSubmitter(KEY, ZERO_ADDRESS).call() is True


def test_feed_cannot_be_registered_twice(
    oracle: Contract, stub_key: bytes, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    # Re-registering would swap a live feed's verifier without a phase, under its consumers.
    replacement = circuit(stub_verifiers[False])
    assert rejected(owner, oracle.functions.registerFeed(stub_key, feed_params(), replacement)) == err(
        "ZkOracleFeedAlreadyRegistered", stub_key
    )
    assert normalise(oracle.functions.getCircuit(stub_key).call()[1]) == as_stored(circuit(stub_verifiers[True]))


def test_zero_addresses_are_refused(
    oracle: Contract, stub_key: bytes, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    other = feed_key("other")
    no_verifier = circuit(ZERO_ADDRESS)
    assert rejected(owner, oracle.functions.registerFeed(other, feed_params(), no_verifier)) == err(
        "ZkOracleZeroAddress"
    )
    assert rejected(owner, oracle.functions.rotateFeed(stub_key, no_verifier)) == err("ZkOracleZeroAddress")
    no_target = circuit(
        stub_verifiers[True],
        instance_count=2,
        input_count=1,
        output_index=1,
        onchain_inputs=(onchain_input(ZERO_ADDRESS, decimals=8, index=0),),
    )
    assert rejected(owner, oracle.functions.registerFeed(other, feed_params(), no_target)) == err("ZkOracleZeroAddress")
    assert view_error(oracle.functions.getFeedParams(other)) == err("ZkOracleUnknownFeed", other)
    assert oracle.functions.getCircuit(stub_key).call()[0] == 1


@pytest.mark.parametrize(
    ("instance_count", "input_count", "output_index"),
    [
        (8, 7, 8),  # one past the last instance
        (8, 7, 2**32 - 1),
        (0, 0, 0),  # no instances at all
        (8, 7, 6),  # the answer would be a model input, which the submitter chooses
    ],
)
def test_output_index_must_address_an_output_instance(
    oracle: Contract,
    stub_key: bytes,
    owner: TransactionSender,
    stub_verifiers: dict[bool, str],
    instance_count: int,
    input_count: int,
    output_index: int,
) -> None:
    config = circuit(
        stub_verifiers[True], instance_count=instance_count, input_count=input_count, output_index=output_index
    )
    other = feed_key("other")
    assert rejected(owner, oracle.functions.registerFeed(other, feed_params(), config)) == err(
        "ZkOracleOutputIndexOutOfRange", other, output_index, instance_count
    )
    assert rejected(owner, oracle.functions.rotateFeed(stub_key, config)) == err(
        "ZkOracleOutputIndexOutOfRange", stub_key, output_index, instance_count
    )
    assert view_error(oracle.functions.getFeedParams(other)) == err("ZkOracleUnknownFeed", other)
    assert oracle.functions.getCircuit(stub_key).call()[0] == 1


@pytest.mark.parametrize(
    ("overrides", "index", "input_count"),
    [
        # The three time limbs must lie among the inputs.
        ({"instance_count": 8, "input_count": 7, "output_index": 7, "observed_at_index": 5}, 5, 7),
        ({"instance_count": 3, "input_count": 2, "output_index": 2, "observed_at_index": 0}, 0, 2),
        ({"instance_count": 8, "input_count": 7, "output_index": 7, "observed_at_index": 2**32 - 1}, 2**32 - 1, 7),
    ],
)
def test_observation_time_limbs_must_be_inputs(
    oracle: Contract,
    owner: TransactionSender,
    stub_verifiers: dict[bool, str],
    overrides: dict[str, int],
    index: int,
    input_count: int,
) -> None:
    config = timed_circuit(stub_verifiers[True], **overrides)
    assert rejected(owner, oracle.functions.registerFeed(KEY, feed_params(), config)) == err(
        "ZkOracleInputIndexOutOfRange", KEY, index, input_count
    )
    # The last three inputs are the last place the limbs fit.
    fits = timed_circuit(stub_verifiers[True], instance_count=8, input_count=7, output_index=7, observed_at_index=4)
    register(owner, oracle, KEY, feed_params(), fits)


def test_onchain_input_must_be_a_model_input(
    oracle: Contract, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    def with_input_at(index: int) -> tuple:
        source = onchain_input(stub_verifiers[True], decimals=8, index=index)
        return circuit(stub_verifiers[True], instance_count=3, input_count=2, output_index=2, onchain_inputs=(source,))

    assert rejected(owner, oracle.functions.registerFeed(KEY, feed_params(), with_input_at(2))) == err(
        "ZkOracleInputIndexOutOfRange", KEY, 2, 2
    )
    register(owner, oracle, KEY, feed_params(), with_input_at(1))
    assert normalise(oracle.functions.getCircuit(KEY).call()[1]) == as_stored(with_input_at(1))


@pytest.mark.parametrize(
    ("params", "overrides", "expected"),
    [
        # The error names the offending scale and the decimals at stake.
        (feed_params(decimals=37), {}, (13, 37)),
        (feed_params(decimals=255), {}, (13, 255)),
        (feed_params(), {"output_scale": 65}, (65, 8)),
        (feed_params(), {"output_scale": 255}, (255, 8)),
        (feed_params(), {"input_scale": 65}, (65, 8)),
    ],
)
def test_scales_and_decimals_are_bounded(
    oracle: Contract,
    owner: TransactionSender,
    stub_verifiers: dict[bool, str],
    params: tuple,
    overrides: dict[str, int],
    expected: tuple[int, int],
) -> None:
    config = circuit(stub_verifiers[True], **overrides)
    assert rejected(owner, oracle.functions.registerFeed(KEY, params, config)) == err(
        "ZkOracleUnsupportedScale", KEY, *expected
    )
    assert view_error(oracle.functions.getFeedParams(KEY)) == err("ZkOracleUnknownFeed", KEY)


def test_onchain_input_decimals_are_bounded(
    oracle: Contract, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    def with_decimals(decimals: int) -> tuple:
        source = onchain_input(stub_verifiers[True], decimals=decimals, index=0)
        return circuit(stub_verifiers[True], instance_count=2, input_count=1, output_index=1, onchain_inputs=(source,))

    assert rejected(owner, oracle.functions.registerFeed(KEY, feed_params(), with_decimals(37))) == err(
        "ZkOracleUnsupportedScale", KEY, 13, 37
    )
    register(owner, oracle, KEY, feed_params(), with_decimals(36))


def test_widest_scales_and_decimals_are_accepted(
    oracle: Contract, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    config = circuit(stub_verifiers[True], input_scale=64, output_scale=64)
    register(owner, oracle, KEY, feed_params(decimals=36), config)
    assert oracle.functions.getFeedParams(KEY).call()[0] == 36
    assert normalise(oracle.functions.getCircuit(KEY).call()[1]) == as_stored(config)


def test_permissionless_feed_requires_a_proven_observation_time(
    oracle: Contract, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    # Without it anyone could replay old inputs with a fresh proof.
    params = feed_params(permissionless=True)
    untimed = circuit(stub_verifiers[True])
    assert rejected(owner, oracle.functions.registerFeed(KEY, params, untimed)) == err("ZkOracleFreshnessRequired", KEY)
    register(owner, oracle, KEY, params, timed_circuit(stub_verifiers[True]))
    # Nor can a rotation drop the time later.
    assert rejected(owner, oracle.functions.rotateFeed(KEY, untimed)) == err("ZkOracleFreshnessRequired", KEY)
    assert oracle.functions.getCircuit(KEY).call()[0] == 1


# --- unknown feeds ---------------------------------------------------------------------------


def test_unknown_feed_is_refused_by_every_function(
    oracle: Contract, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    key = feed_key("nowhere")
    expected = err("ZkOracleUnknownFeed", key)
    for sender, call in (
        (owner, oracle.functions.rotateFeed(key, circuit(stub_verifiers[True]))),
        (owner, oracle.functions.setPaused(key, True)),
        (owner, oracle.functions.setHeartbeat(key, 60)),
        (owner, oracle.functions.setSubmitter(key, relayer.account.address, True)),
        (relayer, stub_submit(oracle, key)),
    ):
        assert rejected(sender, call) == expected
    for view in (
        oracle.functions.getFeedParams(key),
        oracle.functions.getCircuit(key),
        oracle.functions.getPhaseCircuit(key, 1),
        oracle.functions.isPaused(key),
        oracle.functions.isSubmitter(key, relayer.account.address),
        oracle.functions.latestRoundData(key),
        oracle.functions.latestRoundDataNoOlderThan(key, 2**256 - 1),
        oracle.functions.getRoundData(key, round_id(1, 1)),
        oracle.functions.getRound(key, round_id(1, 1)),
        oracle.functions.latestRoundId(key),
    ):
        assert view_error(view) == expected


# --- pausing, heartbeat, submitters ----------------------------------------------------------


def test_paused_feed_refuses_submissions_but_serves_reads(
    oracle: Contract, stub_key: bytes, owner: TransactionSender, relayer: TransactionSender
) -> None:
    relayer.transact(stub_submit(oracle, stub_key, 5), what="submit before pausing")
    for paused in (True, False):
        confirmed = owner.transact(oracle.functions.setPaused(stub_key, paused), what="set paused")
        (event,) = events(oracle.events.FeedPausedSet(), confirmed)
        assert dict(event["args"]) == {"feedId": stub_key, "paused": paused}
        assert oracle.functions.isPaused(stub_key).call() is paused
        if paused:
            assert rejected(relayer, stub_submit(oracle, stub_key, 6)) == err("ZkOracleFeedPaused", stub_key)
            assert oracle.functions.latestRoundData(stub_key).call()[0] == round_id(1, 1)
    relayer.transact(stub_submit(oracle, stub_key, 7), what="submit after resuming")
    assert oracle.functions.latestRoundId(stub_key).call() == round_id(1, 2)


def test_heartbeat_can_be_changed(oracle: Contract, stub_key: bytes, owner: TransactionSender) -> None:
    for heartbeat in (3600, 0, 2**32 - 1):
        confirmed = owner.transact(oracle.functions.setHeartbeat(stub_key, heartbeat), what="set heartbeat")
        (event,) = events(oracle.events.HeartbeatSet(), confirmed)
        assert dict(event["args"]) == {"feedId": stub_key, "heartbeat": heartbeat}
        # Only the heartbeat changes; the rest of what the feed promises stays fixed.
        assert oracle.functions.getFeedParams(stub_key).call() == feed_params(heartbeat=heartbeat)


def test_submitters_are_allowed_and_disallowed(
    oracle: Contract,
    stub_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    outsider: TransactionSender,
) -> None:
    candidate = outsider.account.address
    assert rejected(outsider, stub_submit(oracle, stub_key)) == err(
        "ZkOracleUnauthorizedSubmitter", stub_key, candidate
    )
    # Operators administer; they do not submit unless allowed like anyone else.
    assert rejected(owner, stub_submit(oracle, stub_key)) == err(
        "ZkOracleUnauthorizedSubmitter", stub_key, owner.account.address
    )
    for allowed in (True, False):
        confirmed = owner.transact(oracle.functions.setSubmitter(stub_key, candidate, allowed), what="set submitter")
        (event,) = events(oracle.events.SubmitterUpdated(), confirmed)
        assert dict(event["args"]) == {"feedId": stub_key, "submitter": candidate, "allowed": allowed}
        assert oracle.functions.isSubmitter(stub_key, candidate).call() is allowed
        if allowed:
            outsider.transact(stub_submit(oracle, stub_key), what="submit as newly allowed")
    assert rejected(outsider, stub_submit(oracle, stub_key)) == err(
        "ZkOracleUnauthorizedSubmitter", stub_key, candidate
    )
    owner.transact(oracle.functions.setSubmitter(stub_key, relayer.account.address, False), what="revoke relayer")
    assert rejected(relayer, stub_submit(oracle, stub_key)) == err(
        "ZkOracleUnauthorizedSubmitter", stub_key, relayer.account.address
    )
    assert oracle.functions.latestRoundId(stub_key).call() == round_id(1, 1)


# --- rotation --------------------------------------------------------------------------------


def test_rotation_starts_a_new_phase_and_keeps_the_old_circuit_readable(
    oracle: Contract,
    stub_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
) -> None:
    first = circuit(stub_verifiers[True])
    second = circuit(stub_verifiers[True], commitment=b"\x22" * 32, output_scale=10)
    relayer.transact(stub_submit(oracle, stub_key, 1 << 13), what="phase 1 round")

    rotate = oracle.functions.rotateFeed(stub_key, second)
    assert rotate.call({"from": owner.account.address}) == 2
    confirmed = owner.transact(rotate, what="rotate")
    (event,) = events(oracle.events.FeedRotated(), confirmed)
    assert dict(event["args"]) == {
        "feedId": stub_key,
        "phaseId": 2,
        "verifier": stub_verifiers[True],
        "modelCommitment": b"\x22" * 32,
    }
    assert not events(oracle.events.FeedRegistered(), confirmed)

    phase, current = oracle.functions.getCircuit(stub_key).call()
    assert (phase, normalise(current)) == (2, as_stored(second))
    assert normalise(oracle.functions.getPhaseCircuit(stub_key, 1).call()) == as_stored(first)
    assert normalise(oracle.functions.getPhaseCircuit(stub_key, 2).call()) == as_stored(second)
    # A phase that does not exist yet, or phase 0, reads like an unknown round of that phase.
    for missing in (0, 3):
        assert view_error(oracle.functions.getPhaseCircuit(stub_key, missing)) == err(
            "ZkOracleUnknownRound", stub_key, round_id(missing, 0)
        )

    # Submissions now follow the new circuit: the same instance means another answer at scale 10.
    relayer.transact(stub_submit(oracle, stub_key, 1 << 13), what="phase 2 round")
    assert oracle.functions.latestRoundData(stub_key).call()[:2] == [round_id(2, 1), 8 * 10**8]
    assert oracle.functions.getRoundData(stub_key, round_id(1, 1)).call()[1] == 10**8
