"""ZkOracle administration: roles, registration, rotation, pausing, heartbeat, submitters, and their checks.

None of these needs a real proof: submissions here go to stub verifiers, whose verdict is
fixed, so each test isolates the administrative rule it names.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web3 import Web3
from web3.contract.contract import ContractFunction
from zkoracle_testkit import (
    DEFAULT_ADMIN_ROLE,
    OPERATOR,
    OPERATOR_ROLE,
    ZERO_ADDRESS,
    aggregator_input,
    block_time,
    circuit,
    deploy_oracle_with_receipt,
    err,
    events,
    feed_params,
    increase_time,
    make_sender,
    onchain_input,
    register,
    rejected,
    rotate,
    stub_proof,
    timed,
    timed_circuit,
    view_error,
)

from oracle.deployments.contracts import oracle_constructor
from oracle.evm.contracts import feed_key
from oracle.evm.zkoracle import CircuitConfig, FeedParams, InputPolicy, RoundId, ZkOracle
from oracle.feeds.schema import FeedSpec
from relayer.sender import TransactionSender

KEY = feed_key("admin-test")


@pytest.fixture
def stub_key(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> bytes:
    """A registered allow-listed feed ``[limb0, limb1, limb2, answer]``, the relayer allowed."""
    register(owner, oracle, KEY, feed_params(), circuit(stub_verifiers[True]), submitters=(relayer.account.address,))
    return KEY


def stub_submit(oracle: ZkOracle, key: bytes, answer: int = 1) -> ContractFunction:
    """A stub round observed at a fresh time."""
    return oracle.submit(key, stub_proof(), timed(oracle.w3, answer))


# --- roles -----------------------------------------------------------------------------------


def test_constructor_grants_admin_and_operator_to_the_admin(w3: Web3, owner: TransactionSender) -> None:
    admin = make_sender(w3, OPERATOR).account.address
    oracle, confirmed = deploy_oracle_with_receipt(owner, admin)
    roles = oracle.contract  # AccessControl's roles and events are not the binding's
    granted = [
        (event["args"]["role"], event["args"]["account"], event["args"]["sender"])
        for event in events(roles.events.RoleGranted(), confirmed)
    ]
    # OpenZeppelin's RoleGranted, with the deployer as sender: the admin need not deploy.
    assert granted == [
        (DEFAULT_ADMIN_ROLE, admin, owner.account.address),
        (OPERATOR_ROLE, admin, owner.account.address),
    ]
    assert roles.functions.OPERATOR_ROLE().call() == OPERATOR_ROLE
    assert roles.functions.hasRole(DEFAULT_ADMIN_ROLE, admin).call() is True
    assert roles.functions.hasRole(OPERATOR_ROLE, admin).call() is True
    assert roles.functions.hasRole(OPERATOR_ROLE, owner.account.address).call() is False


def test_constructor_refuses_the_zero_admin(w3: Web3, owner: TransactionSender) -> None:
    # An oracle nobody administers could never register a feed (OpenZeppelin's own check).
    constructor = oracle_constructor(owner, ZERO_ADDRESS, 0, 0)
    assert rejected(owner, constructor) == err("AccessControlInvalidDefaultAdmin", ZERO_ADDRESS)


@pytest.mark.parametrize(
    "action",
    [
        "registerFeed",
        "proposeRotation",
        "executeRotation",
        "cancelRotation",
        "setPaused",
        "setHalted",
        "setHeartbeat",
        "setSubmitter",
        "setAttesters",
    ],
)
def test_only_operators_administer_feeds(
    oracle: ZkOracle,
    stub_key: bytes,
    outsider: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    action: str,
) -> None:
    address = outsider.account.address
    other = circuit(stub_verifiers[False])
    calls: dict[str, Callable[[], ContractFunction]] = {
        "registerFeed": lambda: oracle.register_feed(feed_key("intruder"), feed_params(), other),
        "proposeRotation": lambda: oracle.propose_rotation(stub_key, other),
        "executeRotation": lambda: oracle.execute_rotation(stub_key),
        "cancelRotation": lambda: oracle.cancel_rotation(stub_key),
        "setPaused": lambda: oracle.set_paused(stub_key, True),
        "setHalted": lambda: oracle.set_halted(stub_key, True),
        "setAttesters": lambda: oracle.set_attesters(stub_key, [address], 1),
        "setHeartbeat": lambda: oracle.set_heartbeat(stub_key, 1),
        "setSubmitter": lambda: oracle.set_submitter(stub_key, address, True),
    }
    # A submitter is no operator either: the relayer's key is the one most exposed.
    for intruder in (outsider, relayer):
        expected = err("AccessControlUnauthorizedAccount", intruder.account.address, OPERATOR_ROLE)
        assert rejected(intruder, calls[action]()) == expected
    # Nothing changed.
    assert oracle.circuit(stub_key)[0] == 1
    assert oracle.pending_rotation(stub_key) is None
    assert oracle.is_paused(stub_key) is False
    assert oracle.is_halted(stub_key) is False
    assert oracle.feed_params(stub_key) == feed_params()
    assert oracle.is_submitter(stub_key, address) is False
    intruder_key = feed_key("intruder")
    assert view_error(oracle.contract.functions.getFeedParams(intruder_key)) == err("ZkOracleUnknownFeed", intruder_key)


def test_admin_grants_and_revokes_the_operator_role(
    w3: Web3, oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    operator = make_sender(w3, OPERATOR)
    address = operator.account.address
    roles = oracle.contract  # AccessControl's roles and events are not the binding's
    confirmed = owner.transact(roles.functions.grantRole(OPERATOR_ROLE, address), what="grant operator")
    (event,) = events(roles.events.RoleGranted(), confirmed)
    assert (event["args"]["role"], event["args"]["account"]) == (OPERATOR_ROLE, address)
    operator.transact(
        oracle.register_feed(KEY, feed_params(), circuit(stub_verifiers[True])), what="register as operator"
    )
    # Operating feeds does not make one an admin: the operator cannot hand out roles.
    assert rejected(operator, roles.functions.grantRole(OPERATOR_ROLE, operator.account.address)) == err(
        "AccessControlUnauthorizedAccount", address, DEFAULT_ADMIN_ROLE
    )
    owner.transact(roles.functions.revokeRole(OPERATOR_ROLE, address), what="revoke operator")
    assert rejected(operator, oracle.set_paused(KEY, True)) == err(
        "AccessControlUnauthorizedAccount", address, OPERATOR_ROLE
    )


# --- registration ----------------------------------------------------------------------------


def test_registering_stores_and_announces_the_feed(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    params = feed_params(decimals=6, heartbeat=3600, max_age=90, description="BTC / USD forecast")
    config = timed_circuit(stub_verifiers[True], commitment=b"\x11" * 32)
    confirmed = register(owner, oracle, KEY, params, config)

    (registered,) = events(oracle.contract.events.FeedRegistered(), confirmed)
    assert dict(registered["args"]) == {
        "feedId": KEY,
        "decimals": 6,
        "inputPolicy": InputPolicy.OPERATOR,
        "permissionless": False,
        "description": "BTC / USD forecast",
    }
    # Registration starts phase 1, announced like every later rotation.
    (rotated,) = events(oracle.contract.events.FeedRotated(), confirmed)
    assert dict(rotated["args"]) == {
        "feedId": KEY,
        "phaseId": 1,
        "verifier": stub_verifiers[True],
        "modelCommitment": b"\x11" * 32,
    }

    assert oracle.feed_params(KEY) == params
    assert oracle.circuit(KEY) == (1, config)
    assert oracle.phase_circuit(KEY, 1) == config
    assert oracle.is_paused(KEY) is False
    assert oracle.is_halted(KEY) is False
    assert oracle.pending_rotation(KEY) is None
    assert oracle.attesters(KEY) == ((), 0)
    assert oracle.latest_round_id(KEY) is None
    # An allow-listed feed starts with nobody allowed, its operator included.
    assert oracle.is_submitter(KEY, owner.account.address) is False


def test_registering_the_demo_circuits_layout(
    oracle: ZkOracle, owner: TransactionSender, demo_spec: FeedSpec, demo_config: CircuitConfig, demo_verifier: str
) -> None:
    params = feed_params(
        decimals=demo_spec.decimals, heartbeat=120, max_age=300, min_answer=0, max_answer=10**20, description="d"
    )
    register(owner, oracle, KEY, params, demo_config)
    assert oracle.feed_params(KEY) == params
    phase, stored = oracle.circuit(KEY)
    assert (phase, stored) == (1, demo_config)
    # 4 prices and 3 time limbs in, the forecast out; the time limbs follow the prices.
    layout = circuit(
        demo_verifier,
        commitment=stored.model_commitment,
        instance_count=8,
        input_count=7,
        output_index=7,
        input_scale=13,
        output_scale=13,
        observed_at_index=4,
    )
    assert stored == layout


@pytest.mark.parametrize("policy", [InputPolicy.ATTESTED, InputPolicy.ONCHAIN])
def test_permissionless_feed_admits_anyone(
    oracle: ZkOracle,
    owner: TransactionSender,
    outsider: TransactionSender,
    stub_verifiers: dict[bool, str],
    stub_aggregator: str,
    policy: InputPolicy,
) -> None:
    config = timed_circuit(stub_verifiers[True])
    if policy == InputPolicy.ONCHAIN:
        # [price, limb0, limb1, limb2, answer]: the one non-time input read from an aggregator.
        source = aggregator_input(stub_aggregator, decimals=8, index=0)
        config = circuit(
            stub_verifiers[True],
            instance_count=5,
            input_count=4,
            output_index=4,
            observed_at_index=1,
            onchain_inputs=(source,),
        )
    params = feed_params(policy=policy, permissionless=True)
    confirmed = register(owner, oracle, KEY, params, config)
    (event,) = events(oracle.contract.events.FeedRegistered(), confirmed)
    assert event["args"]["permissionless"] is True
    assert event["args"]["inputPolicy"] == policy
    assert oracle.feed_params(KEY) == params
    assert oracle.is_submitter(KEY, outsider.account.address) is True
    assert oracle.is_submitter(KEY, ZERO_ADDRESS) is True


def test_feed_cannot_be_registered_twice(
    oracle: ZkOracle, stub_key: bytes, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    # Re-registering would swap a live feed's verifier without a phase, under its consumers.
    replacement = circuit(stub_verifiers[False])
    assert rejected(owner, oracle.register_feed(stub_key, feed_params(), replacement)) == err(
        "ZkOracleFeedAlreadyRegistered", stub_key
    )
    assert oracle.circuit(stub_key)[1] == circuit(stub_verifiers[True])


def test_zero_addresses_are_refused(
    oracle: ZkOracle, stub_key: bytes, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    other = feed_key("other")
    no_verifier = circuit(ZERO_ADDRESS)
    assert rejected(owner, oracle.register_feed(other, feed_params(), no_verifier)) == err(
        "ZkOracleZeroVerifier", other
    )
    assert rejected(owner, oracle.propose_rotation(stub_key, no_verifier)) == err("ZkOracleZeroVerifier", stub_key)
    no_target = circuit(
        stub_verifiers[True],
        instance_count=5,
        input_count=4,
        output_index=4,
        observed_at_index=1,
        onchain_inputs=(onchain_input(ZERO_ADDRESS, decimals=8, index=0),),
    )
    assert rejected(owner, oracle.register_feed(other, feed_params(), no_target)) == err(
        "ZkOracleOnchainInputZeroTarget", other, 0
    )
    assert view_error(oracle.contract.functions.getFeedParams(other)) == err("ZkOracleUnknownFeed", other)
    assert oracle.circuit(stub_key)[0] == 1


@pytest.mark.parametrize(
    ("instance_count", "input_count", "output_index"),
    [
        # The error names the index and the range of outputs, [input_count, instance_count).
        (8, 7, 8),  # one past the last instance
        (8, 7, 2**32 - 1),
        (3, 3, 3),  # no output at all
        (8, 7, 6),  # the answer would be a model input, which the submitter chooses
    ],
)
def test_output_index_must_address_an_output_instance(
    oracle: ZkOracle,
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
    assert rejected(owner, oracle.register_feed(other, feed_params(), config)) == err(
        "ZkOracleOutputIndexOutOfRange", other, output_index, input_count, instance_count
    )
    assert rejected(owner, oracle.propose_rotation(stub_key, config)) == err(
        "ZkOracleOutputIndexOutOfRange", stub_key, output_index, input_count, instance_count
    )
    assert view_error(oracle.contract.functions.getFeedParams(other)) == err("ZkOracleUnknownFeed", other)
    assert oracle.circuit(stub_key)[0] == 1


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
    oracle: ZkOracle,
    owner: TransactionSender,
    stub_verifiers: dict[bool, str],
    overrides: dict[str, int],
    index: int,
    input_count: int,
) -> None:
    config = timed_circuit(stub_verifiers[True], **overrides)
    assert rejected(owner, oracle.register_feed(KEY, feed_params(), config)) == err(
        "ZkOracleObservedAtIndexOutOfRange", KEY, index, input_count
    )
    # The last three inputs are the last place the limbs fit.
    fits = timed_circuit(stub_verifiers[True], instance_count=8, input_count=7, output_index=7, observed_at_index=4)
    register(owner, oracle, KEY, feed_params(), fits)


def test_onchain_input_must_be_a_model_input(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    def with_input_at(index: int) -> CircuitConfig:
        source = onchain_input(stub_verifiers[True], decimals=8, index=index)
        return circuit(
            stub_verifiers[True],
            instance_count=6,
            input_count=5,
            output_index=5,
            observed_at_index=2,
            onchain_inputs=(source,),
        )

    assert rejected(owner, oracle.register_feed(KEY, feed_params(), with_input_at(5))) == err(
        "ZkOracleOnchainInputIndexOutOfRange", KEY, 5, 5
    )
    register(owner, oracle, KEY, feed_params(), with_input_at(1))
    assert oracle.circuit(KEY)[1] == with_input_at(1)


@pytest.mark.parametrize(
    ("params", "overrides", "expected"),
    [
        # The error names what is out of bounds and its value.
        (feed_params(decimals=37), {}, ("ZkOracleUnsupportedDecimals", 37)),
        (feed_params(decimals=255), {}, ("ZkOracleUnsupportedDecimals", 255)),
        (feed_params(), {"output_scale": 65}, ("ZkOracleUnsupportedScale", 65)),
        (feed_params(), {"output_scale": 255}, ("ZkOracleUnsupportedScale", 255)),
        (feed_params(), {"input_scale": 65}, ("ZkOracleUnsupportedScale", 65)),
    ],
)
def test_scales_and_decimals_are_bounded(
    oracle: ZkOracle,
    owner: TransactionSender,
    stub_verifiers: dict[bool, str],
    params: FeedParams,
    overrides: dict[str, int],
    expected: tuple[str, int],
) -> None:
    config = circuit(stub_verifiers[True], **overrides)
    name, value = expected
    assert rejected(owner, oracle.register_feed(KEY, params, config)) == err(name, KEY, value)
    assert view_error(oracle.contract.functions.getFeedParams(KEY)) == err("ZkOracleUnknownFeed", KEY)


def test_onchain_input_decimals_are_bounded(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    def with_decimals(decimals: int) -> CircuitConfig:
        source = onchain_input(stub_verifiers[True], decimals=decimals, index=0)
        return circuit(
            stub_verifiers[True],
            instance_count=5,
            input_count=4,
            output_index=4,
            observed_at_index=1,
            onchain_inputs=(source,),
        )

    assert rejected(owner, oracle.register_feed(KEY, feed_params(), with_decimals(37))) == err(
        "ZkOracleOnchainInputUnsupportedDecimals", KEY, 0, 37
    )
    register(owner, oracle, KEY, feed_params(), with_decimals(36))


def test_widest_scales_and_decimals_are_accepted(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    config = circuit(stub_verifiers[True], input_scale=64, output_scale=64)
    register(owner, oracle, KEY, feed_params(decimals=36), config)
    assert oracle.feed_params(KEY).decimals == 36
    assert oracle.circuit(KEY)[1] == config


# --- unknown feeds ---------------------------------------------------------------------------


def test_unknown_feed_is_refused_by_every_function(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    key = feed_key("nowhere")
    expected = err("ZkOracleUnknownFeed", key)
    for sender, call in (
        (owner, oracle.propose_rotation(key, circuit(stub_verifiers[True]))),
        (owner, oracle.execute_rotation(key)),
        (owner, oracle.cancel_rotation(key)),
        (owner, oracle.set_paused(key, True)),
        (owner, oracle.set_halted(key, True)),
        (owner, oracle.set_attesters(key, [relayer.account.address], 1)),
        (owner, oracle.set_heartbeat(key, 60)),
        (owner, oracle.set_submitter(key, relayer.account.address, True)),
        (relayer, stub_submit(oracle, key)),
    ):
        assert rejected(sender, call) == expected
    views = oracle.contract.functions
    first = int(RoundId(1, 1))
    for view in (
        views.getFeedParams(key),
        views.getCircuit(key),
        views.getPhaseCircuit(key, 1),
        views.getPendingRotation(key),
        views.getAttesters(key),
        views.isPaused(key),
        views.isHalted(key),
        views.isSubmitter(key, relayer.account.address),
        views.latestRoundData(key),
        views.latestRoundDataNoOlderThan(key, 2**256 - 1),
        views.getRoundData(key, first),
        views.getRound(key, first),
        views.getCoverage(key, first),
        views.latestRoundId(key),
    ):
        assert view_error(view) == expected


# --- pausing, heartbeat, submitters ----------------------------------------------------------


def test_paused_feed_refuses_submissions_but_serves_reads(
    oracle: ZkOracle, stub_key: bytes, owner: TransactionSender, relayer: TransactionSender
) -> None:
    relayer.transact(stub_submit(oracle, stub_key, 5), what="submit before pausing")
    for paused in (True, False):
        confirmed = owner.transact(oracle.set_paused(stub_key, paused), what="set paused")
        (event,) = events(oracle.contract.events.FeedPausedSet(), confirmed)
        assert dict(event["args"]) == {"feedId": stub_key, "paused": paused}
        assert oracle.is_paused(stub_key) is paused
        if paused:
            assert rejected(relayer, stub_submit(oracle, stub_key, 6)) == err("ZkOracleFeedPaused", stub_key)
            assert oracle.latest_round_data(stub_key).round_id == RoundId(1, 1)
    relayer.transact(stub_submit(oracle, stub_key, 7), what="submit after resuming")
    assert oracle.latest_round_id(stub_key) == RoundId(1, 2)


def test_heartbeat_can_be_changed(oracle: ZkOracle, stub_key: bytes, owner: TransactionSender) -> None:
    for heartbeat in (3600, 0, 2**32 - 1):
        confirmed = owner.transact(oracle.set_heartbeat(stub_key, heartbeat), what="set heartbeat")
        (event,) = events(oracle.contract.events.HeartbeatSet(), confirmed)
        assert dict(event["args"]) == {"feedId": stub_key, "heartbeat": heartbeat}
        # Only the heartbeat changes; the rest of what the feed promises stays fixed.
        assert oracle.feed_params(stub_key) == feed_params(heartbeat=heartbeat)


def test_submitters_are_allowed_and_disallowed(
    oracle: ZkOracle,
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
        confirmed = owner.transact(oracle.set_submitter(stub_key, candidate, allowed), what="set submitter")
        (event,) = events(oracle.contract.events.SubmitterUpdated(), confirmed)
        assert dict(event["args"]) == {"feedId": stub_key, "submitter": candidate, "allowed": allowed}
        assert oracle.is_submitter(stub_key, candidate) is allowed
        if allowed:
            outsider.transact(stub_submit(oracle, stub_key), what="submit as newly allowed")
    assert rejected(outsider, stub_submit(oracle, stub_key)) == err(
        "ZkOracleUnauthorizedSubmitter", stub_key, candidate
    )
    owner.transact(oracle.set_submitter(stub_key, relayer.account.address, False), what="revoke relayer")
    assert rejected(relayer, stub_submit(oracle, stub_key)) == err(
        "ZkOracleUnauthorizedSubmitter", stub_key, relayer.account.address
    )
    assert oracle.latest_round_id(stub_key) == RoundId(1, 1)


# --- rotation --------------------------------------------------------------------------------


def test_rotation_starts_a_new_phase_and_keeps_the_old_circuit_readable(
    oracle: ZkOracle,
    stub_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
) -> None:
    first = circuit(stub_verifiers[True])
    second = circuit(stub_verifiers[True], commitment=b"\x22" * 32, output_scale=10)
    relayer.transact(stub_submit(oracle, stub_key, 1 << 13), what="phase 1 round")

    propose = oracle.propose_rotation(stub_key, second)
    now = oracle.w3.eth.get_block("latest")["timestamp"]
    phase, executable_at = propose.call({"from": owner.account.address})
    assert phase == 2 and executable_at >= now
    proposed = owner.transact(propose, what="propose")
    (event,) = events(oracle.contract.events.RotationProposed(), proposed)
    stamp = block_time(oracle.w3, proposed)
    assert dict(event["args"]) == {
        "feedId": stub_key,
        "phaseId": 2,
        "verifier": stub_verifiers[True],
        "modelCommitment": b"\x22" * 32,
        "executableAt": stamp,  # no rotation delay on the test oracles
    }
    assert not events(oracle.contract.events.FeedRotated(), proposed)
    # Proposed is not current: the feed still runs phase 1, the pending phase is readable.
    assert oracle.pending_rotation(stub_key) == (2, stamp)
    assert oracle.circuit(stub_key) == (1, first)
    assert oracle.phase_circuit(stub_key, 2) == second

    execute = oracle.execute_rotation(stub_key)
    assert execute.call({"from": owner.account.address}) == 2
    confirmed = owner.transact(execute, what="execute")
    (event,) = events(oracle.contract.events.FeedRotated(), confirmed)
    assert dict(event["args"]) == {
        "feedId": stub_key,
        "phaseId": 2,
        "verifier": stub_verifiers[True],
        "modelCommitment": b"\x22" * 32,
    }
    assert not events(oracle.contract.events.FeedRegistered(), confirmed)
    assert oracle.pending_rotation(stub_key) is None

    assert oracle.circuit(stub_key) == (2, second)
    assert oracle.phase_circuit(stub_key, 1) == first
    assert oracle.phase_circuit(stub_key, 2) == second
    # A phase that does not exist yet, or phase 0, is unknown.
    for missing in (0, 3, 2**16 - 1):
        assert view_error(oracle.contract.functions.getPhaseCircuit(stub_key, missing)) == err(
            "ZkOracleUnknownPhase", stub_key, missing
        )

    # Submissions now follow the new circuit: the same instance means another answer at scale 10.
    relayer.transact(stub_submit(oracle, stub_key, 1 << 13), what="phase 2 round")
    latest = oracle.latest_round_data(stub_key)
    assert (latest.round_id, latest.answer) == (RoundId(2, 1), 8 * 10**8)
    assert oracle.round_data(stub_key, RoundId(1, 1)).answer == 10**8


def test_without_a_pending_rotation_there_is_nothing_to_execute_or_cancel(
    oracle: ZkOracle, stub_key: bytes, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    for call in (oracle.execute_rotation(stub_key), oracle.cancel_rotation(stub_key)):
        assert rejected(owner, call) == err("ZkOracleNoPendingRotation", stub_key)
    rotate(owner, oracle, stub_key, circuit(stub_verifiers[True], commitment=b"\x33" * 32))
    # Executing consumed the proposal.
    for call in (oracle.execute_rotation(stub_key), oracle.cancel_rotation(stub_key)):
        assert rejected(owner, call) == err("ZkOracleNoPendingRotation", stub_key)
    assert oracle.circuit(stub_key)[0] == 2


def test_a_cancelled_rotation_never_takes_effect(
    oracle: ZkOracle, stub_key: bytes, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    first = oracle.circuit(stub_key)[1]
    owner.transact(oracle.propose_rotation(stub_key, circuit(stub_verifiers[False])), what="propose")
    confirmed = owner.transact(oracle.cancel_rotation(stub_key), what="cancel")
    (event,) = events(oracle.contract.events.RotationCancelled(), confirmed)
    assert dict(event["args"]) == {"feedId": stub_key, "phaseId": 2}
    assert oracle.pending_rotation(stub_key) is None
    assert rejected(owner, oracle.execute_rotation(stub_key)) == err("ZkOracleNoPendingRotation", stub_key)
    assert oracle.circuit(stub_key) == (1, first)
    assert view_error(oracle.contract.functions.getPhaseCircuit(stub_key, 2)) == err(
        "ZkOracleUnknownPhase", stub_key, 2
    )
    # The next proposal takes phase 2 afresh.
    replacement = circuit(stub_verifiers[True], commitment=b"\x44" * 32)
    rotate(owner, oracle, stub_key, replacement)
    assert oracle.circuit(stub_key) == (2, replacement)


def test_a_new_proposal_replaces_the_pending_one(
    oracle: ZkOracle, stub_key: bytes, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    owner.transact(oracle.propose_rotation(stub_key, circuit(stub_verifiers[False])), what="propose")
    replacement = circuit(stub_verifiers[True], commitment=b"\x55" * 32, output_scale=7)
    rotate(owner, oracle, stub_key, replacement)
    assert oracle.circuit(stub_key) == (2, replacement)


def test_rotation_waits_for_the_oracles_delay(
    w3: Web3, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    delay = 120  # the session chain's clock moves with it: kept short for the session's proofs
    oracle, _ = deploy_oracle_with_receipt(owner, owner.account.address, rotation_delay=delay)
    register(owner, oracle, KEY, feed_params(), circuit(stub_verifiers[True]), submitters=(relayer.account.address,))
    proposed = owner.transact(oracle.propose_rotation(KEY, circuit(stub_verifiers[False])), what="propose")
    executable_at = block_time(w3, proposed) + delay
    (event,) = events(oracle.contract.events.RotationProposed(), proposed)
    assert event["args"]["executableAt"] == executable_at
    assert oracle.pending_rotation(KEY) == (2, executable_at)
    assert rejected(owner, oracle.execute_rotation(KEY)) == err("ZkOracleRotationNotReady", KEY, executable_at)
    # Meanwhile the feed runs its current circuit.
    relayer.transact(stub_submit(oracle, KEY), what="round during the delay")
    increase_time(w3, delay - 30)
    assert rejected(owner, oracle.execute_rotation(KEY)) == err("ZkOracleRotationNotReady", KEY, executable_at)
    assert oracle.circuit(KEY)[0] == 1
    increase_time(w3, 30)
    owner.transact(oracle.execute_rotation(KEY), what="execute after the delay")
    assert oracle.circuit(KEY) == (2, circuit(stub_verifiers[False]))


# --- the ends of the round-id space ----------------------------------------------------------
# 65,535 rotations or 2**64 rounds cannot be made in a test, so the feed's state is written
# directly: s_feeds follows the slots of AccessControlDefaultAdminRules and EIP712 (slot 5,
# as solc lays them out; the assertion below checks it); a FeedState is one slot packing phaseId
# (16 bits), paused, halted, inputPolicy, permissionless, bounded, decimals and
# attestationThreshold (8 each), maxObservationAge (32), latestObservedAt (32), latestRoundId
# (80) and rotationExecutableAt (40), low bits first.
FEEDS_SLOT, STATE_WORD, ROUND_SHIFT = 5, 0, 136


def feed_state_slot(key: bytes) -> int:
    return int.from_bytes(Web3.solidity_keccak(["bytes32", "uint256"], [key, FEEDS_SLOT]), "big") + STATE_WORD


def set_feed_state(w3: Web3, oracle: ZkOracle, key: bytes, *, phase: int, latest_round: RoundId | None) -> None:
    slot = feed_state_slot(key)
    word = int.from_bytes(w3.eth.get_storage_at(oracle.address, slot), "big")
    # The layout is what this assumes: a freshly registered feed is in phase 1, round 0.
    assert oracle.latest_round_id(key) is None
    assert (word & 0xFFFF, (word >> ROUND_SHIFT) & (2**80 - 1)) == (1, 0)
    latest = 0 if latest_round is None else int(latest_round)
    word = (word & ~0xFFFF & ~((2**80 - 1) << ROUND_SHIFT)) | phase | (latest << ROUND_SHIFT)
    response = w3.provider.make_request("anvil_setStorageAt", [oracle.address, hex(slot), "0x" + f"{word:064x}"])
    assert "error" not in response, response


def test_the_last_phase_cannot_be_rotated_past(
    w3: Web3, oracle: ZkOracle, stub_key: bytes, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    last = 2**16 - 1
    set_feed_state(w3, oracle, stub_key, phase=last - 1, latest_round=None)
    assert rotate(owner, oracle, stub_key, circuit(stub_verifiers[True]))
    assert oracle.circuit(stub_key)[0] == last
    assert oracle.phase_circuit(stub_key, last) == circuit(stub_verifiers[True])
    propose = oracle.propose_rotation(stub_key, circuit(stub_verifiers[True]))
    assert rejected(owner, propose) == err("ZkOraclePhasesExhausted", stub_key)
    assert oracle.circuit(stub_key)[0] == last


def test_a_phase_out_of_round_ids_refuses_rounds(
    w3: Web3, oracle: ZkOracle, stub_key: bytes, owner: TransactionSender, relayer: TransactionSender
) -> None:
    # One more round would carry into the phase bits and pass itself off as phase 2's.
    set_feed_state(w3, oracle, stub_key, phase=1, latest_round=RoundId(1, 2**64 - 2))
    relayer.transact(stub_submit(oracle, stub_key), what="last round of phase 1")
    assert oracle.latest_round_id(stub_key) == RoundId(1, 2**64 - 1)
    assert rejected(relayer, stub_submit(oracle, stub_key)) == err("PhasedRoundIdsPhaseExhausted", 1)
    # A rotation starts the next phase's count.
    rotate(owner, oracle, stub_key, circuit(oracle.circuit(stub_key)[1].verifier))
    relayer.transact(stub_submit(oracle, stub_key), what="first round of phase 2")
    assert oracle.latest_round_id(stub_key) == RoundId(2, 1)
