"""What the node has learnt about each remote prover (one row per hotkey), so scores survive restarts."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, select
from sqlmodel.sql.sqltypes import UTCDateTime

from oracle.store.engine import Store
from oracle.store.models import utcnow


class ProverRecord(SQLModel, table=True):
    """Exponential moving averages over a prover's answers, plus plain counts."""

    hotkey: str = Field(primary_key=True)
    url: str
    validity: float  # EMA of 1 for a proof that passed every check, 0 otherwise
    latency_seconds: float | None = None  # EMA of the time to a proof (no answer yet: None)
    proof_bytes: float | None = None  # EMA of the size of its valid proofs
    valid: int = 0
    invalid: int = 0
    failed: int = 0  # no usable answer: unreachable, refused, timed out, badly signed
    lost: int = 0  # cancelled because another prover's proof was accepted first
    benched_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_outcome: str | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def load_prover_records(store: Store) -> list[ProverRecord]:
    with store.session() as session:
        return list(session.exec(select(ProverRecord).order_by(ProverRecord.hotkey)))  # type: ignore[arg-type]


def save_prover_record(store: Store, record: ProverRecord) -> None:
    with store.session() as session:
        session.merge(record)
        session.commit()
