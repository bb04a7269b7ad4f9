"""Submitting real EZKL proofs to ZkOracle on the session's Anvil: accepted rounds and every refusal.

The refusals that depend on the block time's exact value are in test_zkoracle_time.py, on a
chain of their own; these need no more than the chain's own clock.
"""

from __future__ import annotations

import pytest
from web3 import Web3
from zkoracle_testkit import (
    ATTESTERS,
    Proven,
    attest,
    attester_addresses,
    block_time,
    err,
    events,
    feed_params,
    register,
    rejected,
    rotate,
    submit,
    view_error,
)

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.quantize import answer_from_felt, felt_to_float, felt_to_uint
from oracle.deployments.contracts import deploy_proxy
from oracle.evm.contracts import PROXY, bind, feed_key
from oracle.evm.zkoracle import CircuitConfig, InputPolicy, RoundData, RoundId, RoundRecord, RoundSubmitted, ZkOracle
from oracle.provers import Proof
from relayer.sender import TransactionSender

# The demo layout: 4 prices, 3 time limbs, the forecast.
PRICES, LIMBS, ANSWER = range(4), range(4, 7), 7
DECIMALS = 8
MAX_AGE = 3600  # feed_params' default


def expected_answer(proven: Proven, circuit: CircuitArtifacts) -> int:
    return answer_from_felt(proven.felts[ANSWER], scale=circuit.manifest.output_scale, decimals=DECIMALS)


def inputs_hash(proven: Proven) -> bytes:
    """keccak256(abi.encodePacked(uint256[] inputs)): each input instance as one 32-byte word."""
    return bytes(Web3.keccak(b"".join(value.to_bytes(32, "big") for value in proven.instances[:ANSWER])))


def commitment_of(circuit: CircuitArtifacts) -> bytes:
    return bytes.fromhex(circuit.manifest.model_commitment.removeprefix("0x"))


# --- accepted rounds -------------------------------------------------------------------------


def test_valid_rounds_are_stored_announced_and_readable(
    w3: Web3,
    oracle: ZkOracle,
    demo_key: bytes,
    relayer: TransactionSender,
    first_proof: Proven,
    second_proof: Proven,
    demo_circuit: CircuitArtifacts,
) -> None:
    assert oracle.latest_round_id(demo_key) is None
    stored: list[RoundData] = []
    for number, proven in enumerate((first_proof, second_proof), start=1):
        answer = expected_answer(proven, demo_circuit)
        # The contract's fixed-point conversion must agree with EZKL's own dequantisation.
        proven_value = felt_to_float(proven.felts[ANSWER], demo_circuit.manifest.output_scale)
        assert abs(answer / 10**DECIMALS - proven_value) <= 10.0**-DECIMALS

        confirmed = submit(relayer, oracle, demo_key, proven)

        # Round ids carry the phase in the high bits, so they never restart.
        expected_id = RoundId(1, number)
        event = RoundSubmitted(
            feed_key=demo_key,
            round_id=expected_id,
            submitter=relayer.account.address,
            answer=answer,
            observed_at=proven.observed_at,
            inputs_hash=inputs_hash(proven),
            tx_hash=confirmed.tx_hash,
            block_number=confirmed.block_number,
        )
        assert oracle.round_submitted(confirmed.receipt) == [event]
        # What the round's slot leaves out is found again from its id alone.
        assert oracle.round_submission(demo_key, expected_id) == event
        stamp = block_time(w3, confirmed)
        assert oracle.latest_round_id(demo_key) == expected_id
        # startedAt and updatedAt are both the proven observation time: the data's age, not the inclusion's.
        data = RoundData(expected_id, answer, proven.observed_at, proven.observed_at, expected_id)
        assert oracle.latest_round_data(demo_key) == data
        # latestRoundDataNoOlderThan is not the binding's; its answer is RoundData's shape.
        no_older = oracle.contract.functions.latestRoundDataNoOlderThan(demo_key, MAX_AGE).call()
        assert RoundData.from_abi(no_older) == data
        assert oracle.round(demo_key, expected_id) == RoundRecord(
            answer=answer,
            observed_at=proven.observed_at,
            included_at=stamp,
            model_commitment=commitment_of(demo_circuit),
        )
        stored.append(data)

    # Earlier rounds stay readable after newer ones land.
    for data in stored:
        assert oracle.round_data(demo_key, data.round_id) == data


def test_unknown_rounds_are_refused(
    oracle: ZkOracle, demo_key: bytes, relayer: TransactionSender, first_proof: Proven
) -> None:
    views = oracle.contract.functions
    assert view_error(views.latestRoundData(demo_key)) == err("ZkOracleNoRounds", demo_key)
    assert view_error(views.latestRoundDataNoOlderThan(demo_key, MAX_AGE)) == err("ZkOracleNoRounds", demo_key)
    submit(relayer, oracle, demo_key, first_proof)
    # Round 0, the next round, a round of a phase that never existed, a phase-less id, the largest id.
    for missing in (RoundId(0, 0), RoundId(1, 2), RoundId(2, 1), RoundId(0, 1), RoundId(2**16 - 1, 2**64 - 1)):
        expected = err("ZkOracleUnknownRound", demo_key, int(missing))
        assert view_error(views.getRoundData(demo_key, int(missing))) == expected
        assert view_error(views.getRound(demo_key, int(missing))) == expected


# --- tampered proofs -------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_proof_with_a_flipped_byte_is_rejected(
    oracle: ZkOracle, demo_key: bytes, relayer: TransactionSender, first_proof: Proven, where: str
) -> None:
    tampered = bytearray(first_proof.proof_bytes)
    position = {"first": 0, "middle": len(tampered) // 2, "last": len(tampered) - 1}[where]
    tampered[position] ^= 0x01
    call = oracle.submit(demo_key, bytes(tampered), first_proof.instances)
    assert rejected(relayer, call) == err("ZkOracleInvalidProof", demo_key)
    assert oracle.latest_round_id(demo_key) is None


@pytest.mark.parametrize(
    ("index", "delta"),
    [
        *((index, 1) for index in PRICES),
        (ANSWER, 1),
        (ANSWER, -1),
        # One second later: a well-formed, fresh time, so only the verifier can notice.
        (LIMBS[0], 1 << 13),
    ],
)
def test_proof_with_a_changed_instance_is_rejected(
    oracle: ZkOracle, demo_key: bytes, relayer: TransactionSender, first_proof: Proven, index: int, delta: int
) -> None:
    instances = first_proof.instances
    instances[index] += delta
    call = oracle.submit(demo_key, first_proof.proof_bytes, instances)
    assert rejected(relayer, call) == err("ZkOracleInvalidProof", demo_key)
    assert oracle.latest_round_id(demo_key) is None


@pytest.mark.parametrize("index", LIMBS)
def test_time_limb_off_the_input_grid_is_malformed(
    oracle: ZkOracle, demo_key: bytes, relayer: TransactionSender, first_proof: Proven, index: int
) -> None:
    # A limb is an integer at the input scale; anything between two grid points is refused
    # before the (far costlier) verifier runs.
    instances = first_proof.instances
    instances[index] += 1
    call = oracle.submit(demo_key, first_proof.proof_bytes, instances)
    # The error names the limb (0 the least significant) and the instance carrying it.
    limb = index - LIMBS.start
    assert rejected(relayer, call) == err("EzklInstancesMalformedTimeLimb", limb, instances[index])


@pytest.mark.parametrize("change", ["drop the answer", "append an instance", "no instances"])
def test_wrong_number_of_instances_is_rejected(
    oracle: ZkOracle, demo_key: bytes, relayer: TransactionSender, first_proof: Proven, change: str
) -> None:
    instances = {
        "drop the answer": first_proof.instances[:-1],
        "append an instance": [*first_proof.instances, 0],
        "no instances": [],
    }[change]
    call = oracle.submit(demo_key, first_proof.proof_bytes, instances)
    assert rejected(relayer, call) == err("ZkOracleInstanceCountMismatch", demo_key, 8, len(instances))


def test_unauthorised_submitter_is_rejected_even_with_a_valid_proof(
    oracle: ZkOracle, demo_key: bytes, owner: TransactionSender, outsider: TransactionSender, first_proof: Proven
) -> None:
    call = oracle.submit(demo_key, first_proof.proof_bytes, first_proof.instances)
    for sender in (outsider, owner):
        assert rejected(sender, call) == err("ZkOracleUnauthorizedSubmitter", demo_key, sender.account.address)
    assert oracle.latest_round_id(demo_key) is None


# --- replays and freshness -------------------------------------------------------------------


def test_same_proof_is_never_accepted_twice(
    oracle: ZkOracle,
    demo_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    demo_config: CircuitConfig,
    first_proof: Proven,
) -> None:
    submit(relayer, oracle, demo_key, first_proof)
    # The feed's latest observation is the proof's own: a replay is not later than it.
    call = oracle.submit(demo_key, first_proof.proof_bytes, first_proof.instances)
    assert rejected(relayer, call) == err(
        "ZkOracleStaleRound", demo_key, first_proof.observed_at, first_proof.observed_at
    )
    assert oracle.latest_round_id(demo_key) == RoundId(1, 1)
    # Ordering is per feed: another allow-listed feed of the same circuit may take the same
    # observation, from its own submitters (a feed of another policy refuses it: test_attacks).
    other = feed_key("same circuit, other feed")
    register(owner, oracle, other, feed_params(), demo_config, submitters=(relayer.account.address,))
    submit(relayer, oracle, other, first_proof)
    assert oracle.latest_round_id(other) == RoundId(1, 1)


def test_older_observation_never_overwrites_a_newer_one(
    oracle: ZkOracle, demo_key: bytes, relayer: TransactionSender, first_proof: Proven, second_proof: Proven
) -> None:
    submit(relayer, oracle, demo_key, second_proof)
    # A valid, never-used proof, but of an earlier observation than the feed's latest.
    call = oracle.submit(demo_key, first_proof.proof_bytes, first_proof.instances)
    assert rejected(relayer, call) == err(
        "ZkOracleStaleRound", demo_key, first_proof.observed_at, second_proof.observed_at
    )
    assert oracle.latest_round_data(demo_key).started_at == second_proof.observed_at


def test_proof_of_an_old_observation_is_rejected(
    w3: Web3, oracle: ZkOracle, demo_key: bytes, relayer: TransactionSender, demo_proof: Proof
) -> None:
    # The session's demo_proof observed the unix epoch: valid, but far outside the window.
    instances = [felt_to_uint(felt) for felt in demo_proof.instances]
    assert instances[LIMBS.start : LIMBS.stop] == [0, 0, 0]
    # Gas estimation runs against the latest block, so its time fixes the oldest accepted time.
    oldest = int(w3.eth.get_block("latest")["timestamp"]) - MAX_AGE
    call = oracle.submit(demo_key, demo_proof.proof_bytes, instances)
    assert rejected(relayer, call) == err("ZkOracleObservationTooOld", demo_key, 0, oldest)


# --- feeds and circuits ----------------------------------------------------------------------


def test_proof_for_one_feed_is_rejected_by_another(
    oracle: ZkOracle,
    demo_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    gemm_config: CircuitConfig,
    first_proof: Proven,
    gemm_proof: Proven,
) -> None:
    # Feed B has the very same instance layout, so only its verifier can tell the proofs apart.
    feed_b = feed_key("feed B")
    register(owner, oracle, feed_b, feed_params(), gemm_config, submitters=(relayer.account.address,))
    a_on_b = oracle.submit(feed_b, first_proof.proof_bytes, first_proof.instances)
    assert rejected(relayer, a_on_b) == err("ZkOracleInvalidProof", feed_b)
    b_on_a = oracle.submit(demo_key, gemm_proof.proof_bytes, gemm_proof.instances)
    assert rejected(relayer, b_on_a) == err("ZkOracleInvalidProof", demo_key)
    assert oracle.latest_round_id(feed_b) is None
    # The refused proofs were not spent: each feed still takes its own.
    submit(relayer, oracle, demo_key, first_proof)
    submit(relayer, oracle, feed_b, gemm_proof)
    assert oracle.latest_round_id(demo_key) == RoundId(1, 1)
    assert oracle.latest_round_id(feed_b) == RoundId(1, 1)


def test_rotation_keeps_old_rounds_and_refuses_the_old_circuit(
    w3: Web3,
    oracle: ZkOracle,
    demo_key: bytes,
    owner: TransactionSender,
    relayer: TransactionSender,
    demo_circuit: CircuitArtifacts,
    gemm_circuit: CircuitArtifacts,
    gemm_config: CircuitConfig,
    gemm_verifier: str,
    first_proof: Proven,
    second_proof: Proven,
    gemm_proof: Proven,
) -> None:
    proxy = bind(w3, PROXY, deploy_proxy(owner, oracle.address, "demo"))
    submit(relayer, oracle, demo_key, first_proof)
    phase_one = oracle.round_data(demo_key, RoundId(1, 1))

    confirmed = rotate(owner, oracle, demo_key, gemm_config)
    (event,) = events(oracle.contract.events.FeedRotated(), confirmed)
    assert dict(event["args"]) == {
        "feedId": demo_key,
        "phaseId": 2,
        "verifier": gemm_verifier,
        "modelCommitment": commitment_of(gemm_circuit),
    }
    # A valid, fresh proof of the phase-1 circuit no longer verifies.
    old_circuit = oracle.submit(demo_key, second_proof.proof_bytes, second_proof.instances)
    assert rejected(relayer, old_circuit) == err("ZkOracleInvalidProof", demo_key)

    confirmed = submit(relayer, oracle, demo_key, gemm_proof)
    (round_event,) = oracle.round_submitted(confirmed.receipt)
    new_id = round_event.round_id
    # Consumers compare the raw uint80s: the new phase's ids are above the old one's.
    assert new_id == RoundId(2, 1) and int(new_id) > int(RoundId(1, 1))
    answer = answer_from_felt(gemm_proof.felts[ANSWER], scale=gemm_circuit.manifest.output_scale, decimals=DECIMALS)
    latest = RoundData(new_id, answer, gemm_proof.observed_at, gemm_proof.observed_at, new_id)
    assert oracle.latest_round_data(demo_key) == latest
    assert RoundData.from_abi(proxy.functions.latestRoundData().call()) == latest

    # Phase-1 rounds stay readable by their ids, each round naming the model that proved it.
    assert oracle.round_data(demo_key, RoundId(1, 1)) == phase_one
    assert RoundData.from_abi(proxy.functions.getRoundData(int(RoundId(1, 1))).call()) == phase_one
    assert oracle.round(demo_key, RoundId(1, 1)).model_commitment == commitment_of(demo_circuit)
    assert oracle.round(demo_key, new_id).model_commitment == commitment_of(gemm_circuit)
    for missing in (RoundId(1, 2), RoundId(2, 2), RoundId(3, 1)):
        assert view_error(proxy.functions.getRoundData(int(missing))) == err(
            "ZkOracleUnknownRound", demo_key, int(missing)
        )


def test_permissionless_feed_takes_fresh_proofs_from_anyone(
    oracle: ZkOracle,
    owner: TransactionSender,
    outsider: TransactionSender,
    demo_config: CircuitConfig,
    first_proof: Proven,
    second_proof: Proven,
) -> None:
    key = feed_key("open")
    register(owner, oracle, key, feed_params(policy=InputPolicy.ATTESTED, permissionless=True), demo_config)
    owner.transact(oracle.set_attesters(key, attester_addresses(ATTESTERS), 2), what="set attesters")
    evidence = attest(oracle, key, 1, second_proof.instances, ANSWER, second_proof.observed_at, *ATTESTERS[:2])
    confirmed = submit(outsider, oracle, key, second_proof, evidence)
    (event,) = oracle.round_submitted(confirmed.receipt)
    assert event.submitter == outsider.account.address
    assert oracle.round_submission(key, RoundId(1, 1)) == event

    # Anyone may submit, so anyone could replay: an older observation (attested too) and
    # the same proof with the same attestations again are both refused.
    older_evidence = attest(oracle, key, 1, first_proof.instances, ANSWER, first_proof.observed_at, *ATTESTERS)
    older = oracle.submit(key, first_proof.proof_bytes, first_proof.instances, older_evidence)
    assert rejected(owner, older) == err("ZkOracleStaleRound", key, first_proof.observed_at, second_proof.observed_at)
    again = oracle.submit(key, second_proof.proof_bytes, second_proof.instances, evidence)
    assert rejected(owner, again) == err("ZkOracleStaleRound", key, second_proof.observed_at, second_proof.observed_at)
    assert oracle.latest_round_id(key) == RoundId(1, 1)


def test_paused_feed_refuses_a_valid_proof(
    oracle: ZkOracle, demo_key: bytes, owner: TransactionSender, relayer: TransactionSender, first_proof: Proven
) -> None:
    owner.transact(oracle.set_paused(demo_key, True), what="pause")
    call = oracle.submit(demo_key, first_proof.proof_bytes, first_proof.instances)
    assert rejected(relayer, call) == err("ZkOracleFeedPaused", demo_key)
    owner.transact(oracle.set_paused(demo_key, False), what="resume")
    # Refused while paused, the proof still lands once resumed.
    submit(relayer, oracle, demo_key, first_proof)
