"""The eight attacks of issue 12, each written as the attack, each now failing.

Real EZKL proofs of the demo feed (conftest's ``first_proof``/``second_proof``, observed a
second apart) are used wherever the verifier matters; where it does not (a source moved
inside one transaction), a stub verifier keeps the attack to its point. Each test ends
with the honest path still working, so the refusal is the rule's, not a broken feed's.
"""

from __future__ import annotations

from functools import cache

import pytest
from web3 import Web3
from zkoracle_testkit import (
    ATTESTERS,
    DEFAULT_ADMIN_ROLE,
    FIRST_PRICES,
    OPERATOR,
    OUTSIDER,
    SECOND_PRICES,
    Proven,
    aggregator_input,
    attest,
    attester_addresses,
    circuit,
    deploy,
    deploy_oracle_with_receipt,
    err,
    events,
    feed_params,
    increase_time,
    limb_instances,
    make_sender,
    onchain_input,
    quantize,
    register,
    rejected,
    stub_proof,
    stub_time,
    submit,
    view_error,
)

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import answer_from_felt
from oracle.circuits.time_limbs import time_limbs
from oracle.deployments.contracts import deploy_proxy
from oracle.evm.compiler import CompiledContract, compile_sources
from oracle.evm.contracts import PROXY, bind, feed_key, project_contracts
from oracle.evm.zkoracle import CircuitConfig, InputEvidence, InputPolicy, RoundData, RoundId, ZkOracle
from oracle.paths import PROJECT_ROOT
from oracle.provers import LocalProver
from oracle.provers.feed_proof import FeedProof
from relayer.sender import TransactionSender

# The demo layout: 4 prices, 3 time limbs, the forecast.
INPUTS, ANSWER = 7, 7
MOVER_SOURCE = PROJECT_ROOT / "tests" / "contracts" / "harness" / "InputMover.sol"
OPEN = feed_key("open: attested, permissionless")
OPS = feed_key("ops: operator, allow-listed")


@cache
def mover_contract() -> CompiledContract:
    return compile_sources({"InputMover.sol": MOVER_SOURCE.read_text()})["InputMover"]


def attested_open_feed(
    oracle: ZkOracle, owner: TransactionSender, config: CircuitConfig, *, threshold: int = 2
) -> bytes:
    """An Attested permissionless feed: attesters 5, 6 and 7, ``threshold`` of them per round."""
    register(owner, oracle, OPEN, feed_params(policy=InputPolicy.ATTESTED, permissionless=True), config)
    owner.transact(oracle.set_attesters(OPEN, attester_addresses(ATTESTERS), threshold), what="set attesters")
    return OPEN


def attested(oracle: ZkOracle, key: bytes, proven: Proven, *signers: int, phase: int = 1) -> InputEvidence:
    return attest(oracle, key, phase, proven.instances, INPUTS, proven.observed_at, *signers)


def answer_of(proven: Proven, demo_circuit: CircuitArtifacts) -> int:
    return answer_from_felt(proven.felts[ANSWER], scale=demo_circuit.manifest.output_scale, decimals=8)


@pytest.fixture(scope="module")
def invented_proof(demo_circuit: CircuitArtifacts, proof_time: int) -> Proven:
    """The attacker's own valid proof: the demo model on prices 57% above the market's."""
    invented = [round(price * 1.57 * 8) / 8 for price in FIRST_PRICES]
    observed_at = proof_time + 5
    return Proven(LocalProver().prove(demo_circuit, invented + time_limbs(observed_at)), observed_at)


# --- 1. a permissionless feed and invented inputs ----------------------------------------------------


def test_1_invented_inputs_cannot_reach_a_permissionless_feed(
    oracle: ZkOracle,
    owner: TransactionSender,
    outsider: TransactionSender,
    demo_config: CircuitConfig,
    demo_circuit: CircuitArtifacts,
    invented_proof: Proven,
    second_proof: Proven,
) -> None:
    # An allow-list-free feed whose inputs nobody vouches for can no longer be registered.
    operator_open = feed_params(policy=InputPolicy.OPERATOR, permissionless=True)
    assert rejected(owner, oracle.register_feed(OPEN, operator_open, demo_config)) == err(
        "ZkOraclePermissionlessNeedsAttestedOrOnchain", OPEN, int(InputPolicy.OPERATOR)
    )
    key = attested_open_feed(oracle, owner, demo_config)
    # The attacker's proof is a valid proof of the model: only the inputs are invented.
    assert answer_of(invented_proof, demo_circuit) > answer_of(second_proof, demo_circuit) * 3 // 2
    bare = oracle.submit(key, invented_proof.proof_bytes, invented_proof.instances, InputEvidence())
    assert rejected(outsider, bare) == err("ZkOracleAttestationThresholdNotMet", key, 0, 2)
    # Signing the invented observation with the attacker's own key does not make it attested.
    own = attested(oracle, key, invented_proof, OUTSIDER)
    call = oracle.submit(key, invented_proof.proof_bytes, invented_proof.instances, own)
    assert rejected(outsider, call) == err(
        "ZkOracleAttesterNotAllowed", key, make_sender(oracle.w3, OUTSIDER).account.address
    )
    # One real attester fooled is not enough either.
    one = attested(oracle, key, invented_proof, ATTESTERS[0])
    call = oracle.submit(key, invented_proof.proof_bytes, invented_proof.instances, one)
    assert rejected(outsider, call) == err("ZkOracleAttestationThresholdNotMet", key, 1, 2)
    assert oracle.latest_round_id(key) is None
    # Inputs two attesters observed are relayed by anyone, the same outsider included.
    submit(outsider, oracle, key, second_proof, attested(oracle, key, second_proof, *ATTESTERS[1:]))
    assert oracle.latest_round_data(key).answer == answer_of(second_proof, demo_circuit)


# --- 2. a sliced feed with an unproven slice --------------------------------------------------------


def test_2_a_partly_proven_round_is_never_passed_off_as_proven(
    w3: Web3,
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    targeted_key: bytes,
    targeted_config: CircuitConfig,
    targeted_circuit: FeedCircuit,
    targeted_proof: FeedProof,
) -> None:
    # Anyone could post any answer behind the unproven slice: such a feed cannot be permissionless.
    params = feed_params(policy=InputPolicy.ATTESTED, permissionless=True)
    assert rejected(owner, oracle.register_feed(OPEN, params, targeted_config)) == err(
        "ZkOraclePermissionlessNeedsFullCoverage", OPEN, 2, 3
    )
    # The allow-listed targeted feed lands its round; a Chainlink-style proxy refuses to serve it.
    relayer.transact(oracle.submit_slices(targeted_key, *targeted_proof.calldata()), what="targeted round")
    first = int(RoundId(1, 1))
    strict = bind(w3, PROXY, deploy_proxy(owner, oracle.address, "sliced-targeted"))
    assert strict.functions.i_acceptsPartialCoverage().call() is False
    partial = err("ZkFeedProxyPartialCoverage", first, 2, 3)
    for read in (
        strict.functions.latestRoundData(),
        strict.functions.getRoundData(first),
        strict.functions.latestRoundDataNoOlderThan(3600),
    ):
        assert view_error(read) == partial
    # A proxy deployed to accept partial coverage says so, and serves it.
    lenient = bind(w3, PROXY, deploy_proxy(owner, oracle.address, "sliced-targeted", accepts_partial_coverage=True))
    assert lenient.functions.i_acceptsPartialCoverage().call() is True
    served = RoundData.from_abi(lenient.functions.latestRoundData().call())
    assert served == oracle.latest_round_data(targeted_key)
    assert oracle.coverage(targeted_key, RoundId(1, 1)) == (2, 3)


# --- 3. stale data passed off as fresh --------------------------------------------------------------


def test_3_an_older_or_re_proven_observation_never_lands_again(
    w3: Web3,
    oracle: ZkOracle,
    demo_key: bytes,
    relayer: TransactionSender,
    demo_circuit: CircuitArtifacts,
    first_proof: Proven,
    second_proof: Proven,
) -> None:
    confirmed = submit(relayer, oracle, demo_key, second_proof)
    # The older proof, held back and posted after the newer one.
    older = oracle.submit(demo_key, first_proof.proof_bytes, first_proof.instances)
    assert rejected(relayer, older) == err(
        "ZkOracleStaleRound", demo_key, first_proof.observed_at, second_proof.observed_at
    )
    # The same inputs and time proven again: a new proof, the same observation.
    again = LocalProver().prove(demo_circuit, SECOND_PRICES + time_limbs(second_proof.observed_at))
    reproven = Proven(again, second_proof.observed_at)
    assert reproven.instances == second_proof.instances
    call = oracle.submit(demo_key, reproven.proof_bytes, reproven.instances)
    assert rejected(relayer, call) == err(
        "ZkOracleStaleRound", demo_key, second_proof.observed_at, second_proof.observed_at
    )
    # What consumers read is the observation's time, not the inclusion's.
    latest = oracle.latest_round_data(demo_key)
    assert (latest.started_at, latest.updated_at) == (second_proof.observed_at, second_proof.observed_at)
    included = oracle.round(demo_key, latest.round_id).included_at
    assert included == w3.eth.get_block(confirmed.block_number)["timestamp"] >= latest.updated_at
    assert oracle.latest_round_id(demo_key) == RoundId(1, 1)


# --- 4. an on-chain input moved within one transaction ----------------------------------------------


def test_4_a_getter_can_be_moved_so_only_an_operator_feed_may_read_one(
    oracle: ZkOracle,
    owner: TransactionSender,
    outsider: TransactionSender,
    stub_verifiers: dict[bool, str],
) -> None:
    mover = deploy(outsider, mover_contract())
    source_code = project_contracts()["ExampleValueSource"]
    init = outsider.w3.eth.contract(abi=source_code.abi, bytecode=source_code.bytecode).constructor(2000 * 10**8)
    created = mover.functions.create(init.data_in_transaction).call({"from": outsider.account.address})
    outsider.transact(mover.functions.create(init.data_in_transaction), what="the mover creates its source")
    getter = onchain_input(created, decimals=8, index=0)
    config = circuit(
        stub_verifiers[True],
        instance_count=5,
        input_count=4,
        output_index=4,
        observed_at_index=1,
        input_scale=7,
        onchain_inputs=(getter,),
    )
    # Neither policy a relayer-independent feed has may read a movable view.
    for policy in (InputPolicy.ONCHAIN, InputPolicy.ATTESTED):
        assert rejected(owner, oracle.register_feed(OPEN, feed_params(policy=policy), config)) == err(
            "ZkOracleMovableInputNotAllowed", OPEN, 0, int(policy)
        )
    # Under the Operator policy the mover is no allow-listed submitter: its bundle reverts whole.
    register(owner, oracle, OPS, feed_params(policy=InputPolicy.OPERATOR), config)
    source = outsider.w3.eth.contract(address=created, abi=source_code.abi)
    moved = quantize(4700 * 10**8, decimals=8, scale=7)
    instances = [moved, *limb_instances(stub_time(oracle.w3), scale=7), moved]
    submit_call = oracle.submit(OPS, stub_proof(), instances, InputEvidence(source_rounds=(0,)))
    bundle = mover.functions.moveSubmitRestore(
        created,
        source.functions.setValue(4700 * 10**8).build_transaction({"gas": 1})["data"],
        oracle.address,
        submit_call.build_transaction({"gas": 1})["data"],
        source.functions.setValue(2000 * 10**8).build_transaction({"gas": 1})["data"],
    )
    assert rejected(outsider, bundle) == err("ZkOracleUnauthorizedSubmitter", OPS, mover.address)
    assert oracle.latest_round_id(OPS) is None


def test_4_an_aggregator_input_is_bound_to_the_round_the_proof_names(
    oracle: ZkOracle,
    owner: TransactionSender,
    outsider: TransactionSender,
    stub_verifiers: dict[bool, str],
) -> None:
    # The attacker controls the moves (here: owns the aggregator), but not its past rounds.
    mover = deploy(outsider, mover_contract())
    compiled = project_contracts()["ExampleAggregator"]
    factory = outsider.w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    init = factory.constructor(8, "ETH / USD", 3000 * 10**8).data_in_transaction
    address = mover.functions.create(init).call({"from": outsider.account.address})
    outsider.transact(mover.functions.create(init), what="the mover creates the aggregator")
    aggregator = outsider.w3.eth.contract(address=address, abi=compiled.abi)
    source = aggregator_input(address, decimals=8, index=0, max_age=3600)
    config = circuit(
        stub_verifiers[True],
        instance_count=5,
        input_count=4,
        output_index=4,
        observed_at_index=1,
        input_scale=7,
        output_scale=7,
        onchain_inputs=(source,),
    )
    register(owner, oracle, OPEN, feed_params(policy=InputPolicy.ONCHAIN, permissionless=True), config)

    def bundle(claimed_usd: int, named_round: int) -> object:
        claimed = quantize(claimed_usd * 10**8, decimals=8, scale=7)
        instances = [claimed, *limb_instances(stub_time(oracle.w3), scale=7), claimed]
        submit_call = oracle.submit(OPEN, stub_proof(), instances, InputEvidence(source_rounds=(named_round,)))
        return mover.functions.moveSubmitRestore(
            address,
            aggregator.functions.setAnswer(4700 * 10**8).build_transaction({"gas": 1})["data"],
            oracle.address,
            submit_call.build_transaction({"gas": 1})["data"],
            aggregator.functions.setAnswer(3000 * 10**8).build_transaction({"gas": 1})["data"],
        )

    # Move, then claim the moved price for round 1: round 1 still says 3,000.
    round_1 = quantize(3000 * 10**8, decimals=8, scale=7)
    moved = quantize(4700 * 10**8, decimals=8, scale=7)
    assert rejected(outsider, bundle(4700, 1)) == err("ZkOracleOnchainInputMismatch", OPEN, 0, round_1, moved)
    # The move inside the transaction does not change what round 1 answers: the stored answer is 3,000.
    outsider.transact(bundle(3000, 1), what="move, submit round 1, move back")
    assert oracle.latest_round_data(OPEN).answer == 3000 * 10**8
    # The moves were rounds of their own, on the record for good: a proof naming one is
    # bound to exactly that round, which anyone can read back from the source.
    latest_source_round = aggregator.functions.latestRound().call()
    assert aggregator.functions.getRoundData(latest_source_round - 1).call()[1] == 4700 * 10**8


# --- 5. pause does not stop reads; halt does ---------------------------------------------------------


def test_5_halt_stops_every_read_and_pause_does_not(
    w3: Web3,
    oracle: ZkOracle,
    demo_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    first_proof: Proven,
) -> None:
    submit(relayer, oracle, demo_key, first_proof)  # the bad round, in an incident
    proxy = bind(w3, PROXY, deploy_proxy(owner, oracle.address, "demo"))
    consumer = deploy(owner, project_contracts()["PriceConsumerV3"], proxy.address)
    owner.transact(oracle.set_paused(demo_key, True), what="pause")
    # Pause stops writes only: consumers still read the round.
    assert RoundData.from_abi(proxy.functions.latestRoundData().call()) == oracle.latest_round_data(demo_key)
    consumer.functions.getChainlinkDataFeedLatestAnswer().call()

    owner.transact(oracle.set_halted(demo_key, True), what="halt")
    halted = err("ZkOracleFeedHalted", demo_key)
    first = int(RoundId(1, 1))
    for read in (
        oracle.contract.functions.latestRoundData(demo_key),
        oracle.contract.functions.getRoundData(demo_key, first),
        oracle.contract.functions.latestRoundDataNoOlderThan(demo_key, 3600),
        oracle.contract.functions.getRound(demo_key, first),
        proxy.functions.latestRoundData(),
        proxy.functions.getRoundData(first),
        proxy.functions.latestRoundDataNoOlderThan(3600),
        consumer.functions.getChainlinkDataFeedLatestAnswer(),
    ):
        assert view_error(read) == halted
    owner.transact(oracle.set_halted(demo_key, False), what="resume reads")
    assert RoundData.from_abi(proxy.functions.latestRoundData().call()).round_id == RoundId(1, 1)


# --- 6. observations from the future -----------------------------------------------------------------


def test_6_an_observation_from_the_future_is_refused(
    w3: Web3,
    oracle: ZkOracle,
    demo_circuit: CircuitArtifacts,
    demo_config: CircuitConfig,
    owner: TransactionSender,
    outsider: TransactionSender,
) -> None:
    key = attested_open_feed(oracle, owner, demo_config, threshold=1)
    now = int(w3.eth.get_block("latest")["timestamp"])
    ahead = now + 30  # a poster pushing the feed's latest ahead, to make honest proofs stale
    future = Proven(LocalProver().prove(demo_circuit, FIRST_PRICES + time_limbs(ahead)), ahead)
    call = oracle.submit(key, future.proof_bytes, future.instances, attested(oracle, key, future, ATTESTERS[0]))
    latest = int(w3.eth.get_block("latest")["timestamp"])
    assert latest < ahead
    assert rejected(outsider, call) == err("ZkOracleObservationFromFuture", key, ahead, latest)
    assert oracle.latest_round_id(key) is None
    # Once the chain reaches it, it is an ordinary observation; startedAt is never ahead of the block.
    increase_time(w3, ahead - int(w3.eth.get_block("latest")["timestamp"]))
    confirmed = submit(outsider, oracle, key, future, attested(oracle, key, future, ATTESTERS[0]))
    block = int(w3.eth.get_block(confirmed.block_number)["timestamp"])
    latest_data = oracle.latest_round_data(key)
    assert latest_data.started_at == latest_data.updated_at == ahead <= block


# --- 7. cross-feed replay ----------------------------------------------------------------------------


def test_7_a_proof_meant_for_one_feed_cannot_take_anothers_round(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    outsider: TransactionSender,
    demo_config: CircuitConfig,
    first_proof: Proven,
) -> None:
    # Two feeds share one verifier: an allow-listed Operator feed and an attested permissionless one.
    register(owner, oracle, OPS, feed_params(), demo_config, submitters=(relayer.account.address,))
    attested_open_feed(oracle, owner, demo_config, threshold=1)
    assert oracle.circuit(OPS)[1].verifier == oracle.circuit(OPEN)[1].verifier
    # The operator feed's pending proof, copied from the mempool onto the open feed: nobody attested it there.
    copied = oracle.submit(OPEN, first_proof.proof_bytes, first_proof.instances, InputEvidence())
    assert rejected(outsider, copied) == err("ZkOracleAttestationThresholdNotMet", OPEN, 0, 1)
    # An attestation is for one feed: one made for another feed's digest does not carry over.
    elsewhere = attest(oracle, OPS, 1, first_proof.instances, INPUTS, first_proof.observed_at, ATTESTERS[0])
    signer = elsewhere.attestations[0].signer
    copied = oracle.submit(OPEN, first_proof.proof_bytes, first_proof.instances, elsewhere)
    assert rejected(outsider, copied) == err("ZkOracleInvalidAttestation", OPEN, signer)
    # Nor can the copier post it on the operator feed first.
    direct = oracle.submit(OPS, first_proof.proof_bytes, first_proof.instances)
    assert rejected(outsider, direct) == err("ZkOracleUnauthorizedSubmitter", OPS, outsider.account.address)
    # The honest relayer still lands it on its own feed.
    submit(relayer, oracle, OPS, first_proof)
    assert oracle.latest_round_id(OPS) == RoundId(1, 1)
    assert oracle.latest_round_id(OPEN) is None


# --- 8. circuit breakers and governance --------------------------------------------------------------


def test_8_an_answer_outside_the_feeds_bounds_is_refused(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    demo_config: CircuitConfig,
    demo_circuit: CircuitArtifacts,
    invented_proof: Proven,
    first_proof: Proven,
) -> None:
    # A forecast beyond 3,000 USD is not one this feed will ever publish.
    low, high = 1000 * 10**8, 3000 * 10**8
    register(
        owner,
        oracle,
        OPS,
        feed_params(min_answer=low, max_answer=high),
        demo_config,
        submitters=(relayer.account.address,),
    )
    inflated = answer_of(invented_proof, demo_circuit)
    assert inflated > high
    call = oracle.submit(OPS, invented_proof.proof_bytes, invented_proof.instances)
    assert rejected(relayer, call) == err("ZkOracleAnswerOutOfBounds", OPS, inflated, low, high)
    submit(relayer, oracle, OPS, first_proof)
    assert low <= oracle.latest_round_data(OPS).answer <= high


def test_8_a_rotation_cannot_take_effect_before_the_delay(
    w3: Web3,
    owner: TransactionSender,
    relayer: TransactionSender,
    demo_config: CircuitConfig,
    gemm_config: CircuitConfig,
    first_proof: Proven,
    gemm_proof: Proven,
) -> None:
    delay = 86_400
    oracle, _ = deploy_oracle_with_receipt(owner, owner.account.address, rotation_delay=delay)
    register(owner, oracle, OPS, feed_params(), demo_config, submitters=(relayer.account.address,))
    confirmed = owner.transact(oracle.propose_rotation(OPS, gemm_config), what="propose a new model")
    (event,) = events(oracle.contract.events.RotationProposed(), confirmed)
    executable_at = event["args"]["executableAt"]
    assert executable_at == w3.eth.get_block(confirmed.block_number)["timestamp"] + delay
    # The one operator key cannot swap the model at once.
    assert rejected(owner, oracle.execute_rotation(OPS)) == err("ZkOracleRotationNotReady", OPS, executable_at)
    # Meanwhile the announced-but-pending model proves nothing on the feed; the current one does.
    pending = oracle.submit(OPS, gemm_proof.proof_bytes, gemm_proof.instances)
    assert rejected(relayer, pending) == err("ZkOracleInvalidProof", OPS)
    submit(relayer, oracle, OPS, first_proof)
    assert oracle.circuit(OPS) == (1, demo_config)
    # Consumers watching RotationProposed can see it, and the operator can still call it off.
    assert oracle.pending_rotation(OPS) == (2, executable_at)
    owner.transact(oracle.cancel_rotation(OPS), what="cancel")
    assert oracle.pending_rotation(OPS) is None


def test_8_the_admin_role_moves_only_in_two_steps_after_a_delay(w3: Web3, owner: TransactionSender) -> None:
    delay = 5
    oracle, _ = deploy_oracle_with_receipt(owner, owner.account.address, admin_transfer_delay=delay)
    roles = oracle.contract.functions
    successor = make_sender(w3, OPERATOR)
    new_admin = successor.account.address
    # A direct grant, even by the admin, is refused: a mistyped address would lose the oracle.
    assert rejected(owner, roles.grantRole(DEFAULT_ADMIN_ROLE, new_admin)) == err(
        "AccessControlEnforcedDefaultAdminRules"
    )
    confirmed = owner.transact(roles.beginDefaultAdminTransfer(new_admin), what="begin admin transfer")
    (event,) = events(oracle.contract.events.DefaultAdminTransferScheduled(), confirmed)
    schedule = event["args"]["acceptSchedule"]
    assert schedule == w3.eth.get_block(confirmed.block_number)["timestamp"] + delay
    assert roles.pendingDefaultAdmin().call() == [new_admin, schedule]
    # Only the named successor accepts, and only once the delay has passed.
    assert rejected(make_sender(w3, OUTSIDER), roles.acceptDefaultAdminTransfer()) == err(
        "AccessControlInvalidDefaultAdmin", make_sender(w3, OUTSIDER).account.address
    )
    assert rejected(successor, roles.acceptDefaultAdminTransfer()) == err(
        "AccessControlEnforcedDefaultAdminDelay", schedule
    )
    increase_time(w3, delay + 1)
    successor.transact(roles.acceptDefaultAdminTransfer(), what="accept admin role")
    assert roles.defaultAdmin().call() == new_admin
    assert roles.hasRole(DEFAULT_ADMIN_ROLE, new_admin).call() is True
    assert roles.hasRole(DEFAULT_ADMIN_ROLE, owner.account.address).call() is False
