"""round evidence and input-policy failure kinds

Revision ID: 7c2d9e4b1a30
Revises: 0e63b1482281
Create Date: 2026-12-01 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "7c2d9e4b1a30"
down_revision = "0e63b1482281"
branch_labels = None
depends_on = None

EARLIER_FAILURE_KINDS = ("SOURCE", "PROVER", "ABANDONED", "REFUSED", "REVERTED", "NONCE", "DROPPED", "SPENT")
NEW_FAILURE_KINDS = ("ATTESTATION", "EXPIRED")
earlier_kind = sa.Enum(*EARLIER_FAILURE_KINDS, name="failurekind")
failure_kind = sa.Enum(*EARLIER_FAILURE_KINDS, *NEW_FAILURE_KINDS, name="failurekind")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for kind in NEW_FAILURE_KINDS:
            op.execute(f"ALTER TYPE failurekind ADD VALUE IF NOT EXISTS '{kind}'")
    with op.batch_alter_table("round", schema=None) as batch_op:
        if op.get_bind().dialect.name != "postgresql":
            # Elsewhere the enum is a VARCHAR as long as its longest value, which grows.
            batch_op.alter_column(
                "failure_kind", existing_type=earlier_kind, type_=failure_kind, existing_nullable=True
            )
        batch_op.add_column(sa.Column("evidence_json", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value; rounds of the new kinds keep them.
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.drop_column("evidence_json")
