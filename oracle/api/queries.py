"""Read-only queries over the node's tables (the API never writes)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, inspect
from sqlmodel import select

from oracle.store import Deployment, Round, RoundStatus, Store

IN_FLIGHT = (RoundStatus.OBSERVED, RoundStatus.PROVEN, RoundStatus.SUBMITTED)


def feed_ids(store: Store) -> list[str]:
    return store.feed_ids()


def deployments(store: Store, feed_id: str) -> list[Deployment]:
    query = select(Deployment).where(Deployment.feed_id == feed_id).order_by(Deployment.id)  # type: ignore[arg-type]
    with store.session() as session:
        return list(session.exec(query))


def deployment(store: Store, deployment_id: int) -> Deployment | None:
    with store.session() as session:
        return session.get(Deployment, deployment_id)


def round_by_id(store: Store, round_id: int) -> Round | None:
    with store.session() as session:
        return session.get(Round, round_id)


def rounds(
    store: Store,
    feed_id: str,
    *,
    limit: int,
    before_id: int | None = None,
    status: RoundStatus | None = None,
) -> list[Round]:
    """The feed's rounds, newest first."""
    query = select(Round).where(Round.feed_id == feed_id)
    if before_id is not None:
        query = query.where(Round.id < before_id)  # type: ignore[operator]
    if status is not None:
        query = query.where(Round.status == status)
    query = query.order_by(Round.id.desc()).limit(limit)  # type: ignore[union-attr]
    with store.session() as session:
        return list(session.exec(query))


def latest_landed(store: Store, feed_id: str) -> Round | None:
    found = rounds(store, feed_id, limit=1, status=RoundStatus.LANDED)
    return found[0] if found else None


def status_counts(store: Store) -> Counter[tuple[str, RoundStatus]]:
    """How many rounds each feed has in each status."""
    query = select(Round.feed_id, Round.status, func.count()).group_by(Round.feed_id, Round.status)
    with store.session() as session:
        return Counter({(feed, RoundStatus(status)): count for feed, status, count in session.exec(query)})


def table_names(store: Store) -> list[str]:
    return list(inspect(store.engine).get_table_names())
