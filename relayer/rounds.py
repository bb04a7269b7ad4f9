"""Posting proven rounds to ZkOracle and recording the outcome in the store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from oracle.circuits.quantize import felt_to_uint
from oracle.evm.contracts import ORACLE, bind, feed_key
from oracle.exceptions import RelayError, StoreError
from oracle.store import Round, RoundStatus, Store
from oracle.store.models import utcnow
from relayer.sender import TransactionSender


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
        with self._store.session() as session:
            row = session.get(Round, round_id)
            if row is None:
                raise StoreError(f"round {round_id} is not in the store")
            if row.status is not RoundStatus.PROVEN:
                return RelayOutcome(row, landed=row.status is RoundStatus.LANDED)
            deployment = self._store.deployment(row.deployment_id)
            oracle = bind(self._sender.w3, ORACLE, deployment.oracle_address)
            document = json.loads(Path(str(row.proof_path)).read_text())
            proof = bytes.fromhex(document["hex_proof"].removeprefix("0x"))
            instances = [felt_to_uint(felt) for group in document["instances"] for felt in group]
            call = oracle.functions.submit(feed_key(row.feed_id), proof, instances)
            what = f"feed '{row.feed_id}' round {row.id}"
            try:
                sent = self._sender.send(call, what=what)
            except RelayError as exc:
                return RelayOutcome(self._fail(session, row, str(exc)), landed=False)
            # Recorded before waiting, so a crash from here on is reconciled, never re-sent blind.
            row.tx_hash, row.tx_nonce, row.status = sent.tx_hash, sent.nonce, RoundStatus.SUBMITTED
            self._commit(session, row)
            try:
                confirmed = self._sender.wait(sent, what=what)
            except RelayError as exc:
                return RelayOutcome(self._fail(session, row, str(exc)), landed=False)
            event = oracle.events.RoundSubmitted().process_receipt(confirmed.receipt)[0]["args"]
            row.gas_used = confirmed.gas_used
            row.onchain_round_id = int(event["roundId"])
            row.onchain_answer = str(event["answer"])
            row.landed_at = utcnow()
            row.status = RoundStatus.LANDED
            self._commit(session, row)
            return RelayOutcome(row, landed=True)

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
