"""Posting proven rounds to ZkOracle and recording the outcome in the store.

A round's transaction hash is stored before its receipt is awaited, so after a crash
:meth:`RoundRelayer.reconcile` can finish every round from what the chain says:
mined rounds are recorded, dropped ones are sent again. The contract's replay
protection makes a second landing of the same proof impossible.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import TransactionNotFound

from oracle.circuits.quantize import felt_to_uint
from oracle.evm.contracts import ORACLE, bind, feed_key
from oracle.exceptions import RelayError, StoreError
from oracle.store import Round, RoundStatus, Store
from oracle.store.models import utcnow
from relayer.sender import Sent, TransactionSender


@dataclass(frozen=True)
class RelayOutcome:
    round: Round
    landed: bool


class RoundRelayer:
    """Sends each proven round once and records tx hash, gas and on-chain round id."""

    def __init__(self, store: Store, sender: TransactionSender) -> None:
        self._store = store
        self._sender = sender

    def relay(self, round_id: int) -> RelayOutcome:
        """Send a PROVEN round and wait for it; any other round is returned as it is."""
        with self._store.session() as session:
            row = self._load(session, round_id)
            if row.status is not RoundStatus.PROVEN:
                return RelayOutcome(row, landed=row.status is RoundStatus.LANDED)
            try:
                sent = self._sender.send(self._submit_call(row), what=self._what(row))
            except RelayError as exc:
                return RelayOutcome(self._fail(session, row, str(exc)), landed=False)
            # Recorded before waiting, so a crash from here on is reconciled, never re-sent blind.
            row.tx_hash, row.tx_nonce, row.status = sent.tx_hash, sent.nonce, RoundStatus.SUBMITTED
            self._commit(session, row)
            return self._finish(session, row)

    def reconcile(self, deployment_id: int) -> list[RelayOutcome]:
        """Finish the deployment's rounds a previous run left PROVEN or SUBMITTED."""
        query = (
            select(Round.id)
            .where(Round.deployment_id == deployment_id)
            .where(Round.status.in_([RoundStatus.PROVEN, RoundStatus.SUBMITTED]))  # type: ignore[attr-defined]
            .order_by(Round.id)  # type: ignore[arg-type]
        )
        with self._store.session() as session:
            round_ids = list(session.exec(query))
        outcomes = []
        for round_id in round_ids:
            with self._store.session() as session:
                row = self._load(session, round_id)
                if row.status is RoundStatus.SUBMITTED and not self._known_to_chain(str(row.tx_hash)):
                    row.tx_hash, row.tx_nonce, row.status = None, None, RoundStatus.PROVEN  # dropped: send again
                    self._commit(session, row)
                outcome = self._finish(session, row) if row.status is RoundStatus.SUBMITTED else None
            outcomes.append(outcome or self.relay(round_id))
        return outcomes

    def _finish(self, session: Session, row: Round) -> RelayOutcome:
        sent = Sent(tx_hash=str(row.tx_hash), nonce=int(row.tx_nonce or 0))
        try:
            confirmed = self._sender.wait(sent, what=self._what(row))
        except RelayError as exc:
            return RelayOutcome(self._fail(session, row, str(exc)), landed=False)
        event = self._oracle(row).events.RoundSubmitted().process_receipt(confirmed.receipt)[0]["args"]
        row.gas_used = confirmed.gas_used
        row.onchain_round_id = str(event["roundId"])
        row.onchain_answer = str(event["answer"])
        row.landed_at = utcnow()
        row.status = RoundStatus.LANDED
        self._commit(session, row)
        return RelayOutcome(row, landed=True)

    def _known_to_chain(self, tx_hash: str) -> bool:
        try:
            self._sender.w3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            return False
        return True

    def _submit_call(self, row: Round) -> ContractFunction:
        document = json.loads(Path(str(row.proof_path)).read_text())
        proof = bytes.fromhex(document["hex_proof"].removeprefix("0x"))
        instances = [felt_to_uint(felt) for group in document["instances"] for felt in group]
        return self._oracle(row).functions.submit(feed_key(row.feed_id), proof, instances)

    def _oracle(self, row: Round) -> Contract:
        return bind(self._sender.w3, ORACLE, self._store.deployment(row.deployment_id).oracle_address)

    @staticmethod
    def _what(row: Round) -> str:
        return f"feed '{row.feed_id}' round {row.id}"

    @staticmethod
    def _load(session: Session, round_id: int) -> Round:
        row = session.get(Round, round_id)
        if row is None:
            raise StoreError(f"round {round_id} is not in the store")
        return row

    def _fail(self, session: Session, row: Round, reason: str) -> Round:
        row.status = RoundStatus.FAILED
        row.failure_reason = reason
        self._commit(session, row)
        return row

    @staticmethod
    def _commit(session: Session, row: Round) -> None:
        session.add(row)
        session.commit()
        session.refresh(row)
