"""Input policies and circuit breakers: attesters, on-chain input rules, permissionless rules, bounds, halt.

Every rule here is the contract's own, reached with stub verifiers of fixed verdict; the same
rules against real proofs, written as the attacks they stop, are in test_attacks.py.
"""

from __future__ import annotations

from functools import cache

import pytest
from eth_account.messages import encode_typed_data
from web3 import Web3
from web3.contract import Contract
from zkoracle_testkit import (
    ATTESTERS,
    INT192_MAX,
    INT192_MIN,
    OUTSIDER,
    ZERO_ADDRESS,
    aggregator_input,
    attest,
    attester_addresses,
    circuit,
    deploy,
    err,
    events,
    feed_params,
    inputs_hash_of,
    onchain_input,
    register,
    rejected,
    rotate,
    stub_proof,
    timed,
    view_error,
)

from oracle.evm.accounts import dev_account
from oracle.evm.compiler import CompiledContract, compile_sources
from oracle.evm.contracts import feed_key
from oracle.evm.zkoracle import (
    UNPROVEN_VERIFIER,
    Attestation,
    InputEvidence,
    InputPolicy,
    RoundId,
    SliceConfig,
    ZkOracle,
)
from oracle.paths import PROJECT_ROOT
from relayer.sender import TransactionSender

KEY = feed_key("policies")
WALLET_SOURCE = PROJECT_ROOT / "tests" / "contracts" / "harness" / "ERC1271Wallet.sol"
# The stub layout [limb0, limb1, limb2, answer]: three inputs, all of them time.
INPUTS = 3


@cache
def wallet_contract() -> CompiledContract:
    return compile_sources({"ERC1271Wallet.sol": WALLET_SOURCE.read_text()})["ERC1271Wallet"]


def attested_feed(
    oracle: ZkOracle, owner: TransactionSender, verifier: str, *, threshold: int = 2, permissionless: bool = True
) -> bytes:
    register(
        owner, oracle, KEY, feed_params(policy=InputPolicy.ATTESTED, permissionless=permissionless), circuit(verifier)
    )
    if threshold:
        owner.transact(oracle.set_attesters(KEY, attester_addresses(ATTESTERS), threshold), what="set attesters")
    return KEY


def attested_round(oracle: ZkOracle, *signers: int, answer: int = 1, phase: int = 1) -> tuple[list[int], InputEvidence]:
    instances = timed(oracle.w3, answer)
    observed_at = sum((limb >> 13) << (11 * i) for i, limb in enumerate(instances[:3]))
    return instances, attest(oracle, KEY, phase, instances, INPUTS, observed_at, *signers)


# --- attesters ---------------------------------------------------------------------------------


def test_attesters_are_set_announced_and_replaced(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    attested_feed(oracle, owner, stub_verifiers[True], threshold=0)
    assert oracle.attesters(KEY) == ((), 0)
    addresses = attester_addresses(ATTESTERS)
    confirmed = owner.transact(oracle.set_attesters(KEY, addresses, 2), what="set attesters")
    (event,) = events(oracle.contract.events.AttestersSet(), confirmed)
    assert dict(event["args"]) == {"feedId": KEY, "attesters": addresses, "threshold": 2}
    assert oracle.attesters(KEY) == (tuple(addresses), 2)
    # Rotating the keys drops the old ones entirely.
    replacement = attester_addresses((8, 9))
    owner.transact(oracle.set_attesters(KEY, replacement, 1), what="rotate attester keys")
    assert oracle.attesters(KEY) == (tuple(replacement), 1)
    instances, old_keys = attested_round(oracle, *ATTESTERS[:2])
    signer = min(attester_addresses(ATTESTERS[:2]), key=lambda a: int(a, 16))
    assert rejected(owner, oracle.submit(KEY, stub_proof(), instances, old_keys)) == err(
        "ZkOracleAttesterNotAllowed", KEY, signer
    )


def test_only_an_attested_feed_takes_attesters(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    register(owner, oracle, KEY, feed_params(), circuit(stub_verifiers[True]))
    assert rejected(owner, oracle.set_attesters(KEY, attester_addresses(ATTESTERS), 1)) == err(
        "ZkOracleWrongInputPolicy", KEY, int(InputPolicy.OPERATOR)
    )


@pytest.mark.parametrize(("count", "threshold"), [(3, 0), (3, 4), (0, 1), (0, 0), (33, 1)])
def test_attester_set_and_threshold_must_make_sense(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str], count: int, threshold: int
) -> None:
    attested_feed(oracle, owner, stub_verifiers[True], threshold=0)
    addresses = [Web3.to_checksum_address(f"0x{i + 1:040x}") for i in range(count)]
    assert rejected(owner, oracle.set_attesters(KEY, addresses, threshold)) == err(
        "ZkOracleInvalidAttesters", KEY, count, threshold
    )
    assert oracle.attesters(KEY) == ((), 0)


def test_attesters_must_be_distinct_and_non_zero(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    attested_feed(oracle, owner, stub_verifiers[True], threshold=0)
    first = attester_addresses(ATTESTERS)[0]
    for attesters, bad in (([first, ZERO_ADDRESS], ZERO_ADDRESS), ([first, first], first)):
        assert rejected(owner, oracle.set_attesters(KEY, attesters, 1)) == err("ZkOracleInvalidAttester", KEY, bad)


def test_the_digest_is_eip712_over_the_observation(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    attested_feed(oracle, owner, stub_verifiers[True])
    inputs_hash, observed_at = b"\x42" * 32, 1_700_000_000
    message = encode_typed_data(
        full_message={
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "Observation": [
                    {"name": "feedId", "type": "bytes32"},
                    {"name": "phaseId", "type": "uint16"},
                    {"name": "inputsHash", "type": "bytes32"},
                    {"name": "observedAt", "type": "uint64"},
                ],
            },
            "primaryType": "Observation",
            "domain": {
                "name": "ZkOracle",
                "version": "1",
                "chainId": oracle.w3.eth.chain_id,
                "verifyingContract": oracle.address,
            },
            "message": {"feedId": KEY, "phaseId": 1, "inputsHash": inputs_hash, "observedAt": observed_at},
        }
    )
    expected = Web3.keccak(b"\x19" + message.version + message.header + message.body)
    assert oracle.observation_digest(KEY, 1, inputs_hash, observed_at) == bytes(expected)


def test_an_attested_round_needs_the_threshold_of_registered_signers(
    oracle: ZkOracle, owner: TransactionSender, outsider: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    attested_feed(oracle, owner, stub_verifiers[True], threshold=2)
    # One signature of two.
    instances, one = attested_round(oracle, ATTESTERS[0])
    assert rejected(outsider, oracle.submit(KEY, stub_proof(), instances, one)) == err(
        "ZkOracleAttestationThresholdNotMet", KEY, 1, 2
    )
    assert rejected(outsider, oracle.submit(KEY, stub_proof(), instances, InputEvidence())) == err(
        "ZkOracleAttestationThresholdNotMet", KEY, 0, 2
    )
    # The same signer twice counts once: signers must be strictly increasing.
    duplicated = InputEvidence(attestations=one.attestations * 2)
    signer = one.attestations[0].signer
    assert rejected(outsider, oracle.submit(KEY, stub_proof(), instances, duplicated)) == err(
        "ZkOracleAttesterNotAllowed", KEY, signer
    )
    # Two of three, from anyone: accepted, in either order the binding sorts them.
    instances, two = attested_round(oracle, ATTESTERS[2], ATTESTERS[0])
    confirmed = outsider.transact(oracle.submit(KEY, stub_proof(), instances, two), what="attested round")
    (event,) = oracle.round_submitted(confirmed.receipt)
    assert event.submitter == outsider.account.address
    # All three are fine too.
    instances, three = attested_round(oracle, *ATTESTERS)
    outsider.transact(oracle.submit(KEY, stub_proof(), instances, three), what="three attestations")
    assert oracle.latest_round_id(KEY) == RoundId(1, 2)


def test_unsorted_signers_are_refused(
    oracle: ZkOracle, owner: TransactionSender, outsider: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    attested_feed(oracle, owner, stub_verifiers[True], threshold=2)
    instances, evidence = attested_round(oracle, *ATTESTERS[:2])
    ordered = [Attestation(a.signer, a.signature) for a in evidence.attestations]
    ordered.sort(key=lambda a: int(a.signer, 16), reverse=True)
    raw = ([(a.signer, a.signature) for a in ordered], [])
    call = oracle.contract.functions.submitSlices(KEY, [stub_proof()], [instances], raw)
    assert rejected(outsider, call) == err("ZkOracleAttesterNotAllowed", KEY, ordered[1].signer.lower())


def test_a_bad_signature_or_an_unregistered_signer_is_refused(
    oracle: ZkOracle, owner: TransactionSender, outsider: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    attested_feed(oracle, owner, stub_verifiers[True], threshold=1)
    instances, good = attested_round(oracle, ATTESTERS[0])
    # Another key's signature passed off as the attester's.
    forged = attest(oracle, KEY, 1, instances, INPUTS, 0, OUTSIDER).attestations[0].signature  # of another digest too
    claimed = InputEvidence(attestations=(Attestation(good.attestations[0].signer, forged),))
    assert rejected(outsider, oracle.submit(KEY, stub_proof(), instances, claimed)) == err(
        "ZkOracleInvalidAttestation", KEY, good.attestations[0].signer
    )
    # The attester's own signature, of another observation time.
    stale = attest(oracle, KEY, 1, instances, INPUTS, 1, ATTESTERS[0])
    assert rejected(outsider, oracle.submit(KEY, stub_proof(), instances, stale)) == err(
        "ZkOracleInvalidAttestation", KEY, good.attestations[0].signer
    )
    # An unregistered key signing correctly.
    outsider_address = dev_account(OUTSIDER).address
    instances, own = attested_round(oracle, OUTSIDER)
    assert rejected(outsider, oracle.submit(KEY, stub_proof(), instances, own)) == err(
        "ZkOracleAttesterNotAllowed", KEY, outsider_address
    )


def test_a_feed_whose_attesters_were_never_set_takes_no_round(
    oracle: ZkOracle, owner: TransactionSender, outsider: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    attested_feed(oracle, owner, stub_verifiers[True], threshold=0)
    instances = timed(oracle.w3, 1)
    assert rejected(outsider, oracle.submit(KEY, stub_proof(), instances, InputEvidence())) == err(
        "ZkOracleAttestationThresholdNotMet", KEY, 0, 0
    )


def test_attestations_are_bound_to_the_phase(
    oracle: ZkOracle, owner: TransactionSender, outsider: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    attested_feed(oracle, owner, stub_verifiers[True], threshold=1)
    instances, phase_one = attested_round(oracle, ATTESTERS[0])
    rotate(owner, oracle, KEY, circuit(stub_verifiers[True], commitment=b"\x01" * 32))
    assert rejected(outsider, oracle.submit(KEY, stub_proof(), instances, phase_one)) == err(
        "ZkOracleInvalidAttestation", KEY, phase_one.attestations[0].signer
    )
    instances, phase_two = attested_round(oracle, ATTESTERS[0], phase=2)
    outsider.transact(oracle.submit(KEY, stub_proof(), instances, phase_two), what="phase 2 attested round")
    assert oracle.latest_round_id(KEY) == RoundId(2, 1)


def test_a_contract_attester_signs_through_eip1271(
    oracle: ZkOracle, owner: TransactionSender, outsider: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    key_holder = dev_account(ATTESTERS[0])
    wallet: Contract = deploy(owner, wallet_contract(), key_holder.address)
    attested_feed(oracle, owner, stub_verifiers[True], threshold=0)
    owner.transact(oracle.set_attesters(KEY, [wallet.address], 1), what="a contract attester")
    instances = timed(oracle.w3, 1)
    observed_at = sum((limb >> 13) << (11 * i) for i, limb in enumerate(instances[:3]))
    digest = oracle.observation_digest(KEY, 1, inputs_hash_of(instances, INPUTS), observed_at)
    signature = bytes(key_holder.unsafe_sign_hash(digest).signature)
    assert wallet.functions.isValidSignature(digest, signature).call() == bytes.fromhex("1626ba7e")
    by_wallet = InputEvidence(attestations=(Attestation(wallet.address, signature),))
    outsider.transact(oracle.submit(KEY, stub_proof(), instances, by_wallet), what="EIP-1271 attested round")
    assert oracle.latest_round_id(KEY) == RoundId(1, 1)
    # The wallet refuses a signature by any other key.
    instances = timed(oracle.w3, 2)
    observed_at = sum((limb >> 13) << (11 * i) for i, limb in enumerate(instances[:3]))
    digest = oracle.observation_digest(KEY, 1, inputs_hash_of(instances, INPUTS), observed_at)
    other = bytes(dev_account(OUTSIDER).unsafe_sign_hash(digest).signature)
    refused = InputEvidence(attestations=(Attestation(wallet.address, other),))
    assert rejected(outsider, oracle.submit(KEY, stub_proof(), instances, refused)) == err(
        "ZkOracleInvalidAttestation", KEY, wallet.address
    )


# --- permissionless needs inputs that do not depend on the relayer ------------------------------


def test_an_operator_feed_cannot_be_permissionless(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    params = feed_params(policy=InputPolicy.OPERATOR, permissionless=True)
    assert rejected(owner, oracle.register_feed(KEY, params, circuit(stub_verifiers[True]))) == err(
        "ZkOraclePermissionlessNeedsAttestedOrOnchain", KEY, int(InputPolicy.OPERATOR)
    )


def test_a_permissionless_feed_needs_every_slice_proven(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    yes = stub_verifiers[True]
    targeted = circuit(
        yes,
        instance_count=3,
        input_count=3,
        output_index=1,
        slices=(SliceConfig(UNPROVEN_VERIFIER, 0), SliceConfig(yes, 2)),
    )
    fully = circuit(
        yes, instance_count=3, input_count=3, output_index=1, slices=(SliceConfig(yes, 0), SliceConfig(yes, 2))
    )
    params = feed_params(policy=InputPolicy.ATTESTED, permissionless=True)
    assert rejected(owner, oracle.register_feed(KEY, params, targeted)) == err(
        "ZkOraclePermissionlessNeedsFullCoverage", KEY, 2, 3
    )
    register(owner, oracle, KEY, params, fully)
    # Nor can a rotation leave a slice unproven later.
    assert rejected(owner, oracle.propose_rotation(KEY, targeted)) == err(
        "ZkOraclePermissionlessNeedsFullCoverage", KEY, 2, 3
    )
    assert oracle.pending_rotation(KEY) is None
    # An allow-listed feed may run a targeted model.
    other = feed_key("allow-listed targeted")
    register(owner, oracle, other, feed_params(), targeted)


# --- on-chain input rules ------------------------------------------------------------------------


def layout(verifier: str, *inputs: object, prices: int = 1) -> object:
    """``[price..., limb0, limb1, limb2, answer]`` with the given on-chain inputs."""
    return circuit(
        verifier,
        instance_count=prices + 4,
        input_count=prices + 3,
        output_index=prices + 3,
        observed_at_index=prices,
        onchain_inputs=tuple(inputs),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("policy", [InputPolicy.ATTESTED, InputPolicy.ONCHAIN])
def test_a_getter_is_allowed_only_under_the_operator_policy(
    oracle: ZkOracle,
    owner: TransactionSender,
    stub_verifiers: dict[bool, str],
    stub_aggregator: str,
    policy: InputPolicy,
) -> None:
    # A transaction can move a plain view before and after `submit`.
    config = layout(stub_verifiers[True], onchain_input(stub_aggregator, decimals=8, index=0))
    assert rejected(owner, oracle.register_feed(KEY, feed_params(policy=policy), config)) == err(
        "ZkOracleMovableInputNotAllowed", KEY, 0, int(policy)
    )
    register(owner, oracle, KEY, feed_params(policy=InputPolicy.OPERATOR), config)


def test_an_onchain_feed_reads_every_input_but_the_time(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str], stub_aggregator: str
) -> None:
    params = feed_params(policy=InputPolicy.ONCHAIN, permissionless=True)
    one_of_two = layout(stub_verifiers[True], aggregator_input(stub_aggregator, decimals=8, index=0), prices=2)
    assert rejected(owner, oracle.register_feed(KEY, params, one_of_two)) == err(
        "ZkOracleOnchainInputsIncomplete", KEY, 1, 2
    )
    assert rejected(owner, oracle.register_feed(KEY, params, layout(stub_verifiers[True]))) == err(
        "ZkOracleOnchainInputsIncomplete", KEY, 0, 1
    )
    both = layout(
        stub_verifiers[True],
        aggregator_input(stub_aggregator, decimals=8, index=1),
        aggregator_input(stub_aggregator, decimals=8, index=0),
        prices=2,
    )
    register(owner, oracle, KEY, params, both)


def test_an_input_index_is_taken_once_and_never_by_the_time(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str], stub_aggregator: str
) -> None:
    source = stub_aggregator
    twice = layout(
        stub_verifiers[True],
        aggregator_input(source, decimals=8, index=0),
        aggregator_input(source, decimals=8, index=0),
        prices=2,
    )
    assert rejected(owner, oracle.register_feed(KEY, feed_params(), twice)) == err(
        "ZkOracleOnchainInputIndexTaken", KEY, 0
    )
    for limb in (1, 2, 3):  # the layout's time limbs
        on_time = layout(stub_verifiers[True], aggregator_input(source, decimals=8, index=limb))
        assert rejected(owner, oracle.register_feed(KEY, feed_params(), on_time)) == err(
            "ZkOracleOnchainInputIndexTaken", KEY, limb
        )


def test_a_verifier_without_code_is_refused(
    oracle: ZkOracle, owner: TransactionSender, outsider: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    account = outsider.account.address
    assert rejected(owner, oracle.register_feed(KEY, feed_params(), circuit(account))) == err(
        "ZkOracleNotAContract", KEY, account
    )
    yes = stub_verifiers[True]
    sliced = circuit(yes, instance_count=3, input_count=3, output_index=1, slices=(SliceConfig(account, 2),))
    assert rejected(owner, oracle.register_feed(KEY, feed_params(), sliced)) == err(
        "ZkOracleNotAContract", KEY, account
    )
    register(owner, oracle, KEY, feed_params(), circuit(yes))
    assert rejected(owner, oracle.propose_rotation(KEY, circuit(account))) == err("ZkOracleNotAContract", KEY, account)


# --- answer bounds -------------------------------------------------------------------------------


def test_answer_bounds_must_be_ordered(
    oracle: ZkOracle, owner: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    params = feed_params(min_answer=10, max_answer=9)
    assert rejected(owner, oracle.register_feed(KEY, params, circuit(stub_verifiers[True]))) == err(
        "ZkOracleInvalidAnswerBounds", KEY, 10, 9
    )
    register(owner, oracle, KEY, feed_params(min_answer=5, max_answer=5), circuit(stub_verifiers[True]))


def test_an_answer_outside_the_bounds_is_refused(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    low, high = 1000 * 10**8, 5000 * 10**8
    params = feed_params(min_answer=low, max_answer=high)
    register(owner, oracle, KEY, params, circuit(stub_verifiers[True]), submitters=(relayer.account.address,))
    for units, answer in ((999, 999 * 10**8), (5001, 5001 * 10**8)):
        call = oracle.submit(KEY, stub_proof(), timed(oracle.w3, units << 13))
        assert rejected(relayer, call) == err("ZkOracleAnswerOutOfBounds", KEY, answer, low, high)
    for units in (1000, 5000):  # the bounds themselves are inside
        relayer.transact(oracle.submit(KEY, stub_proof(), timed(oracle.w3, units << 13)), what="bounded answer")
    assert oracle.latest_round_data(KEY).answer == high
    assert (INT192_MIN, INT192_MAX) == (feed_params().min_answer, feed_params().max_answer)


# --- halt ----------------------------------------------------------------------------------------


def test_a_halted_feed_refuses_every_read_of_its_rounds(
    oracle: ZkOracle, owner: TransactionSender, relayer: TransactionSender, stub_verifiers: dict[bool, str]
) -> None:
    register(owner, oracle, KEY, feed_params(), circuit(stub_verifiers[True]), submitters=(relayer.account.address,))
    relayer.transact(oracle.submit(KEY, stub_proof(), timed(oracle.w3, 1 << 13)), what="round")
    views = oracle.contract.functions
    first = int(RoundId(1, 1))
    reads = (
        views.latestRoundData(KEY),
        views.latestRoundDataNoOlderThan(KEY, 2**256 - 1),
        views.getRoundData(KEY, first),
        views.getRound(KEY, first),
        views.getCoverage(KEY, first),
    )
    confirmed = owner.transact(oracle.set_halted(KEY, True), what="halt")
    (event,) = events(oracle.contract.events.FeedHaltedSet(), confirmed)
    assert dict(event["args"]) == {"feedId": KEY, "halted": True}
    assert oracle.is_halted(KEY) is True
    for read in reads:
        assert view_error(read) == err("ZkOracleFeedHalted", KEY)
    # What the feed is stays readable, and halting is not pausing: writes still land.
    assert oracle.feed_params(KEY) == feed_params()
    assert oracle.is_paused(KEY) is False
    relayer.transact(oracle.submit(KEY, stub_proof(), timed(oracle.w3, 2 << 13)), what="round while halted")
    assert oracle.latest_round_id(KEY) == RoundId(1, 2)
    confirmed = owner.transact(oracle.set_halted(KEY, False), what="resume reads")
    (event,) = events(oracle.contract.events.FeedHaltedSet(), confirmed)
    assert dict(event["args"]) == {"feedId": KEY, "halted": False}
    assert oracle.latest_round_data(KEY).answer == 2 * 10**8
