"""The node's database (SQLite file by default, any SQLAlchemy URL otherwise) and the queries everyone reads it by.

The relayer's writes are the :class:`~oracle.store.ledger.Ledger`'s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, TypeVar

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, create_engine, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from oracle.exceptions import StoreError
from oracle.store.failures import FailureKind
from oracle.store.migrate import upgrade
from oracle.store.models import Deployment, DeploymentAnswer, Feed, Round, RoundAnswer, RoundStatus, utcnow

# A select over rounds, alone or joined with their answers.
SelectT = TypeVar("SelectT", bound=SelectOfScalar | Select)


class RoundFigures(NamedTuple):
    """What the metrics count of one round, without its inputs or proof."""

    feed_id: str
    chain_id: int  # the chain of the round's deployment
    status: RoundStatus
    failure_kind: FailureKind | None
    failure_error: str | None
    prove_seconds: float | None
    gas_used: int | None
    proof_round_id: int | None  # set on a round posting another round's proof: its prove_seconds is that one's


class Store:
    """The node's database, migrated to the current schema on open."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = create_engine(url)
            upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the database at {url}: {exc}") from exc

    @classmethod
    def sqlite(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{path}")

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def add(self, row: Round | Deployment | DeploymentAnswer) -> None:
        with self.session() as session:
            session.add(row)
            session.commit()
            session.refresh(row)

    def save_round_answers(self, rows: list[RoundAnswer]) -> None:
        """The answers a round posts, written (or updated) together."""
        with self.session() as session:
            session.add_all(rows)
            session.commit()
            for row in rows:
                session.refresh(row)

    def round_answers(self, round_id: int) -> list[RoundAnswer]:
        """The answers round ``round_id`` posts, in the order its call lists them (none: a feed of one answer)."""
        query = select(RoundAnswer).where(RoundAnswer.round_id == round_id).order_by(RoundAnswer.id)  # type: ignore[arg-type]
        with self.session() as session:
            return list(session.exec(query))

    def deployment_answers(self, deployment_id: int) -> list[DeploymentAnswer]:
        """The answers registered with a deployment (with their proxies), in feed.toml's order."""
        query = (
            select(DeploymentAnswer)
            .where(DeploymentAnswer.deployment_id == deployment_id)
            .order_by(DeploymentAnswer.id)  # type: ignore[arg-type]
        )
        with self.session() as session:
            return list(session.exec(query))

    def answer_owner(self, answer_id: str) -> str | None:
        """The feed whose proofs carry answer ``answer_id``, if this node registered it."""
        query = (
            select(Deployment.feed_id)
            .join(DeploymentAnswer, DeploymentAnswer.deployment_id == Deployment.id)  # type: ignore[arg-type]
            .where(DeploymentAnswer.answer_id == answer_id)
            .order_by(Deployment.id.desc())  # type: ignore[union-attr]
        )
        with self.session() as session:
            return session.exec(query).first()

    def last_landed_answers(self, feed_id: str, *, oracle_address: str) -> dict[str, tuple[RoundAnswer, Round]]:
        """Each answer's newest landed round on that oracle (its row, and the round that posted it), by answer id."""
        query = (
            select(RoundAnswer, Round)
            .join(Round, RoundAnswer.round_id == Round.id)  # type: ignore[arg-type]
            .join(Deployment, Round.deployment_id == Deployment.id)  # type: ignore[arg-type]
            .where(Round.feed_id == feed_id, Round.status == RoundStatus.LANDED)
            .where(Deployment.oracle_address == oracle_address)
            .order_by(Round.id.desc())  # type: ignore[union-attr]
        )
        newest: dict[str, tuple[RoundAnswer, Round]] = {}
        with self.session() as session:
            for answer, row in session.exec(query):
                newest.setdefault(answer.answer_id, (answer, row))
        return newest

    def answer_status_counts(self, answer_id: str) -> Counter[tuple[int, RoundStatus]]:
        """How many rounds posting answer ``answer_id`` are in each status on each chain, by (chain id, status)."""
        query = (
            select(Deployment.chain_id, Round.status, func.count())
            .select_from(RoundAnswer)
            .join(Round, RoundAnswer.round_id == Round.id)  # type: ignore[arg-type]
            .join(Deployment, Round.deployment_id == Deployment.id)  # type: ignore[arg-type]
            .where(RoundAnswer.answer_id == answer_id)
            .group_by(Deployment.chain_id, Round.status)
        )
        with self.session() as session:
            return Counter({(chain_id, RoundStatus(status)): count for chain_id, status, count in session.exec(query)})

    def answer_rounds(
        self,
        answer_id: str,
        *,
        limit: int,
        before_id: int | None = None,
        status: RoundStatus | None = None,
        chain_id: int | None = None,
    ) -> list[tuple[RoundAnswer, Round]]:
        """The rounds that posted answer ``answer_id`` (on ``chain_id``, or on every chain), newest first:
        at most ``limit``, older than round ``before_id`` when given."""
        query = (
            select(RoundAnswer, Round)
            .join(Round, RoundAnswer.round_id == Round.id)  # type: ignore[arg-type]
            .where(RoundAnswer.answer_id == answer_id)
        )
        query = _newest_rounds(query, limit=limit, before_id=before_id, status=status, chain_id=chain_id)
        with self.session() as session:
            return [(answer, row) for answer, row in session.exec(query)]

    def deployment(self, deployment_id: int) -> Deployment:
        with self.session() as session:
            found = session.get(Deployment, deployment_id)
        if found is None:
            raise StoreError(f"no deployment with id {deployment_id} in {self.url}")
        return found

    def deployments(self, feed_id: str, *, chain_id: int | None = None) -> list[Deployment]:
        """The feed's recorded deployments (on ``chain_id``, or on every chain), newest first."""
        query = select(Deployment).where(Deployment.feed_id == feed_id)
        if chain_id is not None:
            query = query.where(Deployment.chain_id == chain_id)
        with self.session() as session:
            return list(session.exec(query.order_by(Deployment.id.desc())))  # type: ignore[union-attr]

    def chain_deployments(self, chain_id: int) -> list[Deployment]:
        """Every feed's recorded deployments on ``chain_id``, newest first."""
        query = select(Deployment).where(Deployment.chain_id == chain_id)
        with self.session() as session:
            return list(session.exec(query.order_by(Deployment.id.desc())))  # type: ignore[union-attr]

    def round(self, round_id: int) -> Round | None:
        with self.session() as session:
            return session.get(Round, round_id)

    def recent_rounds(
        self,
        feed_id: str,
        *,
        limit: int,
        before_id: int | None = None,
        status: RoundStatus | None = None,
        chain_id: int | None = None,
    ) -> list[Round]:
        """The feed's rounds (on ``chain_id``, or on every chain), newest first: at most ``limit``,
        older than ``before_id`` when given."""
        query = select(Round).where(Round.feed_id == feed_id)
        query = _newest_rounds(query, limit=limit, before_id=before_id, status=status, chain_id=chain_id)
        with self.session() as session:
            return list(session.exec(query))

    def latest_landed(self, feed_id: str, *, chain_id: int | None = None) -> Round | None:
        """The feed's newest landed round on ``chain_id``, or on any chain."""
        found = self.recent_rounds(feed_id, limit=1, status=RoundStatus.LANDED, chain_id=chain_id)
        return found[0] if found else None

    def latest_landed_per_chain(self, feed_id: str) -> dict[int, Round]:
        """The feed's newest landed round on each chain it landed on, by chain id."""
        newest = (
            select(func.max(Round.id))
            .join(Deployment, Round.deployment_id == Deployment.id)  # type: ignore[arg-type]
            .where(Round.feed_id == feed_id, Round.status == RoundStatus.LANDED)
            .group_by(Deployment.chain_id)
        )
        query = (
            select(Deployment.chain_id, Round)
            .join(Deployment, Round.deployment_id == Deployment.id)  # type: ignore[arg-type]
            .where(Round.id.in_(newest))  # type: ignore[union-attr]
        )
        with self.session() as session:
            return {chain_id: row for chain_id, row in session.exec(query)}

    def status_counts(self) -> Counter[tuple[str, int, RoundStatus]]:
        """How many rounds each feed has in each status on each chain, by (feed, chain id, status)."""
        query = (
            select(Round.feed_id, Deployment.chain_id, Round.status, func.count())
            .join(Deployment, Round.deployment_id == Deployment.id)  # type: ignore[arg-type]
            .group_by(Round.feed_id, Deployment.chain_id, Round.status)
        )
        with self.session() as session:
            return Counter(
                {(feed, chain_id, RoundStatus(status)): count for feed, chain_id, status, count in session.exec(query)}
            )

    def round_figures(self) -> list[RoundFigures]:
        query = select(
            Round.feed_id,
            Deployment.chain_id,
            Round.status,
            Round.failure_kind,
            Round.failure_error,
            Round.prove_seconds,
            Round.gas_used,
            Round.proof_round_id,
        ).join(Deployment, Round.deployment_id == Deployment.id)  # type: ignore[arg-type]
        with self.session() as session:
            return [RoundFigures(*row) for row in session.exec(query)]

    def rounds(self, *, feed_id: str | None = None, status: RoundStatus | None = None) -> list[Round]:
        query = select(Round).order_by(Round.id)  # type: ignore[arg-type]
        if feed_id is not None:
            query = query.where(Round.feed_id == feed_id)
        if status is not None:
            query = query.where(Round.status == status)
        with self.session() as session:
            return list(session.exec(query))

    def last_landed(self, feed_id: str, *, oracle_address: str) -> Round | None:
        """The feed's newest landed round on that oracle, across rotations of its circuit."""
        query = (
            select(Round)
            .join(Deployment, Round.deployment_id == Deployment.id)  # type: ignore[arg-type]
            .where(Round.feed_id == feed_id, Round.status == RoundStatus.LANDED)
            .where(Deployment.oracle_address == oracle_address)
            .order_by(Round.id.desc())  # type: ignore[union-attr]
            .limit(1)
        )
        with self.session() as session:
            return session.exec(query).first()

    def save_feed(self, feed: Feed) -> Feed:
        """Record a feed's definition as deployed or run now (insert, or update the row of its id)."""
        try:
            return self._write_feed(Feed(**feed.model_dump()))
        except IntegrityError:
            # Another node inserted the same new feed between this one's read and write: now it is an update.
            return self._write_feed(Feed(**feed.model_dump()))

    def _write_feed(self, fresh: Feed) -> Feed:
        with self.session() as session:
            row = session.get(Feed, fresh.id)
            if row is None:
                row = fresh
            else:
                for field in ("description", "folder", "spec_json", "decimals", "schedule"):
                    setattr(row, field, getattr(fresh, field))
                row.updated_at = utcnow()
            session.add(row)
            session.commit()
            session.refresh(row)
            return row

    def feed(self, feed_id: str) -> Feed | None:
        with self.session() as session:
            return session.get(Feed, feed_id)

    def feeds(self) -> list[Feed]:
        with self.session() as session:
            return list(session.exec(select(Feed).order_by(Feed.id)))  # type: ignore[arg-type]

    def feed_ids(self) -> list[str]:
        with self.session() as session:
            ids = set(session.exec(select(Round.feed_id))) | set(session.exec(select(Deployment.feed_id)))
            return sorted(ids | set(session.exec(select(Feed.id))))


def _newest_rounds(
    query: SelectT, *, limit: int, before_id: int | None, status: RoundStatus | None, chain_id: int | None
) -> SelectT:
    """``query`` (over rounds) narrowed to at most ``limit`` rounds, newest first: older than round ``before_id``,
    with ``status``, posted to ``chain_id``, each where given."""
    if before_id is not None:
        query = query.where(Round.id < before_id)  # type: ignore[operator]
    if status is not None:
        query = query.where(Round.status == status)
    if chain_id is not None:
        query = query.join(Deployment, Round.deployment_id == Deployment.id).where(  # type: ignore[arg-type]
            Deployment.chain_id == chain_id
        )
    return query.order_by(Round.id.desc()).limit(limit)  # type: ignore[union-attr]
