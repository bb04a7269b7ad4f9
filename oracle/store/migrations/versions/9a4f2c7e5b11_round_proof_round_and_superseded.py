"""a round posting another chain's proof, and the superseded failure kind

Revision ID: 9a4f2c7e5b11
Revises: 7c2d9e4b1a30
Create Date: 2026-12-01 23:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9a4f2c7e5b11"
down_revision = "7c2d9e4b1a30"
branch_labels = None
depends_on = None

EARLIER_FAILURE_KINDS = (
    "SOURCE",
    "PROVER",
    "ABANDONED",
    "REFUSED",
    "REVERTED",
    "NONCE",
    "DROPPED",
    "SPENT",
    "ATTESTATION",
    "EXPIRED",
)
NEW_FAILURE_KINDS = ("SUPERSEDED",)
earlier_kind = sa.Enum(*EARLIER_FAILURE_KINDS, name="failurekind")
failure_kind = sa.Enum(*EARLIER_FAILURE_KINDS, *NEW_FAILURE_KINDS, name="failurekind")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for kind in NEW_FAILURE_KINDS:
            op.execute(f"ALTER TYPE failurekind ADD VALUE IF NOT EXISTS '{kind}'")
    with op.batch_alter_table("round", schema=None) as batch_op:
        if op.get_bind().dialect.name != "postgresql":
            batch_op.alter_column(
                "failure_kind", existing_type=earlier_kind, type_=failure_kind, existing_nullable=True
            )
        batch_op.add_column(sa.Column("proof_round_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_round_proof_round_id"), ["proof_round_id"], unique=False)
        batch_op.create_foreign_key("fk_round_proof_round_id_round", "round", ["proof_round_id"], ["id"])


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value; rounds of the new kind keep it.
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.drop_constraint("fk_round_proof_round_id_round", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_round_proof_round_id"))
        batch_op.drop_column("proof_round_id")
