"""initial schema

Revision ID: 21eb578254a5
Revises:
Create Date: 2026-11-25 02:44:37.632354
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "21eb578254a5"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("rpc_url", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("oracle_address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("verifier_address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("proxy_address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("consumer_address", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("circuit_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("model_commitment", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("dev_srs", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deployment_feed_id"), ["feed_id"], unique=False)

    op.create_table(
        "proverrecord",
        sa.Column("hotkey", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("validity", sa.Float(), nullable=False),
        sa.Column("latency_seconds", sa.Float(), nullable=True),
        sa.Column("proof_bytes", sa.Float(), nullable=True),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("lost", sa.Integer(), nullable=False),
        sa.Column("benched_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hotkey"),
    )
    op.create_table(
        "round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("circuit_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "status", sa.Enum("OBSERVED", "PROVEN", "SUBMITTED", "LANDED", "FAILED", name="roundstatus"), nullable=False
        ),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("inputs_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("observed_at", sa.Integer(), nullable=True),
        sa.Column("model_output", sa.Float(), nullable=True),
        sa.Column("proven_output", sa.Float(), nullable=True),
        sa.Column("expected_answer", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("proof_digest", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("proof_path", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("fetch_seconds", sa.Float(), nullable=True),
        sa.Column("infer_seconds", sa.Float(), nullable=True),
        sa.Column("prove_seconds", sa.Float(), nullable=True),
        sa.Column("prover", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("verify_seconds", sa.Float(), nullable=True),
        sa.Column("tx_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("tx_nonce", sa.Integer(), nullable=True),
        sa.Column("gas_used", sa.Integer(), nullable=True),
        sa.Column("onchain_round_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("onchain_answer", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("landed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("failure_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_deployment_id"), ["deployment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_feed_id"), ["feed_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_status"), ["status"], unique=False)

    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("nonce", sa.Integer(), nullable=False),
        sa.Column("max_fee_per_gas", sa.BigInteger(), nullable=False),
        sa.Column("max_priority_fee_per_gas", sa.BigInteger(), nullable=False),
        sa.Column("gas_limit", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "SIGNED", "PENDING", "MINED", "CONFIRMED", "REVERTED", "REPLACED", "DROPPED", name="submissionstatus"
            ),
            nullable=False,
        ),
        sa.Column("confirmations", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.Integer(), nullable=True),
        sa.Column("block_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("gas_used", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("replaced_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("broadcast_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["replaced_by"],
            ["submission.id"],
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["round.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submission_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_submission_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_submission_tx_hash"), ["tx_hash"], unique=True)



def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_tx_hash"))
        batch_op.drop_index(batch_op.f("ix_submission_status"))
        batch_op.drop_index(batch_op.f("ix_submission_round_id"))

    op.drop_table("submission")
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_round_status"))
        batch_op.drop_index(batch_op.f("ix_round_feed_id"))
        batch_op.drop_index(batch_op.f("ix_round_deployment_id"))

    op.drop_table("round")
    op.drop_table("proverrecord")
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployment_feed_id"))

    op.drop_table("deployment")
