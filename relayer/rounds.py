"""Posting proven rounds to ZkOracle and following each until it has landed or failed.

A round goes PROVEN → SUBMITTED → LANDED or FAILED. Every transaction sent for it is a
:class:`~oracle.store.Submission` row written once it is signed and before it is
broadcast, so after a crash :meth:`RoundRelayer.reconcile` can ask the chain about every
transaction that may exist. While a round is SUBMITTED its transactions are followed:

- mined in a canonical block: the round is LANDED once the block is ``confirmations``
  deep; a mined revert is decoded by replaying the call on that block's state;
- still pending after ``replace_after`` seconds: sent again with the same nonce and fees
  raised by at least 12.5%, the rule nodes apply to replacements;
- gone (dropped from the mempool, or its block reorged away): the round goes back to
  PROVEN and is sent again.

The contract takes only observations later than the feed's latest, so a proof can never
land twice. A re-send refused with ZkOracleStaleRound may mean the proof did land, by
some transaction: its RoundSubmitted event is looked up and the round recorded as landed
by it; otherwise a newer round got there first and this one is refused. After a restart,
a proven round already older than the feed's max observation age is not sent at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web3.contract.contract import ContractFunction

from oracle.evm.chains import is_dev_chain
from oracle.evm.errors import DecodedRevert
from oracle.evm.zkoracle import OBSERVATION_FROM_FUTURE, STALE_ROUND, RoundSubmitted, ZkOracle
from oracle.exceptions import RelayError
from oracle.store import FailureKind, Ledger, Round, RoundStatus, Store, Submission, SubmissionStatus
from oracle.store.crashpoints import crash_point
from oracle.store.models import utcnow
from relayer.fees import Fees, market_fees
from relayer.sender import NONCE_ATTEMPTS, Lookup, NonceConflict, Signed, TransactionSender, TxState

log = logging.getLogger(__name__)

# How far back a round's landing is searched for. The oracle refuses observations older
# than the feed's max age (minutes), so a round that landed at all landed recently.
LANDING_LOOKBACK_BLOCKS = 10_000
# How far ahead of this machine's clock an observation is waited for before sending (the
# oracle refuses observations after the block's time); beyond it the round is refused.
MAX_CLOCK_LEAD_SECONDS = 30
# A chain that keeps losing a round's transactions will not be argued with forever.
MAX_LOST = 5
# Blocks a round's transaction must be under (its own included) before the round counts as
# landed: a local dev chain reorgs only on request; elsewhere a few blocks ride out short reorgs.
DEV_CONFIRMATIONS = 1
CONFIRMATIONS = 3


def default_confirmations(chain_id: int) -> int:
    return DEV_CONFIRMATIONS if is_dev_chain(chain_id) else CONFIRMATIONS


@dataclass(frozen=True)
class SubmitCall:
    """A proven round as a ready ZkOracle call, and the inputs hash its RoundSubmitted event(s) will carry."""

    function: ContractFunction
    inputs_hash: bytes
    # The ids the call stores rounds under, one RoundSubmitted event each (several answers of one proof);
    # empty: the round's own feed id.
    event_ids: tuple[str, ...] = ()


# Turns a proven round into its call: the node knows proofs and circuits, the relayer only sends.
SubmitCalls = Callable[[Round], SubmitCall]


@dataclass(frozen=True)
class RelayOutcome:
    round: Round
    landed: bool  # when False, round.status tells failed (FAILED) from still in flight (SUBMITTED)


class RoundRelayer:
    """Sends proven rounds and follows their transactions until each round has landed once or failed."""

    def __init__(
        self,
        store: Store,
        sender: TransactionSender,
        *,
        submit_calls: SubmitCalls,
        confirmations: int | None = None,
        timeout: float = 120.0,
        replace_after: float = 30.0,
    ) -> None:
        """``submit_calls``: a proven round's ZkOracle call;
        ``confirmations``: default :func:`default_confirmations` of the sender's chain;
        ``timeout``: how long :meth:`relay` follows a round before leaving it in flight for
        the next :meth:`reconcile`; ``replace_after``: seconds before a pending transaction
        is replaced with higher fees."""
        if confirmations is None:
            confirmations = default_confirmations(sender.w3.eth.chain_id)
        if confirmations < 1:
            raise ValueError("confirmations must be at least 1 (the including block)")
        self._store = store
        self._ledger = Ledger(store)
        self._sender = sender
        self._submit_calls = submit_calls
        self._confirmations = confirmations
        self._timeout = timeout
        self._replace_after = replace_after

    def relay(self, round_id: int) -> RelayOutcome:
        """Send a PROVEN round and follow it; any other round is returned as it is."""
        row = self._ledger.round(round_id)
        if row.status is not RoundStatus.PROVEN:
            return RelayOutcome(row, landed=row.status is RoundStatus.LANDED)
        # Rounds an earlier relay left in flight (not final within the timeout) get a look first,
        # so a node that keeps running settles them without waiting for a restart.
        for in_flight in self._ledger.round_ids(row.deployment_id, (RoundStatus.SUBMITTED,)):
            self._step(in_flight)
        return self._send(row)

    def reconcile(self, deployment_id: int) -> list[RelayOutcome]:
        """Finish the deployment's rounds an earlier run left unfinished; call before relaying anything new.

        A round left SUBMITTED is settled from what the chain says about its transactions,
        one left PROVEN is sent, and one left OBSERVED (the node stopped while proving) is
        failed: a newer observation replaces it.
        """
        outcomes = []
        for round_id in self._ledger.round_ids(deployment_id, (RoundStatus.OBSERVED,)):
            reason = "abandoned: the node stopped before the round's proof was stored"
            outcomes.append(RelayOutcome(self._ledger.fail(round_id, FailureKind.ABANDONED, reason), landed=False))
        # Transactions in flight before proven rounds: one sent ahead of them would only be refused as stale.
        # Among them, those the chain never saw go first: sent again, they fill the nonce gaps that
        # transactions broadcast after them are held back behind.
        submitted = self._ledger.round_ids(deployment_id, (RoundStatus.SUBMITTED,))
        unseen = [round_id for round_id in submitted if self._unseen(round_id)]
        for round_id in unseen + [round_id for round_id in submitted if round_id not in unseen]:
            outcomes.append(self._follow(round_id))
        for round_id in self._ledger.round_ids(deployment_id, (RoundStatus.PROVEN,)):
            row = self._ledger.round(round_id)
            expired = self._expired(row)
            if expired is not None:
                outcomes.append(RelayOutcome(self._ledger.fail(round_id, FailureKind.EXPIRED, expired), landed=False))
            else:
                outcomes.append(self._send(row))
        return outcomes

    def _expired(self, row: Round) -> str | None:
        """Why a proven round is too old to send (the oracle would refuse it), or None."""
        max_age = self._oracle(row).feed_params(row.feed_id).max_observation_age
        now = int(self._sender.w3.eth.get_block("latest")["timestamp"])
        if row.observed_at is None or now - row.observed_at <= max_age:
            return None
        return (
            f"{self._what(row)}: not sent, observed {now - row.observed_at} s ago, "
            f"over the feed's max observation age of {max_age} s"
        )

    # ---------------------------------------------------------------- sending

    def _send(self, row: Round) -> RelayOutcome:
        round_id = int(row.id)  # type: ignore[arg-type]
        try:
            tx = self._estimate(row)
        except RelayError as exc:
            if _is_stale(exc.revert) and (event := self._landing_event(row)) is not None:
                return self._landed_by(row, event)
            error = exc.revert.name if exc.revert else None
            return RelayOutcome(self._ledger.fail(round_id, FailureKind.REFUSED, str(exc), error=error), landed=False)
        fees = self._fees(round_id)
        for _ in range(NONCE_ATTEMPTS):
            signed = self._sender.sign(tx, fees=fees)
            submission = self._ledger.record_signed(submission_of(round_id, signed))
            try:
                self._sender.broadcast(signed, what=self._what(row))
            except NonceConflict as exc:
                self._ledger.update(submission, status=SubmissionStatus.DROPPED, error=str(exc))
                continue  # the next allocation skips past what the node has seen
            except RelayError as exc:
                self._sender.nonces.release(signed.nonce)
                self._ledger.update(submission, status=SubmissionStatus.DROPPED, error=str(exc))
                return RelayOutcome(self._ledger.fail(round_id, FailureKind.REFUSED, str(exc)), landed=False)
            self._ledger.update(submission, status=SubmissionStatus.PENDING, broadcast_at=utcnow())
            crash_point("after_tx_sent")
            return self._follow(round_id)
        reason = f"{self._what(row)}: the node refused {NONCE_ATTEMPTS} fresh nonces in a row"
        return RelayOutcome(self._ledger.fail(round_id, FailureKind.NONCE, reason), landed=False)

    def _estimate(self, row: Round) -> dict[str, Any]:
        call = self._submit_calls(row).function
        try:
            return self._sender.estimate(call, what=self._what(row))
        except RelayError as exc:
            if exc.revert is None or exc.revert.name != OBSERVATION_FROM_FUTURE:
                raise
            # The latest block may be older than the observation (an idle chain mines no blocks);
            # the round lands in the next block, whose time is now, once now has passed the
            # observation (a node's clock a little ahead of the chain's).
            ahead = (row.observed_at or 0) - time.time()
            if 0 < ahead <= MAX_CLOCK_LEAD_SECONDS:
                time.sleep(ahead + 1)
            return self._sender.estimate(call, what=self._what(row), block="pending")

    def _fees(self, round_id: int, *, nonce: int | None = None) -> Fees:
        """Today's fees; for a round sent before (of that nonce), ≥ 12.5% over the most it offered.

        A replacement must outbid its predecessor, and a transaction sent again after a drop
        should not offer what got it evicted; it is also a new transaction, with its own hash.
        """
        market = market_fees(self._sender.w3)
        earlier = [s for s in self._ledger.submissions(round_id) if nonce is None or s.nonce == nonce]
        if not earlier:
            return market
        offered = Fees(max(s.max_fee_per_gas for s in earlier), max(s.max_priority_fee_per_gas for s in earlier))
        return offered.bumped(market)

    def _replace(self, row: Round, pending: Submission) -> None:
        """Send the stuck transaction ``pending`` again with the same nonce and higher fees."""
        fees = self._fees(int(row.id), nonce=pending.nonce)  # type: ignore[arg-type]
        signed = self._sender.replacement(pending.tx_hash, fees)
        if signed is None:
            return  # mined or gone meanwhile: the next look settles it
        submission = self._ledger.record_signed(submission_of(int(row.id), signed))  # type: ignore[arg-type]
        try:
            self._sender.broadcast(signed, what=self._what(row))
        except RelayError as exc:  # e.g. the nonce was mined meanwhile
            self._ledger.update(submission, status=SubmissionStatus.DROPPED, error=str(exc))
            return
        self._ledger.update(submission, status=SubmissionStatus.PENDING, broadcast_at=utcnow())
        log.info(
            "%s: replaced stuck %s by %s (nonce %d)", self._what(row), pending.tx_hash, signed.tx_hash, signed.nonce
        )

    # ---------------------------------------------------------------- following

    def _follow(self, round_id: int) -> RelayOutcome:
        deadline = time.monotonic() + self._timeout
        while True:
            outcome = self._step(round_id)
            if outcome is not None:
                return outcome
            if time.monotonic() >= deadline:
                row = self._ledger.round(round_id)
                log.warning(
                    "%s: not final after %.0fs; left in flight for the next reconcile", self._what(row), self._timeout
                )
                return RelayOutcome(row, landed=False)
            time.sleep(self._sender.poll_interval)

    def _step(self, round_id: int) -> RelayOutcome | None:
        """Look at the round's live transactions once; an outcome when the round is settled."""
        row = self._ledger.round(round_id)
        live = self._ledger.submissions(round_id, live=True)
        looks = [(submission, self._sender.lookup(submission.tx_hash)) for submission in live]
        for submission, found in looks:
            if found.state is TxState.MINED:
                return self._mined(row, submission, found)
        for submission, found in looks:
            if submission.status is SubmissionStatus.MINED:
                log.warning(
                    "%s: block %s of %s left the canonical chain",
                    self._what(row),
                    submission.block_number,
                    submission.tx_hash,
                )
            if submission.status is not SubmissionStatus.PENDING and found.state is TxState.PENDING:
                self._ledger.update(submission, status=SubmissionStatus.PENDING, confirmations=0)
        if not any(found.state is TxState.PENDING for _, found in looks):
            return self._resend(row, live)
        # Timed from the newest attempt, so a refused replacement also waits before the next one.
        newest = self._ledger.submissions(round_id)[-1]
        if (utcnow() - newest.created_at).total_seconds() >= self._replace_after:
            self._replace(row, live[-1])
        return None

    def _mined(self, row: Round, submission: Submission, found: Lookup) -> RelayOutcome | None:
        receipt = found.receipt
        assert receipt is not None  # a mined lookup carries its receipt
        if found.confirmations < self._confirmations:
            self._ledger.update(submission, status=SubmissionStatus.MINED, **_inclusion(found))
            return None
        crash_point("after_receipt")
        if receipt["status"] == 1:
            return self._land(row, found, winner=submission)
        revert = self._sender.revert_reason(receipt)
        round_id = int(row.id)  # type: ignore[arg-type]
        if _is_stale(revert) and (event := self._landing_event(row)) is not None:
            # Another transaction carried this proof first (one of ours given up for dropped, or another relayer's).
            self._ledger.settle(submission, SubmissionStatus.REVERTED, error=str(revert), **_inclusion(found))
            return self._landed_by(row, event)
        self._ledger.update(submission, **_inclusion(found))
        message = f"{self._what(row)}: transaction {submission.tx_hash} reverted: {revert}"
        failed = self._ledger.fail(round_id, FailureKind.REVERTED, message, error=revert.name, reverted=submission)
        return RelayOutcome(failed, landed=False)

    def _resend(self, row: Round, live: list[Submission]) -> RelayOutcome:
        """None of the round's transactions is pending or mined: record them dropped and send the round again."""
        round_id = int(row.id)  # type: ignore[arg-type]
        nonce = live[-1].nonce if live else None
        self._ledger.back_to_proven(round_id, live, error="neither in the mempool nor in the canonical chain")
        if nonce is not None and self._sender.w3.eth.get_transaction_count(self._sender.account.address) <= nonce:
            self._sender.nonces.release(nonce)  # unused: let the re-send (or the next send) fill the gap
        lost = sum(
            s.status is SubmissionStatus.DROPPED and s.broadcast_at is not None  # taken by the node, then lost
            for s in self._ledger.submissions(round_id)
        )
        if lost >= MAX_LOST:
            reason = f"{self._what(row)}: its transactions were dropped or reorged away {lost} times; giving up"
            return RelayOutcome(self._ledger.fail(round_id, FailureKind.DROPPED, reason), landed=False)
        log.warning("%s: transaction dropped or reorged away; sending the round again", self._what(row))
        return self._send(self._ledger.round(round_id))

    def _unseen(self, round_id: int) -> bool:
        """None of the round's transactions is pending or mined (never broadcast, or dropped)."""
        live = self._ledger.submissions(round_id, live=True)
        return all(self._sender.lookup(s.tx_hash).state is TxState.UNKNOWN for s in live)

    # ---------------------------------------------------------------- landing

    def _land(self, row: Round, found: Lookup, *, winner: Submission | None) -> RelayOutcome:
        receipt = found.receipt
        assert receipt is not None  # a mined lookup carries its receipt
        ids = self._submit_calls(row).event_ids
        events: dict[str, RoundSubmitted] = {}
        for feed in ids or (row.feed_id,):
            # An answer another transaction already landed from the same proof (anyone may relay a
            # subset of its answers first) has no event in this receipt: its own logs tell.
            found_here = self._oracle(row).round_submitted(receipt, feed=feed)
            event = found_here[0] if found_here else self._landing_event(row, answer=feed)
            if event is not None:
                events[feed] = event
        event = next(iter(events.values()))  # the round's own columns: its first answer's
        landed = self._ledger.land(
            int(row.id),  # type: ignore[arg-type]
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            nonce=int(self._sender.w3.eth.get_transaction(receipt["transactionHash"])["nonce"]),
            gas_used=int(receipt["gasUsed"]),
            onchain_round_id=int(event.round_id),
            answer=event.answer,
            winner=winner,
            inclusion=_inclusion(found),
            answers={feed: (int(landed.round_id), landed.answer) for feed, landed in events.items()} if ids else None,
        )
        return RelayOutcome(landed, landed=True)

    def _landed_by(self, row: Round, event: RoundSubmitted) -> RelayOutcome:
        """The oracle holds this round's proof, landed by ``event``'s transaction (one of ours, or anyone's
        relaying the same proof): record the round as landed by it once it is deep enough."""
        tx_hash = event.tx_hash
        deadline = time.monotonic() + self._timeout
        found = self._sender.lookup(tx_hash)
        while found.state is TxState.MINED and found.confirmations < self._confirmations:
            if time.monotonic() >= deadline:
                return RelayOutcome(row, landed=False)  # proof spent, not yet deep: the next reconcile looks again
            time.sleep(self._sender.poll_interval)
            found = self._sender.lookup(tx_hash)
        if found.state is not TxState.MINED:
            return RelayOutcome(row, landed=False)  # its block was just reorged away: the next reconcile looks again
        log.info("%s: its proof landed in %s", self._what(row), tx_hash)
        return self._land(row, found, winner=self._ledger.by_hash(tx_hash))

    def _landing_event(self, row: Round, *, answer: str | None = None) -> RoundSubmitted | None:
        """The event that landed this round's proof: under ``answer``'s id, or (by default) the feed's
        (rounds of several answers are stored under the answers' ids: the first one's events tell)."""
        call = self._submit_calls(row)
        latest = self._sender.w3.eth.block_number
        events = self._oracle(row).round_submitted_logs(
            answer or (call.event_ids or (row.feed_id,))[0],
            from_block=max(0, latest - LANDING_LOOKBACK_BLOCKS),
            to_block=latest,
        )
        inputs_hash = call.inputs_hash
        # The inputs include the proven observation time, which the feed takes once: an event
        # with these inputs is this round's proof (or one of the same inputs, hence answer) landed.
        return next((event for event in events if event.inputs_hash == inputs_hash), None)

    # ---------------------------------------------------------------- helpers

    def _oracle(self, row: Round) -> ZkOracle:
        return ZkOracle(self._sender.w3, self._store.deployment(row.deployment_id).oracle_address)

    @staticmethod
    def _what(row: Round) -> str:
        return f"feed '{row.feed_id}' round {row.id}"


def submission_of(round_id: int, signed: Signed) -> Submission:
    """The row that records ``signed``, a transaction of round ``round_id``."""
    return Submission(
        round_id=round_id,
        tx_hash=signed.tx_hash,
        nonce=signed.nonce,
        max_fee_per_gas=signed.fees.max_fee_per_gas,
        max_priority_fee_per_gas=signed.fees.max_priority_fee_per_gas,
        gas_limit=signed.gas,
    )


def _inclusion(found: Lookup) -> dict[str, object]:
    """A mined transaction's block fields, as a Submission records them."""
    receipt = found.receipt
    assert receipt is not None  # a mined lookup carries its receipt
    return {
        "block_number": int(receipt["blockNumber"]),
        "block_hash": receipt["blockHash"].to_0x_hex(),
        "confirmations": found.confirmations,
        "gas_used": int(receipt["gasUsed"]),
    }


def _is_stale(revert: DecodedRevert | None) -> bool:
    return revert is not None and revert.name == STALE_ROUND
