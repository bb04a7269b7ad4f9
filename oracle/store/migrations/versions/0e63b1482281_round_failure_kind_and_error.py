"""round failure kind and error

Revision ID: 0e63b1482281
Revises: d1fe36104a85
Create Date: 2026-12-01 13:19:06.003424
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0e63b1482281"
down_revision = "d1fe36104a85"
branch_labels = None
depends_on = None

failure_kind = sa.Enum(
    "SOURCE", "PROVER", "ABANDONED", "REFUSED", "REVERTED", "NONCE", "DROPPED", "SPENT", name="failurekind"
)
round_status = sa.Enum("OBSERVED", "PROVEN", "SUBMITTED", "LANDED", "FAILED", name="roundstatus")

# Rounds failed before this revision carry only their text; what each place that failed a round
# wrote then says which kind it was. Checked in order, the first match wins.
EARLIER_REASONS = [
    ("SourceError: %", "SOURCE"),
    ("%ProverError: %", "PROVER"),
    ("abandoned: %", "ABANDONED"),
    ("% would revert: %", "REFUSED"),
    ("%: the node refused transaction %", "REFUSED"),
    ("%: transaction % reverted: %", "REVERTED"),
    ("%fresh nonces in a row", "NONCE"),
    ("%dropped or reorged away % times; giving up", "DROPPED"),
    ("%has spent this proof%", "SPENT"),
]


def upgrade() -> None:
    failure_kind.create(op.get_bind(), checkfirst=True)  # PostgreSQL: a type of its own; elsewhere nothing
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure_kind", failure_kind, nullable=True))
        batch_op.add_column(sa.Column("failure_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    rounds = sa.table(
        "round",
        sa.column("status", round_status),
        sa.column("failure_kind", failure_kind),
        sa.column("failure_reason", sa.String),
    )
    for pattern, kind in EARLIER_REASONS:
        op.execute(
            rounds.update()
            .where(rounds.c.status == "FAILED", rounds.c.failure_kind.is_(None), rounds.c.failure_reason.like(pattern))
            .values(failure_kind=kind)
        )


def downgrade() -> None:
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.drop_column("failure_error")
        batch_op.drop_column("failure_kind")
    failure_kind.drop(op.get_bind(), checkfirst=True)
