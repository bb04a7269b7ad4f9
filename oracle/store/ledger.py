"""The relayer's writes to the store: a round's status and one Submission row per transaction.

Each method is one database transaction, so a crash never leaves a round and its
submissions disagreeing (e.g. a round SUBMITTED without the row of its transaction).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from sqlmodel import Session, select

from oracle.exceptions import StoreError
from oracle.store.engine import Store
from oracle.store.failures import FailureKind
from oracle.store.models import Round, RoundAnswer, RoundStatus, Submission, SubmissionStatus, utcnow

LIVE = (SubmissionStatus.SIGNED, SubmissionStatus.PENDING, SubmissionStatus.MINED)
Row = TypeVar("Row", Round, Submission)


class Ledger:
    def __init__(self, store: Store) -> None:
        self._store = store

    def round(self, round_id: int) -> Round:
        with self._store.session() as session:
            return _get(session, Round, round_id)

    def round_ids(self, deployment_id: int, statuses: tuple[RoundStatus, ...]) -> list[int]:
        query = (
            select(Round.id)
            .where(Round.deployment_id == deployment_id)
            .where(Round.status.in_(statuses))  # type: ignore[attr-defined]
            .order_by(Round.id)  # type: ignore[arg-type]
        )
        with self._store.session() as session:
            return [int(round_id) for round_id in session.exec(query) if round_id is not None]

    def copy_for(self, proven: Round, deployment_id: int) -> Round:
        """The round posting ``proven``'s proof to another deployment (another chain), written once.

        It starts PROVEN, with the proven round's inputs, outputs and proof, and goes its own
        way from there: its own transactions, confirmations and failures on its own chain.
        """
        with self._store.session() as session:
            existing = session.exec(
                select(Round).where(Round.proof_round_id == proven.id).where(Round.deployment_id == deployment_id)
            ).first()
            if existing is not None:
                return existing
            copy = Round(
                feed_id=proven.feed_id,
                deployment_id=deployment_id,
                circuit_key=proven.circuit_key,
                status=RoundStatus.PROVEN,
                inputs_json=proven.inputs_json,
                observed_at=proven.observed_at,
                model_output=proven.model_output,
                proven_output=proven.proven_output,
                expected_answer=proven.expected_answer,
                proof_digest=proven.proof_digest,
                proof_path=proven.proof_path,
                prove_seconds=proven.prove_seconds,
                prover=proven.prover,
                verify_seconds=proven.verify_seconds,
                evidence_json=proven.evidence_json,
                proof_round_id=proven.id,
                answers_json=proven.answers_json,
            )
            session.add(copy)
            session.flush()
            answers = session.exec(
                select(RoundAnswer).where(RoundAnswer.round_id == proven.id).order_by(RoundAnswer.id)
            )  # type: ignore[arg-type]
            for answer in list(answers):
                session.add(
                    RoundAnswer(
                        round_id=copy.id,
                        answer_id=answer.answer_id,
                        model_output=answer.model_output,
                        proven_output=answer.proven_output,
                        expected_answer=answer.expected_answer,
                    )
                )
            session.commit()
            session.refresh(copy)
            return copy

    def newest_proof(self, deployment_id: int) -> Round | None:
        """The deployment's newest round that was proven for it (whatever became of it on its own chain)."""
        query = (
            select(Round)
            .where(Round.deployment_id == deployment_id)
            .where(Round.proof_round_id == None)  # noqa: E711 (SQL IS NULL)
            .where(Round.proof_path != None)  # noqa: E711
            .order_by(Round.observed_at.desc(), Round.id.desc())  # type: ignore[union-attr]
        )
        with self._store.session() as session:
            return session.exec(query).first()

    def supersede(self, deployment_id: int) -> list[Round]:
        """Every PROVEN round of the deployment but the newest observation ends SUPERSEDED, unsent.

        Their chain was out of reach while newer rounds were proven; the oracle takes only
        observations newer than its latest, so once the newest lands they could never land.
        """
        query = (
            select(Round)
            .where(Round.deployment_id == deployment_id)
            .where(Round.status == RoundStatus.PROVEN)
            .order_by(Round.observed_at.desc(), Round.id.desc())  # type: ignore[union-attr]
        )
        with self._store.session() as session:
            newest, *older = session.exec(query).all() or [None]
            for row in older:
                row.status, row.failure_kind = RoundStatus.FAILED, FailureKind.SUPERSEDED
                row.failure_reason = (
                    f"not sent: its chain was out of reach until round {newest.id} "  # type: ignore[union-attr]
                    f"(observed {row.observed_at} -> {newest.observed_at}) replaced it"  # type: ignore[union-attr]
                )
                session.add(row)
            session.commit()
            for row in older:
                session.refresh(row)
            return list(older)

    def submissions(self, round_id: int, *, live: bool = False) -> list[Submission]:
        """The round's transactions, oldest first; ``live``: only those that may still land."""
        query = select(Submission).where(Submission.round_id == round_id)
        if live:
            query = query.where(Submission.status.in_(LIVE))  # type: ignore[attr-defined]
        with self._store.session() as session:
            return list(session.exec(query.order_by(Submission.id)))  # type: ignore[arg-type]

    def by_hash(self, tx_hash: str) -> Submission | None:
        with self._store.session() as session:
            return session.exec(select(Submission).where(Submission.tx_hash == tx_hash)).first()

    def record_signed(self, submission: Submission) -> Submission:
        """Write-ahead: the signed transaction is on record, and its round SUBMITTED, before it is broadcast."""
        with self._store.session() as session:
            row = _get(session, Round, submission.round_id)
            row.status, row.tx_hash, row.tx_nonce = RoundStatus.SUBMITTED, submission.tx_hash, submission.nonce
            session.add(submission)
            session.add(row)
            session.commit()
            session.refresh(submission)
            return submission

    def update(self, submission: Submission, **fields: object) -> None:
        with self._store.session() as session:
            stored = _get(session, Submission, int(submission.id))  # type: ignore[arg-type]
            _assign(stored, **fields)
            session.add(stored)
            session.commit()

    def back_to_proven(self, round_id: int, dropped: list[Submission], *, error: str) -> None:
        """The round's transactions are gone from mempool and chain: mark them, ready the round to be sent again."""
        with self._store.session() as session:
            for submission in dropped:
                stored = _get(session, Submission, int(submission.id))  # type: ignore[arg-type]
                _assign(stored, status=SubmissionStatus.DROPPED, error=error)
                session.add(stored)
            row = _get(session, Round, round_id)
            row.status, row.tx_hash, row.tx_nonce = RoundStatus.PROVEN, None, None
            session.add(row)
            session.commit()

    def settle(self, mined: Submission, status: SubmissionStatus, **fields: object) -> None:
        """``mined`` took its nonce: it ends as ``status``, the round's other live transactions as replaced by it."""
        with self._store.session() as session:
            _settle(session, mined, status, **fields)
            session.commit()

    def land(
        self,
        round_id: int,
        *,
        tx_hash: str,
        nonce: int,
        gas_used: int,
        onchain_round_id: int,
        answer: int,
        winner: Submission | None,
        inclusion: dict[str, object],
        answers: Mapping[str, tuple[int, int]] | None = None,
    ) -> Round:
        """The round landed with ``tx_hash``: ``winner``, or None when another sender's transaction carried its proof.

        ``inclusion`` holds the winner's block fields (block_number, block_hash, confirmations, gas_used);
        ``answers``: each answer the round posted, by id, with its own on-chain round id and answer.
        """
        with self._store.session() as session:
            if winner is not None:
                _settle(session, winner, SubmissionStatus.CONFIRMED, **inclusion)
            row = _get(session, Round, round_id)
            row.status, row.tx_hash, row.tx_nonce, row.gas_used = RoundStatus.LANDED, tx_hash, nonce, gas_used
            row.onchain_round_id, row.onchain_answer, row.landed_at = str(onchain_round_id), str(answer), utcnow()
            session.add(row)
            for posted in session.exec(select(RoundAnswer).where(RoundAnswer.round_id == round_id)):
                if answers is None or posted.answer_id not in answers:
                    continue  # its landing was not found: it keeps no on-chain round rather than a wrong one
                landed_round, landed_answer = answers[posted.answer_id]
                posted.onchain_round_id, posted.onchain_answer = str(landed_round), str(landed_answer)
                session.add(posted)
            session.commit()
            session.refresh(row)
            return row

    def fail(
        self,
        round_id: int,
        kind: FailureKind,
        reason: str,
        *,
        error: str | None = None,
        reverted: Submission | None = None,
    ) -> Round:
        """The round ends FAILED for ``reason``; ``error``: the contract's custom error that refused or reverted it;
        ``reverted``: its transaction that was mined and reverted, if any."""
        with self._store.session() as session:
            if reverted is not None:
                _settle(session, reverted, SubmissionStatus.REVERTED, error=reason)
            row = _get(session, Round, round_id)
            row.status = RoundStatus.FAILED
            row.failure_kind, row.failure_reason, row.failure_error = kind, reason, error
            session.add(row)
            session.commit()
            session.refresh(row)
            return row


def _settle(session: Session, mined: Submission, status: SubmissionStatus, **fields: object) -> None:
    winner = _get(session, Submission, int(mined.id))  # type: ignore[arg-type]
    _assign(winner, status=status, **fields)
    session.add(winner)
    query = select(Submission).where(Submission.round_id == winner.round_id, Submission.status.in_(LIVE))  # type: ignore[attr-defined]
    for other in session.exec(query):
        if other.id != winner.id:
            _assign(other, status=SubmissionStatus.REPLACED, replaced_by=winner.id)
            session.add(other)


def _assign(submission: Submission, **fields: object) -> None:
    for name, value in fields.items():
        setattr(submission, name, value)
    submission.updated_at = utcnow()


def _get(session: Session, model: type[Row], row_id: int) -> Row:
    found = session.get(model, row_id)
    if found is None:
        raise StoreError(f"{model.__name__.lower()} {row_id} is not in the store")
    return found
