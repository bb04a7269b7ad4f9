"""Reconciling after a crash: every round a run left unfinished lands exactly once or fails with a reason."""

from __future__ import annotations

import time
from pathlib import Path

from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.deployments.keys import sender_for
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.feeds.schema import FeedSpec
from oracle.store import FailureKind, Ledger, Round, RoundStatus, Store, SubmissionStatus
from relayer.rounds import submission_of
from tests.relayer.conftest import in_phase, prove_rounds, round_relayer, rounds_on_chain


def test_reconcile_finishes_every_round_a_crashed_run_left(
    tmp_path: Path, w3: Web3, anvil: AnvilNode, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts
) -> None:
    store = Store.sqlite(tmp_path / "node.db")
    deployment = ensure_deployment(store, w3, anvil.rpc_url, demo_spec, FeedCircuit.whole(demo_circuit))
    t0 = time.time() - 10
    # Landing order must follow observation time: the in-flight rounds land first, then the proven one.
    unbroadcast, broadcast, proven, too_old, stale = prove_rounds(
        store, deployment, demo_spec, demo_circuit, tmp_path / "proofs", [t0 + 1, t0 + 2, t0 + 3, t0 - 200, t0]
    )
    abandoned = Round(
        feed_id="demo",
        deployment_id=int(deployment.id),
        circuit_key="k",
        inputs_json="[]",  # type: ignore[arg-type]
    )
    store.add(abandoned)  # the node died while proving it

    # What a run leaves when killed between recording a transaction and broadcasting it, and after broadcasting one.
    sender, ledger = sender_for(w3, "relayer"), Ledger(store)
    relayer = round_relayer(store, sender, deployment)
    signed = {}
    for round_id in (unbroadcast, broadcast):
        tx = sender.estimate(relayer._submit_calls(ledger.round(round_id)).function, what="before the crash")
        signed[round_id] = sender.sign(tx)
        ledger.record_signed(submission_of(round_id, signed[round_id]))
    sender.broadcast(signed[broadcast], what="before the crash")
    # The unbroadcast nonce is a gap: the chain holds the broadcast transaction back behind it.
    assert sender.lookup(signed[broadcast].tx_hash).state == "pending"

    outcomes = {o.round.id: o for o in round_relayer(store, sender_for(w3, "relayer"), deployment).reconcile(int(deployment.id))}  # type: ignore[arg-type]

    assert set(outcomes) == {abandoned.id, unbroadcast, broadcast, proven, too_old, stale}
    assert [r.id for r in store.rounds(status=RoundStatus.LANDED)] == [unbroadcast, broadcast, proven]
    assert rounds_on_chain(w3, deployment) == 3
    assert sorted(
        in_phase(outcomes[i].round.onchain_round_id) for i in (unbroadcast, broadcast, proven)
    ) == [
        1,
        2,
        3,
    ]

    # The broadcast transaction was followed, not sent again; the unbroadcast one was sent anew, on its own nonce.
    assert [(s.tx_hash, s.status) for s in ledger.submissions(broadcast)] == [
        (signed[broadcast].tx_hash, SubmissionStatus.CONFIRMED)
    ]
    first, resent = ledger.submissions(unbroadcast)
    assert (first.tx_hash, first.status) == (signed[unbroadcast].tx_hash, SubmissionStatus.DROPPED)
    assert resent.status is SubmissionStatus.CONFIRMED and resent.nonce == first.nonce
    assert resent.max_fee_per_gas > first.max_fee_per_gas  # a new transaction, not the old one again
    assert outcomes[unbroadcast].round.tx_hash == resent.tx_hash

    # A round already older than the feed's max observation age is dropped unsent, saying so; one the
    # contract refuses ends FAILED with its decoded reason. Neither reaches the chain.
    assert "over the feed's max observation age of 120 s" in str(outcomes[too_old].round.failure_reason)
    assert "ZkOracleStaleRound(" in str(outcomes[stale].round.failure_reason)
    assert "abandoned" in str(outcomes[abandoned.id].round.failure_reason)  # type: ignore[index]
    assert [(outcomes[i].round.failure_kind, outcomes[i].round.failure_error) for i in (too_old, stale)] == [
        (FailureKind.EXPIRED, None),
        (FailureKind.REFUSED, "ZkOracleStaleRound"),
    ]
    assert outcomes[abandoned.id].round.failure_kind is FailureKind.ABANDONED  # type: ignore[index]
    for failed in (too_old, stale, abandoned.id):
        assert outcomes[failed].round.status is RoundStatus.FAILED  # type: ignore[index]
        assert ledger.submissions(failed) == []  # type: ignore[arg-type]

    # A second restart finds nothing left to do and posts nothing.
    assert round_relayer(store, sender_for(w3, "relayer"), deployment).reconcile(int(deployment.id)) == []  # type: ignore[arg-type]
    assert rounds_on_chain(w3, deployment) == 3
