"""the answers of feeds with [[answers]]: those each round posts, and each deployment's registered answers and proxies

Revision ID: 21628175f7b2
Revises: 9a4f2c7e5b11
Create Date: 2026-12-02 05:38:39.117948
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "21628175f7b2"
down_revision = "9a4f2c7e5b11"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("output_offset", sa.Integer(), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("proxy_address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("consumer_address", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deployment_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deployment_answer_answer_id"), ["answer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployment_answer_deployment_id"), ["deployment_id"], unique=False)

    op.create_table(
        "round_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("model_output", sa.Float(), nullable=False),
        sa.Column("proven_output", sa.Float(), nullable=True),
        sa.Column("expected_answer", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("onchain_round_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("onchain_answer", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["round.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("round_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_answer_answer_id"), ["answer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_answer_round_id"), ["round_id"], unique=False)

    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answers_json", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.drop_column("answers_json")

    with op.batch_alter_table("round_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_round_answer_round_id"))
        batch_op.drop_index(batch_op.f("ix_round_answer_answer_id"))

    op.drop_table("round_answer")
    with op.batch_alter_table("deployment_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployment_answer_deployment_id"))
        batch_op.drop_index(batch_op.f("ix_deployment_answer_answer_id"))

    op.drop_table("deployment_answer")
