"""Sliced feeds on ZkOracle: one proof per proven slice, linked by the KZG commitments inside the proofs.

The real sliced feed (feeds/sliced, 3 slices) is proven once per session; every refusal
below is that valid submission with one thing changed. The oracle's own checks that a real
EZKL verifier never lets through (a verifier answering false, links and layouts of any
shape, freshness and on-chain inputs on the first slice) are reached with stub verifiers.
"""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.contract import Contract
from zkoracle_testkit import (
    ZERO_ADDRESS,
    Proven,
    block_time,
    circuit,
    err,
    events,
    feed_params,
    limb_instances,
    onchain_input,
    quantize,
    register,
    rejected,
    rotate,
    stub_proof,
    stub_time,
    timed,
    view_error,
)

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import answer_from_felt, felt_to_float
from oracle.circuits.slicing.links import POINT_BYTES
from oracle.deployments.contracts import circuit_config, deploy_consumer, deploy_feed, execute_rotation, rotate_feed
from oracle.evm.contracts import CONSUMER, PROXY, bind, feed_key, project_contracts
from oracle.evm.zkoracle import (
    INT192_MAX,
    INT192_MIN,
    MAX_SLICES,
    UNPROVEN_VERIFIER,
    AnswerParams,
    CircuitConfig,
    InputEvidence,
    RoundData,
    RoundId,
    RoundRecord,
    RoundSubmitted,
    SliceConfig,
    ZkOracle,
)
from oracle.exceptions import DeploymentError
from oracle.feeds.schema import FeedSpec
from oracle.provers import Proof
from oracle.provers.feed_proof import FeedProof
from relayer.sender import TransactionSender

STUB_KEY = feed_key("sliced-stub")
UNPROVEN = SliceConfig(UNPROVEN_VERIFIER, 0)  # a slice run but not proven
# Stand-ins for the KZG commitments (64-byte G1 points) to the activations between stub slices.
LINK_1, LINK_2 = b"\x11" * POINT_BYTES, b"\x22" * POINT_BYTES


def expected_answer(proven: FeedProof, sliced: FeedCircuit, spec: FeedSpec) -> int:
    """What the last slice's output instance implies, derived as the contract does."""
    last = proven.proofs[-1]
    assert last is not None
    return answer_from_felt(
        last.instances[sliced.answer_index(spec.output)], scale=sliced.output_scale, decimals=spec.decimals
    )


def inputs_hash(values: list[int]) -> bytes:
    return bytes(Web3.keccak(b"".join(value.to_bytes(32, "big") for value in values)))


def point_hash(point: bytes) -> bytes:
    """How ZkOracleSliceLinkBroken names a link's point: its keccak256, as the contract compares them."""
    return bytes(Web3.keccak(point[:POINT_BYTES]))


def commitment_of(sliced: FeedCircuit) -> bytes:
    return bytes.fromhex(sliced.model_commitment.removeprefix("0x"))


def flipped(proof: bytes, position: int | None = None) -> bytes:
    at = len(proof) // 2 if position is None else position
    return proof[:at] + bytes([proof[at] ^ 0x01]) + proof[at + 1 :]


def consumer_of(w3: Web3, owner: TransactionSender, oracle: ZkOracle, feed_id: str) -> Contract:
    return bind(w3, CONSUMER, deploy_consumer(owner, oracle.address, feed_id))


# --- stub layouts ----------------------------------------------------------------------------


def sliced_stub(verifier: str, slices: tuple[SliceConfig, ...], **overrides: object) -> CircuitConfig:
    """First slice ``[input, limb0, limb1, limb2]``; the answer is the last slice's instance 0."""
    layout: dict[str, object] = {
        "instance_count": 4,
        "input_count": 4,
        "output_index": 0,
        "observed_at_index": 1,
        "slices": slices,
    }
    return circuit(verifier, **{**layout, **overrides})  # type: ignore[arg-type]


def head(oracle: ZkOracle, value: int) -> list[int]:
    """The first stub slice's instances: ``value``, then a fresh observation time."""
    return [value, *limb_instances(stub_time(oracle.w3))]


def stub_slices(*slices: tuple[bytes, list[int]] | None) -> tuple[list[bytes], list[list[int]]]:
    """Per slice, (its boundary commitments, its instances), or None for a slice not proven: distinct stub
    proofs opening with those commitments, as EZKL lays them out; an empty proof and no instances if None."""
    proofs = [b"" if piece is None else piece[0] + stub_proof() for piece in slices]
    return proofs, [[] if piece is None else piece[1] for piece in slices]


def register_stub(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, config: CircuitConfig, **params: object
) -> bytes:
    register(owner, oracle, STUB_KEY, feed_params(**params), config, submitters=(relayer.account.address,))  # type: ignore[arg-type]
    return STUB_KEY


def deploy_value_source(owner: TransactionSender, initial: int) -> Contract:
    compiled = project_contracts()["ExampleValueSource"]
    factory = owner.w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    confirmed = owner.transact(factory.constructor(initial), what="deploy ExampleValueSource")
    return owner.w3.eth.contract(address=confirmed.receipt["contractAddress"], abi=compiled.abi)


# --- accepted rounds -------------------------------------------------------------------------


def test_a_sliced_round_is_verified_linked_stored_and_announced(
    w3: Web3,
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    sliced_key: bytes,
    sliced_spec: FeedSpec,
    sliced_circuit: FeedCircuit,
    sliced_config: CircuitConfig,
    sliced_verifiers: list[str | None],
    sliced_proof: FeedProof,
    sliced_observed_at: int,
) -> None:
    assert sliced_circuit.coverage == (3, 3)
    # The deployer's layout: 8 prices and 3 time limbs in slice 0, nothing in slice 1, the forecast in
    # slice 2; the boundaries are committed inside the proofs.
    assert sliced_verifiers[0] is not None and sliced_verifiers[1] is not None and sliced_verifiers[2] is not None
    layout = circuit(
        sliced_verifiers[0],
        commitment=sliced_config.model_commitment,
        instance_count=11,
        input_count=11,
        output_index=0,
        input_scale=sliced_circuit.input_scale,
        output_scale=sliced_circuit.output_scale,
        observed_at_index=8,
        slices=(SliceConfig(sliced_verifiers[1], 0), SliceConfig(sliced_verifiers[2], 1)),
    )
    assert sliced_config == layout
    assert oracle.circuit(sliced_key)[1] == sliced_config

    proofs, instances = sliced_proof.calldata()
    # The links hold: slice 0's output commitment opens slice 1's proof, whose output commitment opens slice 2's.
    assert proofs[0][:POINT_BYTES] == proofs[1][:POINT_BYTES]
    assert proofs[1][POINT_BYTES : 2 * POINT_BYTES] == proofs[2][:POINT_BYTES]
    confirmed = relayer.transact(oracle.submit_slices(sliced_key, proofs, instances), what="submit sliced round")

    answer = expected_answer(sliced_proof, sliced_circuit, sliced_spec)
    last = sliced_proof.proofs[-1]
    assert last is not None
    assert (
        abs(
            answer / 10**sliced_spec.decimals
            - felt_to_float(last.instances[sliced_circuit.answer_index(0)], sliced_circuit.output_scale)
        )
        < 1e-8
    )
    expected_id = RoundId(1, 1)
    stamp = block_time(w3, confirmed)
    # The event pins the first slice's model inputs; every slice's instances are in the calldata.
    assert oracle.round_submitted(confirmed.receipt) == [
        RoundSubmitted(
            feed_key=sliced_key,
            round_id=expected_id,
            submitter=relayer.account.address,
            answer=answer,
            observed_at=sliced_observed_at,
            inputs_hash=inputs_hash(instances[0][:11]),
            tx_hash=confirmed.tx_hash,
            block_number=confirmed.block_number,
        )
    ]
    observed = sliced_observed_at
    assert oracle.latest_round_data(sliced_key) == RoundData(expected_id, answer, observed, observed, expected_id)
    assert oracle.round(sliced_key, expected_id) == RoundRecord(
        answer=answer,
        observed_at=observed,
        included_at=stamp,
        model_commitment=commitment_of(sliced_circuit),
    )
    assert oracle.coverage(sliced_key, expected_id) == (3, 3)
    consumer = consumer_of(w3, owner, oracle, sliced_spec.id)
    assert consumer.functions.readFullyProven().call() == [answer, int(expected_id)]


def test_a_targeted_round_is_accepted_with_partial_coverage(
    w3: Web3,
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    targeted_key: bytes,
    targeted_config: CircuitConfig,
    targeted_verifiers: list[str | None],
    sliced_spec: FeedSpec,
    targeted_circuit: FeedCircuit,
    targeted_proof: FeedProof,
) -> None:
    assert targeted_circuit.coverage == (2, 3)
    assert targeted_verifiers[2] is not None
    assert targeted_config.slices == (SliceConfig(UNPROVEN_VERIFIER, 0), SliceConfig(targeted_verifiers[2], 1))
    proofs, instances = targeted_proof.calldata()
    assert (proofs[1], instances[1]) == (b"", [])
    relayer.transact(oracle.submit_slices(targeted_key, proofs, instances), what="submit targeted round")

    expected_id = RoundId(1, 1)
    answer = expected_answer(targeted_proof, targeted_circuit, sliced_spec)
    latest = oracle.latest_round_data(targeted_key)
    assert (latest.round_id, latest.answer) == (expected_id, answer)
    assert oracle.coverage(targeted_key, expected_id) == (2, 3)
    # A consumer that needs the whole inference proven refuses it; plain reads still work.
    consumer = consumer_of(w3, owner, oracle, "sliced-targeted")
    assert view_error(consumer.functions.readFullyProven()) == err(
        "ExampleConsumerPartialCoverage", targeted_key, int(expected_id), 2, 3
    )
    assert consumer.functions.readLatest().call()[0] == answer


def test_a_whole_model_feed_takes_one_proof_through_submit_slices(
    oracle: ZkOracle, demo_key: bytes, relayer: TransactionSender, first_proof: Proven, demo_circuit: CircuitArtifacts
) -> None:
    call = oracle.submit_slices(demo_key, [first_proof.proof_bytes], [first_proof.instances])
    confirmed = relayer.transact(call, what="submit whole model as one slice")
    answer = answer_from_felt(first_proof.felts[7], scale=demo_circuit.manifest.output_scale, decimals=8)
    (event,) = oracle.round_submitted(confirmed.receipt)
    assert (event.answer, event.observed_at) == (answer, first_proof.observed_at)
    assert event.inputs_hash == inputs_hash(first_proof.instances[: demo_circuit.manifest.input_instances])
    assert oracle.coverage(demo_key, RoundId(1, 1)) == (1, 1)
    # The same proof is stale for `submit` too: its observation is the feed's latest.
    assert rejected(relayer, oracle.submit(demo_key, first_proof.proof_bytes, first_proof.instances)) == err(
        "ZkOracleStaleRound", demo_key, first_proof.observed_at, first_proof.observed_at
    )
    # One slice, so two proofs are a wrong count.
    two = oracle.submit_slices(demo_key, [first_proof.proof_bytes] * 2, [first_proof.instances] * 2)
    assert rejected(relayer, two) == err("ZkOracleSliceCountMismatch", demo_key, 1, 2)


# --- refusals of real proofs -----------------------------------------------------------------


def test_a_valid_proof_of_slice_1_on_other_activations_breaks_the_link(
    w3: Web3,
    oracle: ZkOracle,
    relayer: TransactionSender,
    sliced_key: bytes,
    sliced_circuit: FeedCircuit,
    sliced_verifiers: list[str | None],
    sliced_proof: FeedProof,
    other_slice1_proof: Proof,
) -> None:
    proofs, instances = sliced_proof.calldata()
    other = other_slice1_proof.proof_bytes
    # On its own the replacement is a valid proof of slice 1: only the link gives it away.
    middle = sliced_circuit.pieces[1].circuit
    assert middle is not None and sliced_verifiers[1] is not None
    verifier = w3.eth.contract(address=sliced_verifiers[1], abi=middle.verifier_abi_and_bytecode()[0])
    assert verifier.functions.verifyProof(other, []).call() is True
    assert other[:POINT_BYTES] != proofs[1][:POINT_BYTES]

    replaced = [proofs[0], other, proofs[2]]
    assert rejected(relayer, oracle.submit_slices(sliced_key, replaced, instances)) == err(
        "ZkOracleSliceLinkBroken", sliced_key, 1, point_hash(proofs[0][:POINT_BYTES]), point_hash(other)
    )
    assert oracle.latest_round_id(sliced_key) is None


def test_a_link_commitment_changed_on_either_side_or_both_fails_verification(
    w3: Web3, oracle: ZkOracle, relayer: TransactionSender, sliced_key: bytes, sliced_proof: FeedProof
) -> None:
    """Every byte of both link commitments (slice 0 → 1 at bytes 0..63 of both proofs; slice 1 → 2 at bytes
    64..127 of slice 1's and 0..63 of slice 2's): a proof carrying an altered point is refused by its own
    verifier, whether the point was changed on one side of the link or alike on both. Every proof is verified
    before any link is compared, so a link can only ever join points that proofs really carry."""
    proofs, instances = sliced_proof.calldata()
    sender = relayer.account.address

    def refusal(changed: list[bytes]) -> str:
        return view_error(oracle.submit_slices(sliced_key, changed, instances), sender=sender)

    for link, output_at in ((1, 0), (2, POINT_BYTES)):
        for offset in range(POINT_BYTES):
            before, after = flipped(proofs[link - 1], output_at + offset), flipped(proofs[link], offset)
            one_side = [*proofs]
            one_side[link] = after
            assert refusal(one_side) == err("ZkOracleInvalidSliceProof", sliced_key, link)
            both = [*proofs]
            both[link - 1], both[link] = before, after
            assert refusal(both) == err("ZkOracleInvalidSliceProof", sliced_key, link - 1)
    assert oracle.latest_round_id(sliced_key) is None


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_flipped_byte_in_a_slice_proof_is_an_invalid_slice_proof(
    oracle: ZkOracle, relayer: TransactionSender, sliced_key: bytes, sliced_proof: FeedProof, index: int
) -> None:
    proofs, instances = sliced_proof.calldata()
    proofs[index] = flipped(proofs[index])
    assert rejected(relayer, oracle.submit_slices(sliced_key, proofs, instances)) == err(
        "ZkOracleInvalidSliceProof", sliced_key, index
    )
    assert oracle.latest_round_id(sliced_key) is None


@pytest.mark.parametrize(("proof_count", "instance_count"), [(2, 2), (4, 4), (3, 2), (3, 4), (0, 0)])
def test_a_wrong_slice_count_is_refused(
    oracle: ZkOracle,
    relayer: TransactionSender,
    sliced_key: bytes,
    sliced_proof: FeedProof,
    proof_count: int,
    instance_count: int,
) -> None:
    proofs, instances = sliced_proof.calldata()
    proofs, instances = (proofs * 2)[:proof_count], (instances * 2)[:instance_count]
    actual = proof_count if proof_count != 3 else instance_count
    assert rejected(relayer, oracle.submit_slices(sliced_key, proofs, instances)) == err(
        "ZkOracleSliceCountMismatch", sliced_key, 3, actual
    )


@pytest.mark.parametrize(("index", "extra"), [(0, 1), (0, -1), (1, 1), (2, -1)])
def test_a_wrong_instance_count_of_a_slice_is_refused(
    oracle: ZkOracle, relayer: TransactionSender, sliced_key: bytes, sliced_proof: FeedProof, index: int, extra: int
) -> None:
    proofs, instances = sliced_proof.calldata()
    expected = len(instances[index])
    instances[index] = instances[index] + [0] if extra > 0 else instances[index][:-1]
    assert rejected(relayer, oracle.submit_slices(sliced_key, proofs, instances)) == err(
        "ZkOracleSliceInstanceCountMismatch", sliced_key, index, expected, expected + extra
    )


def test_submit_on_a_sliced_feed_is_refused(
    oracle: ZkOracle, relayer: TransactionSender, sliced_key: bytes, sliced_proof: FeedProof
) -> None:
    proofs, instances = sliced_proof.calldata()
    assert rejected(relayer, oracle.submit(sliced_key, proofs[0], instances[0])) == err(
        "ZkOracleSliceCountMismatch", sliced_key, 3, 1
    )


@pytest.mark.parametrize("given", ["proof", "instances", "both"])
def test_a_slice_not_proven_takes_no_proof_and_no_instances(
    oracle: ZkOracle,
    relayer: TransactionSender,
    targeted_key: bytes,
    targeted_proof: FeedProof,
    sliced_proof: FeedProof,
    given: str,
) -> None:
    proofs, instances = targeted_proof.calldata()
    full_proofs, full_instances = sliced_proof.calldata()
    if given in ("proof", "both"):
        proofs[1] = full_proofs[1]
    if given in ("instances", "both"):
        instances[1] = [7]  # the proven middle slice has none: anything here is too many
    expected = (
        err("ZkOracleProofForUnprovenSlice", targeted_key, 1)
        if given == "proof"
        else err("ZkOracleSliceInstanceCountMismatch", targeted_key, 1, 0, 1)
    )
    assert rejected(relayer, oracle.submit_slices(targeted_key, proofs, instances)) == expected


def test_a_replayed_sliced_round_is_stale(
    oracle: ZkOracle,
    relayer: TransactionSender,
    sliced_key: bytes,
    sliced_proof: FeedProof,
    sliced_observed_at: int,
) -> None:
    proofs, instances = sliced_proof.calldata()
    relayer.transact(oracle.submit_slices(sliced_key, proofs, instances), what="submit sliced round")
    assert rejected(relayer, oracle.submit_slices(sliced_key, proofs, instances)) == err(
        "ZkOracleStaleRound", sliced_key, sliced_observed_at, sliced_observed_at
    )
    assert oracle.latest_round_id(sliced_key) == RoundId(1, 1)


# --- the deployer ----------------------------------------------------------------------------


def test_deploy_feed_and_rotate_feed_take_sliced_circuits(
    w3: Web3,
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    sliced_spec: FeedSpec,
    sliced_circuit: FeedCircuit,
    targeted_circuit: FeedCircuit,
    sliced_proof: FeedProof,
    targeted_proof: FeedProof,
    sliced_observed_at: int,
) -> None:
    # The session's proofs stay valid for an hour, as the other test feeds accept.
    sliced_spec = sliced_spec.model_copy(
        update={"onchain": sliced_spec.onchain.model_copy(update={"max_observation_age_seconds": 3600})}
    )
    deployment = deploy_feed(
        owner,
        sliced_spec,
        targeted_circuit,
        submitter=relayer.account.address,
        oracle_address=oracle.address,
        with_consumer=True,
    )
    first, middle, last = deployment.slice_verifiers
    assert (deployment.verifier_address, middle) == (first, None) and last is not None
    key = feed_key(sliced_spec.id)
    registered = circuit_config(sliced_spec, targeted_circuit, list(deployment.slice_verifiers))
    assert oracle.circuit(key)[1] == registered
    relayer.transact(oracle.submit_slices(key, *targeted_proof.calldata()), what="submit targeted round")
    consumer = bind(w3, CONSUMER, str(deployment.consumer_address))
    assert view_error(consumer.functions.readFullyProven()) == err(
        "ExampleConsumerPartialCoverage", key, int(RoundId(1, 1)), 2, 3
    )
    # The feed declares an unproven slice, so the deployer made its proxy one that serves such rounds.
    proxy = bind(w3, PROXY, deployment.proxy_address)
    assert proxy.functions.i_acceptsPartialCoverage().call() is True
    assert proxy.functions.latestRoundData().call()[0] == int(RoundId(1, 1))

    rotated, executable_at = rotate_feed(owner, sliced_spec, sliced_circuit, oracle_address=oracle.address)
    assert oracle.pending_rotation(key) == (2, executable_at) and oracle.circuit(key)[0] == 1
    execute_rotation(owner, sliced_spec.id, oracle_address=oracle.address)
    phase, current = oracle.circuit(key)
    assert (phase, current.verifier, len(current.slices)) == (2, rotated, 2)
    assert all(piece.verifier != UNPROVEN_VERIFIER for piece in current.slices)
    # Rounds stay ordered across phases: the full proof of the observation already landed is refused.
    assert rejected(relayer, oracle.submit_slices(key, *sliced_proof.calldata())) == err(
        "ZkOracleStaleRound", key, sliced_observed_at, sliced_observed_at
    )
    assert oracle.coverage(key, RoundId(1, 1)) == (2, 3)


def test_a_sliced_config_needs_one_verifier_per_proven_slice(
    sliced_spec: FeedSpec,
    targeted_circuit: FeedCircuit,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    stub_verifiers: dict[bool, str],
) -> None:
    verifier = stub_verifiers[True]
    for wrong in ([verifier] * 3, [verifier, None], [None, None, verifier], []):
        with pytest.raises(DeploymentError):
            circuit_config(sliced_spec, targeted_circuit, wrong)
    with pytest.raises(DeploymentError):
        circuit_config(demo_spec, FeedCircuit.whole(demo_circuit), [verifier, verifier])
    assert circuit_config(demo_spec, FeedCircuit.whole(demo_circuit), [verifier]).slices == ()


# --- the oracle's checks, with stub verifiers ------------------------------------------------


def test_across_a_slice_not_proven_nothing_is_linked(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    yes = stub_verifiers[True]
    key = register_stub(oracle, owner, relayer, sliced_stub(yes, (UNPROVEN, SliceConfig(yes, 1))))
    answer = 2000 << 13
    first = head(oracle, 7)
    confirmed = relayer.transact(
        oracle.submit_slices(key, *stub_slices((LINK_1, first), None, (LINK_2, [answer]))),
        what="submit targeted stub",
    )
    (event,) = oracle.round_submitted(confirmed.receipt)
    assert (event.answer, event.inputs_hash) == (2000 * 10**8, inputs_hash(first))


def test_answers_of_a_sliced_feed_land_from_the_last_slices_outputs(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    yes = stub_verifiers[True]
    # The last slice proves three outputs: the feed's own at index 0, then its two answers.
    key = register_stub(oracle, owner, relayer, sliced_stub(yes, (SliceConfig(yes, 3),)))
    answers = [feed_key("sliced-stub/first"), feed_key("sliced-stub/second")]
    for offset, answer in enumerate(answers, start=1):
        params = AnswerParams(offset, 8, 60, INT192_MIN, INT192_MAX, f"output {offset}")
        owner.transact(oracle.register_answer(key, answer, params), what="register answer")
    beyond = feed_key("sliced-stub/beyond")
    past = oracle.register_answer(key, beyond, AnswerParams(3, 8, 60, INT192_MIN, INT192_MAX, "no such output"))
    assert rejected(owner, past) == err("ZkOracleOutputIndexOutOfRange", beyond, 3, 0, 3)

    outputs = [1 << 13, 2 << 13, 3 << 13]
    other = b"\x33" * POINT_BYTES
    broken = oracle.submit_slice_answers(key, *stub_slices((LINK_1, head(oracle, 7)), (other, outputs)), answers)
    assert rejected(relayer, broken) == err("ZkOracleSliceLinkBroken", key, 1, point_hash(LINK_1), point_hash(other))
    proofs, instances = stub_slices((LINK_1, head(oracle, 7)), (LINK_1, outputs))
    confirmed = relayer.transact(oracle.submit_slice_answers(key, proofs, instances, answers), what="submit answers")

    landed = oracle.round_submitted(confirmed.receipt)
    assert [(event.feed_key, event.round_id, event.answer) for event in landed] == [
        (answers[0], RoundId(1, 1), 2 * 10**8),
        (answers[1], RoundId(1, 1), 3 * 10**8),
    ]
    assert oracle.latest_round_data(answers[1]).answer == 3 * 10**8
    assert oracle.latest_round_id(key) is None  # the feed's own id carries no value


def test_every_link_between_proven_slices_is_checked(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    yes = stub_verifiers[True]
    key = register_stub(oracle, owner, relayer, sliced_stub(yes, (SliceConfig(yes, 0), SliceConfig(yes, 1))))
    other = b"\x33" * POINT_BYTES
    first = oracle.submit_slices(key, *stub_slices((LINK_1, head(oracle, 7)), (other + LINK_2, []), (LINK_2, [5])))
    assert rejected(relayer, first) == err("ZkOracleSliceLinkBroken", key, 1, point_hash(LINK_1), point_hash(other))
    second = oracle.submit_slices(key, *stub_slices((LINK_1, head(oracle, 7)), (LINK_1 + LINK_2, []), (other, [5])))
    assert rejected(relayer, second) == err("ZkOracleSliceLinkBroken", key, 2, point_hash(LINK_2), point_hash(other))
    proofs, instances = stub_slices((LINK_1, head(oracle, 7)), (LINK_1 + LINK_2, []), (LINK_2, [5]))
    relayer.transact(oracle.submit_slices(key, proofs, instances), what="submit linked stub")


def test_a_slice_verifier_answering_false_is_an_invalid_slice_proof(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    config = sliced_stub(
        stub_verifiers[True], (SliceConfig(stub_verifiers[False], 0), SliceConfig(stub_verifiers[True], 1))
    )
    key = register_stub(oracle, owner, relayer, config)
    call = oracle.submit_slices(key, *stub_slices((LINK_1, head(oracle, 7)), (LINK_1 + LINK_2, []), (LINK_2, [5])))
    assert rejected(relayer, call) == err("ZkOracleInvalidSliceProof", key, 1)


def test_submit_slices_checks_the_feed_and_the_submitter(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    outsider: TransactionSender,
    stub_verifiers: dict[bool, str],
) -> None:
    yes = stub_verifiers[True]
    key = register_stub(oracle, owner, relayer, sliced_stub(yes, (SliceConfig(yes, 1),)))
    valid = ((LINK_1, [7]), (LINK_1, [5]))
    unknown = feed_key("never-registered")
    assert rejected(relayer, oracle.submit_slices(unknown, *stub_slices(*valid))) == err("ZkOracleUnknownFeed", unknown)
    assert rejected(outsider, oracle.submit_slices(key, *stub_slices(*valid))) == err(
        "ZkOracleUnauthorizedSubmitter", key, outsider.account.address
    )
    owner.transact(oracle.set_paused(key, True), what="pause")
    assert rejected(relayer, oracle.submit_slices(key, *stub_slices(*valid))) == err("ZkOracleFeedPaused", key)


def test_the_first_slice_carries_the_observation_time(
    w3: Web3, oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    yes = stub_verifiers[True]
    # Slice 0: three time limbs (its output commitment is in its proof).
    config = sliced_stub(yes, (SliceConfig(yes, 1),), instance_count=3, input_count=3, observed_at_index=0)
    key = register_stub(oracle, owner, relayer, config)
    observed_at = stub_time(w3)
    slices = ((LINK_1, limb_instances(observed_at)), (LINK_1, [5]))
    confirmed = relayer.transact(oracle.submit_slices(key, *stub_slices(*slices)), what="submit timed sliced stub")
    (event,) = oracle.round_submitted(confirmed.receipt)
    assert event.observed_at == observed_at
    assert oracle.round(key, RoundId(1, 1)).observed_at == observed_at
    # A fresh proof of the same observation is stale.
    assert rejected(relayer, oracle.submit_slices(key, *stub_slices(*slices))) == err(
        "ZkOracleStaleRound", key, observed_at, observed_at
    )


def test_the_first_slice_carries_the_onchain_inputs(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    yes = stub_verifiers[True]
    source = deploy_value_source(owner, 2_038_50)  # 2038.50 with 2 decimals
    config = sliced_stub(
        yes, (SliceConfig(yes, 1),), onchain_inputs=(onchain_input(source.address, decimals=2, index=0),)
    )
    key = register_stub(oracle, owner, relayer, config)
    read = quantize(2_038_50, decimals=2, scale=13)
    getter = InputEvidence(source_rounds=(0,))
    wrong = oracle.submit_slices(key, *stub_slices((LINK_1, head(oracle, read + 1)), (LINK_1, [5])), getter)
    assert rejected(relayer, wrong) == err("ZkOracleOnchainInputMismatch", key, 0, read, read + 1)
    call = oracle.submit_slices(key, *stub_slices((LINK_1, head(oracle, read)), (LINK_1, [5])), getter)
    relayer.transact(call, what="submit")
    assert oracle.latest_round_id(key) == RoundId(1, 1)


def test_rotation_between_whole_and_sliced_circuits_keeps_each_phases_coverage(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    yes = stub_verifiers[True]
    whole = circuit(yes)
    key = register_stub(oracle, owner, relayer, whole)
    relayer.transact(oracle.submit(key, stub_proof(), timed(oracle.w3, 1)), what="submit whole round")
    targeted = sliced_stub(yes, (UNPROVEN, SliceConfig(yes, 1)), commitment=b"\x33" * 32)
    confirmed = rotate(owner, oracle, key, targeted)
    (rotated,) = events(oracle.contract.events.FeedRotated(), confirmed)
    assert dict(rotated["args"]) == {"feedId": key, "phaseId": 2, "verifier": yes, "modelCommitment": b"\x33" * 32}
    call = oracle.submit(key, stub_proof(), timed(oracle.w3, 1))
    assert rejected(relayer, call) == err("ZkOracleSliceCountMismatch", key, 3, 1)
    relayer.transact(
        oracle.submit_slices(key, *stub_slices((LINK_1, head(oracle, 7)), None, (LINK_2, [5]))), what="submit sliced"
    )

    assert oracle.coverage(key, RoundId(1, 1)) == (1, 1)
    assert oracle.coverage(key, RoundId(2, 1)) == (2, 3)
    for missing in (RoundId(0, 0), RoundId(2, 2), RoundId(3, 1)):
        assert view_error(oracle.contract.functions.getCoverage(key, int(missing))) == err(
            "ZkOracleUnknownRound", key, int(missing)
        )
    assert oracle.phase_circuit(key, 1) == whole
    assert oracle.phase_circuit(key, 2) == targeted
    # Back to a whole model: `submit` again, and a new phase with coverage (1, 1).
    rotate(owner, oracle, key, whole)
    relayer.transact(oracle.submit(key, stub_proof(), timed(oracle.w3, 1)), what="submit whole round")
    assert oracle.coverage(key, RoundId(3, 1)) == (1, 1)


def test_the_most_slices_register(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    yes = stub_verifiers[True]
    config = sliced_stub(yes, (SliceConfig(yes, 0),) * (MAX_SLICES - 2) + (SliceConfig(yes, 1),))
    key = register_stub(oracle, owner, relayer, config)
    assert oracle.contract.functions.MAX_SLICES().call() == MAX_SLICES  # a constant the binding mirrors
    assert oracle.circuit(key)[1] == config

    def point(boundary: int) -> bytes:
        return boundary.to_bytes(POINT_BYTES, "big")

    chain = (
        [(point(1), head(oracle, 7))]
        + [(point(i) + point(i + 1), []) for i in range(1, MAX_SLICES - 1)]
        + [(point(MAX_SLICES - 1), [5])]
    )
    relayer.transact(oracle.submit_slices(key, *stub_slices(*chain)), what="submit 16 slices")
    assert oracle.coverage(key, RoundId(1, 1)) == (MAX_SLICES, MAX_SLICES)


def _invalid_layouts(yes: str) -> list[tuple[CircuitConfig, str, tuple]]:
    """(config, error name, error arguments after the feed id)."""

    def proven(instance_count: int) -> SliceConfig:
        return SliceConfig(yes, instance_count)

    return [
        (
            sliced_stub(yes, (proven(0),) * (MAX_SLICES - 1) + (proven(1),)),
            "ZkOracleTooManySlices",
            (MAX_SLICES + 1, MAX_SLICES),
        ),
        (sliced_stub(ZERO_ADDRESS, (proven(1),)), "ZkOracleSliceUnproven", (0,)),
        (sliced_stub(yes, (proven(0), UNPROVEN)), "ZkOracleSliceUnproven", (2,)),
        (sliced_stub(yes, (proven(1),), instance_count=5), "ZkOracleSliceInstanceCountInvalid", (0, 5)),
        (
            sliced_stub(yes, (SliceConfig(UNPROVEN_VERIFIER, 2), proven(1))),
            "ZkOracleSliceInstanceCountInvalid",
            (1, 2),
        ),
        (sliced_stub(yes, (proven(1), proven(1))), "ZkOracleSliceInstanceCountInvalid", (1, 1)),
        (sliced_stub(yes, (proven(0), proven(0))), "ZkOracleSliceInstanceCountInvalid", (2, 0)),
        (sliced_stub(yes, (proven(3),), output_index=3), "ZkOracleOutputIndexOutOfRange", (3, 0, 3)),
    ]


LAYOUT_IDS = [
    "17 slices",
    "first unproven",
    "last unproven",
    "first with instances beyond its inputs",
    "unproven with instances",
    "middle with instances",
    "last without output",
    "answer beyond the last slice",
]


@pytest.mark.parametrize("case", range(len(LAYOUT_IDS)), ids=LAYOUT_IDS)
@pytest.mark.parametrize("how", ["register", "rotate"])
def test_invalid_slice_layouts_are_refused(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    stub_verifiers: dict[bool, str],
    case: int,
    how: str,
) -> None:
    config, name, args = _invalid_layouts(stub_verifiers[True])[case]
    if how == "register":
        call = oracle.register_feed(STUB_KEY, feed_params(), config)
        assert rejected(owner, call) == err(name, STUB_KEY, *args)
        assert view_error(oracle.contract.functions.getCircuit(STUB_KEY)) == err("ZkOracleUnknownFeed", STUB_KEY)
    else:
        register_stub(oracle, owner, relayer, circuit(stub_verifiers[True]))
        assert rejected(owner, oracle.propose_rotation(STUB_KEY, config)) == err(name, STUB_KEY, *args)
        assert oracle.pending_rotation(STUB_KEY) is None
        assert oracle.circuit(STUB_KEY)[0] == 1
