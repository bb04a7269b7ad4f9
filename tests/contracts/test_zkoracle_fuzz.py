"""Property: no random mutation of a valid proof or of its instances is ever accepted.

Every example starts from one of the session's two real demo proofs, flips bits of the proof
bytes and/or replaces one instance, and simulates `submit` (an eth_call: fast, and nothing to
undo). Each must revert, and for the reason a model of the contract's checks predicts: the
time limbs are checked before the verifier runs, everything else is left to the verifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from web3 import Web3
from zkoracle_testkit import (
    Proven,
    err,
    feed_params,
    register,
    submit,
    view_error,
)

from oracle.circuits.time_limbs import OBSERVED_AT_LIMB_BITS, OBSERVED_AT_LIMBS
from oracle.deployments.contracts import deploy_oracle
from oracle.evm.contracts import feed_key
from oracle.evm.zkoracle import FIELD_MODULUS, CircuitConfig, RoundId, ZkOracle
from relayer.sender import TransactionSender

EXAMPLES = 200
KEY = feed_key("fuzzed")
MAX_AGE = 3600  # feed_params' default
FIRST_LIMB, INPUT_SCALE, INSTANCES = 4, 13, 8  # the demo layout: 4 prices, 3 time limbs, the forecast


@dataclass(frozen=True)
class Mutation:
    base: int  # which real proof
    flip: tuple[int, int] | None  # (byte position, xor mask)
    instance: tuple[int, str, int] | None  # (index, how, operand)


@pytest.fixture(scope="module")
def fuzzed_oracle(
    w3: Web3, owner: TransactionSender, relayer: TransactionSender, demo_config: CircuitConfig
) -> ZkOracle:
    # One oracle for all examples: they are only simulated, so it never stores a round.
    oracle = ZkOracle(w3, deploy_oracle(owner))
    register(owner, oracle, KEY, feed_params(), demo_config, submitters=(relayer.account.address,))
    return oracle


def mutations(proof_length: int) -> st.SearchStrategy[Mutation]:
    flips = st.tuples(st.integers(0, proof_length - 1), st.integers(1, 255))
    instance_changes = st.one_of(
        st.tuples(st.integers(0, INSTANCES - 1), st.just("add"), st.integers(-(2**64), 2**64).filter(bool)),
        st.tuples(st.integers(0, INSTANCES - 1), st.just("replace"), st.integers(0, FIELD_MODULUS - 1)),
        # The same field element, encoded out of canonical range.
        st.tuples(st.integers(0, INSTANCES - 1), st.just("add"), st.just(FIELD_MODULUS)),
    )
    return st.one_of(
        st.builds(Mutation, st.integers(0, 1), flips, st.none()),
        st.builds(Mutation, st.integers(0, 1), st.none(), instance_changes),
        st.builds(Mutation, st.integers(0, 1), flips, instance_changes),
    )


def apply(mutation: Mutation, proven: Proven) -> tuple[bytes, list[int]]:
    proof, instances = bytearray(proven.proof_bytes), proven.instances
    if mutation.flip is not None:
        position, mask = mutation.flip
        proof[position] ^= mask
    if mutation.instance is not None:
        index, how, operand = mutation.instance
        original = instances[index]
        instances[index] = (original + operand) % 2**256 if how == "add" else operand
        assume(instances[index] != original)
    return bytes(proof), instances


def predicted_reason(instances: list[int], block_time: int) -> str:
    """ZkOracle's checks before the verifier, for a feed with no round yet; then the verifier's verdict."""
    unit, observed_at = 1 << INPUT_SCALE, 0
    for i in range(OBSERVED_AT_LIMBS):
        instance = instances[FIRST_LIMB + i]
        limb, rest = divmod(instance, unit)
        if rest or limb >> OBSERVED_AT_LIMB_BITS:
            return err("EzklInstancesMalformedTimeLimb", i, instance)
        observed_at |= limb << (OBSERVED_AT_LIMB_BITS * i)
    # No skew: an observation after the block's time is refused outright.
    if observed_at > block_time:
        return err("ZkOracleObservationFromFuture", KEY, observed_at, block_time)
    if block_time > observed_at + MAX_AGE:
        return err("ZkOracleObservationTooOld", KEY, observed_at, block_time - MAX_AGE)
    return err("ZkOracleInvalidProof", KEY)


def test_no_mutated_proof_or_instance_is_accepted(
    w3: Web3,
    fuzzed_oracle: ZkOracle,
    relayer: TransactionSender,
    first_proof: Proven,
    second_proof: Proven,
) -> None:
    bases = (first_proof, second_proof)
    submitter = relayer.account.address
    # The unmutated proofs would be accepted, so every refusal below is the mutation's doing.
    for proven in bases:
        call = fuzzed_oracle.submit(KEY, proven.proof_bytes, proven.instances)
        assert RoundId.decode(call.call({"from": submitter})) == RoundId(1, 1)
    assert len(first_proof.proof_bytes) == len(second_proof.proof_bytes)
    # eth_call runs against the latest block, and simulating mines nothing, so its time is fixed.
    block_time = int(w3.eth.get_block("latest")["timestamp"])
    tried: set[Mutation] = set()
    reasons: set[str] = set()

    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(mutation=mutations(len(first_proof.proof_bytes)))
    def never_accepted(mutation: Mutation) -> None:
        proof, instances = apply(mutation, bases[mutation.base])
        reason = view_error(fuzzed_oracle.submit(KEY, proof, instances), sender=submitter)
        assert reason == predicted_reason(instances, block_time)
        tried.add(mutation)
        reasons.add(reason.split("(")[0])

    never_accepted()

    assert len(tried) >= EXAMPLES
    # Both layers were exercised: the oracle's own time checks and the verifier.
    assert {"ZkOracleInvalidProof", "EzklInstancesMalformedTimeLimb"} <= reasons
    assert fuzzed_oracle.latest_round_id(KEY) is None
    # The feed was live all along: the real proof lands as a transaction.
    submit(relayer, fuzzed_oracle, KEY, first_proof)
    assert fuzzed_oracle.latest_round_id(KEY) == RoundId(1, 1)
