"""Rounds against a misbehaving chain: stuck, dropped and reorged transactions, a proof posted by someone else.

These tests switch automine off, drop transactions and reorg blocks, so they run on
their own Anvil, never on the session's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.deployments.keys import sender_for
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.feeds.schema import FeedSpec
from oracle.store import Deployment, FailureKind, Ledger, RoundStatus, Store, SubmissionStatus
from relayer.rounds import RoundRelayer
from relayer.sender import TransactionSender
from tests.relayer.conftest import prove_rounds, round_relayer, rounds_on_chain, rpc


class ObservationClock:
    """This module's observation seconds: the wall clock's, each later than the last handed out.

    A proof takes half a second, so two rounds observed by the wall clock (in one test, or
    in two tests one after the other) can fall in one second: one observation, which the
    oracle takes once.
    """

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        self._last = max(int(time.time()), self._last + 1)
        return self._last


@dataclass(frozen=True)
class Chain:
    w3: Web3
    store: Store
    deployment: Deployment
    sender: TransactionSender
    proofs: Path
    clock: ObservationClock = field(default_factory=ObservationClock)

    @property
    def deployment_id(self) -> int:
        return int(self.deployment.id)  # type: ignore[arg-type]

    def proven_round(self, spec: FeedSpec, circuit: CircuitArtifacts) -> int:
        return self.proven_rounds(spec, circuit, [self.clock.next()])[0]

    def proven_rounds(self, spec: FeedSpec, circuit: CircuitArtifacts, times: list[int]) -> list[int]:
        """Rounds observed at ``times`` and proven, with a block mined after, as a live chain mines meanwhile.

        An idle Anvil mines nothing, and a send estimated on a latest block older than the
        observation would be refused as from the future. A proof takes half a second, and the
        clock may run ahead of the wall clock (see ObservationClock), so the block is stamped no
        earlier than the newest observation.
        """
        proven = prove_rounds(self.store, self.deployment, spec, circuit, self.proofs, times)
        latest = int(self.w3.eth.get_block("latest")["timestamp"])
        rpc(self.w3, "evm_mine", max(latest + 1, *times))
        return proven

    def relayer(self, **options: float) -> RoundRelayer:
        return round_relayer(self.store, self.sender, self.deployment, **options)


@pytest.fixture(scope="module")
def chain(
    tmp_path_factory: pytest.TempPathFactory, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts
) -> Iterator[Chain]:
    folder = tmp_path_factory.mktemp("faults")
    with AnvilNode(log_path=folder / "anvil.log") as node:
        w3 = connect(node.rpc_url)
        store = Store.sqlite(folder / "node.db")
        deployment = ensure_deployment(store, w3, node.rpc_url, demo_spec, FeedCircuit.whole(demo_circuit))
        yield Chain(w3, store, deployment, sender_for(w3, "relayer"), folder / "proofs")


@contextmanager
def automine_off(w3: Web3) -> Iterator[None]:
    rpc(w3, "evm_setAutomine", False)
    try:
        yield
    finally:
        rpc(w3, "evm_setAutomine", True)


@contextmanager
def blocks_keep_coming(w3: Web3, *, every: float = 0.2) -> Iterator[None]:
    """Mine an empty block every ``every`` seconds, as a live chain does, so confirmations accrue."""
    stop = threading.Event()

    def mine() -> None:
        while not stop.wait(every):
            rpc(w3, "evm_mine")

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    try:
        yield
    finally:
        stop.set()
        miner.join()


def test_a_stuck_transaction_is_replaced_with_higher_fees_and_lands_once(
    chain: Chain, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts
) -> None:
    round_id = chain.proven_round(demo_spec, demo_circuit)
    before = rounds_on_chain(chain.w3, chain.deployment)
    with automine_off(chain.w3):
        outcome = chain.relayer(timeout=2.0, replace_after=0.5).relay(round_id)
        assert outcome.round.status is RoundStatus.SUBMITTED  # nothing mines: still in flight
        rpc(chain.w3, "evm_mine")
    outcome = chain.relayer().reconcile(chain.deployment_id)[0]

    assert outcome.landed and rounds_on_chain(chain.w3, chain.deployment) == before + 1
    *replaced, winner = Ledger(chain.store).submissions(round_id)
    assert replaced, "the stuck transaction was never replaced"
    assert winner.status is SubmissionStatus.CONFIRMED and outcome.round.tx_hash == winner.tx_hash
    assert {s.nonce for s in replaced} == {winner.nonce}
    assert all(s.status is SubmissionStatus.REPLACED and s.replaced_by == winner.id for s in replaced)
    offers = [(s.max_fee_per_gas, s.max_priority_fee_per_gas) for s in [*replaced, winner]]
    for (fee, tip), (next_fee, next_tip) in zip(offers, offers[1:], strict=False):
        assert next_fee >= fee * 9 // 8 + 1 and next_tip >= tip * 9 // 8 + 1  # geth's 12.5% replacement rule


def test_a_dropped_transaction_is_sent_again_and_lands_once(
    chain: Chain, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts
) -> None:
    round_id = chain.proven_round(demo_spec, demo_circuit)
    before = rounds_on_chain(chain.w3, chain.deployment)
    with automine_off(chain.w3):
        outcome = chain.relayer(timeout=0.5).relay(round_id)
        assert outcome.round.status is RoundStatus.SUBMITTED
        rpc(chain.w3, "anvil_dropTransaction", outcome.round.tx_hash)
    outcome = chain.relayer().reconcile(chain.deployment_id)[0]

    assert outcome.landed and rounds_on_chain(chain.w3, chain.deployment) == before + 1
    dropped, resent = Ledger(chain.store).submissions(round_id)
    assert dropped.status is SubmissionStatus.DROPPED and dropped.block_number is None
    assert resent.status is SubmissionStatus.CONFIRMED and resent.tx_hash == outcome.round.tx_hash
    assert resent.nonce == dropped.nonce  # the freed nonce was used again: no gap for later transactions


def test_a_reorged_transaction_is_sent_again_and_lands_once_after_n_confirmations(
    chain: Chain, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts
) -> None:
    round_id = chain.proven_round(demo_spec, demo_circuit)
    before = rounds_on_chain(chain.w3, chain.deployment)
    # Mined at once, but one block is not the two confirmations asked for: still in flight.
    outcome = chain.relayer(confirmations=2, timeout=0.5).relay(round_id)
    assert outcome.round.status is RoundStatus.SUBMITTED
    (mined,) = Ledger(chain.store).submissions(round_id)
    assert mined.status is SubmissionStatus.MINED and mined.confirmations == 1
    assert rounds_on_chain(chain.w3, chain.deployment) == before + 1

    rpc(chain.w3, "anvil_reorg", 1, [])  # its block is replaced by an empty one: the round is undone
    assert chain.w3.eth.get_block(mined.block_number)["hash"].to_0x_hex() != mined.block_hash
    assert rounds_on_chain(chain.w3, chain.deployment) == before

    with blocks_keep_coming(chain.w3):
        outcome = chain.relayer(confirmations=2).reconcile(chain.deployment_id)[0]

    assert outcome.landed and rounds_on_chain(chain.w3, chain.deployment) == before + 1
    reorged, resent = Ledger(chain.store).submissions(round_id)
    assert reorged.status is SubmissionStatus.DROPPED and reorged.block_number == mined.block_number
    assert resent.status is SubmissionStatus.CONFIRMED and resent.confirmations >= 2
    assert chain.w3.eth.get_block(resent.block_number)["hash"].to_0x_hex() == resent.block_hash


def test_a_proof_another_transaction_landed_first_counts_as_landed(
    chain: Chain, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts
) -> None:
    round_id = chain.proven_round(demo_spec, demo_circuit)
    before = rounds_on_chain(chain.w3, chain.deployment)
    relayer = chain.relayer(timeout=0.5)
    with automine_off(chain.w3):
        # As when a transaction given up for dropped comes back: the same proof goes out twice.
        first = chain.sender.send(
            relayer._submit_calls(Ledger(chain.store).round(round_id)).function, what="earlier send"
        )
        assert relayer.relay(round_id).round.status is RoundStatus.SUBMITTED
        rpc(chain.w3, "evm_mine")  # both in one block: ours reverts, ZkOracleStaleRound
    outcome = chain.relayer().reconcile(chain.deployment_id)[0]

    assert outcome.landed and outcome.round.tx_hash == first.tx_hash
    assert rounds_on_chain(chain.w3, chain.deployment) == before + 1
    (ours,) = Ledger(chain.store).submissions(round_id)
    assert ours.status is SubmissionStatus.REVERTED and str(ours.error).startswith("ZkOracleStaleRound(")


def test_a_mined_revert_fails_the_round_with_the_decoded_reason(
    chain: Chain, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts
) -> None:
    older, newer = chain.proven_rounds(demo_spec, demo_circuit, [chain.clock.next(), chain.clock.next()])
    before = rounds_on_chain(chain.w3, chain.deployment)
    relayer = chain.relayer(timeout=0.5)
    with automine_off(chain.w3):
        # Both pass their estimate on the latest block; mined together, the older one comes second.
        assert relayer.relay(newer).round.status is RoundStatus.SUBMITTED
        assert relayer.relay(older).round.status is RoundStatus.SUBMITTED
        rpc(chain.w3, "evm_mine")
    outcomes = {o.round.id: o for o in chain.relayer().reconcile(chain.deployment_id)}

    assert outcomes[newer].landed and rounds_on_chain(chain.w3, chain.deployment) == before + 1
    failed = outcomes[older].round
    assert failed.status is RoundStatus.FAILED
    assert f"transaction {failed.tx_hash} reverted: ZkOracleStaleRound(" in str(failed.failure_reason)
    assert (failed.failure_kind, failed.failure_error) == (FailureKind.REVERTED, "ZkOracleStaleRound")
    (reverted,) = Ledger(chain.store).submissions(older)
    assert reverted.status is SubmissionStatus.REVERTED and reverted.block_number is not None
