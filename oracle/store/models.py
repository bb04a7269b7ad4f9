"""The node's tables. A round row is written before any transaction is sent for it.

Every datetime column is SQLModel's ``UTCDateTime``: stored in UTC and read back aware,
on SQLite (which keeps no zone) as on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Text
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from oracle.store.failures import FailureKind


def utcnow() -> datetime:
    return datetime.now(UTC)


class RoundStatus(StrEnum):
    OBSERVED = "observed"  # inputs fetched and inference run; not yet proven
    PROVEN = "proven"  # proof verified locally and stored; ready to relay
    SUBMITTED = "submitted"  # transaction broadcast; receipt pending
    LANDED = "landed"  # mined and accepted by the oracle contract
    FAILED = "failed"  # ended: failure_kind says where, failure_reason the detail


class SubmissionStatus(StrEnum):
    SIGNED = "signed"  # recorded before broadcast: the node may never have received it
    PENDING = "pending"  # accepted by the node, not in a block
    MINED = "mined"  # in a canonical block, fewer confirmations than required
    CONFIRMED = "confirmed"  # enough confirmations: the transaction that landed the round
    REVERTED = "reverted"  # mined and reverted; `error` holds the decoded reason
    REPLACED = "replaced"  # another transaction of the round (`replaced_by`) was mined in its place
    DROPPED = "dropped"  # never reached the node (refused, or unsent at a crash: no broadcast_at), or gone since


class Feed(SQLModel, table=True):
    """A feed's definition as last deployed or run by a node (one row per feed id).

    Rounds and deployments name the feed only by id; this keeps what the id meant, so
    `zkoracle status` and the read API can describe a feed whose folder is gone or edited.
    """

    id: str = Field(primary_key=True)
    description: str
    folder: str  # the feed folder it was loaded from (feed.toml, model, samples): what `zkoracle run` takes
    spec_json: str = Field(sa_type=Text)  # the validated spec; [chain] holds only names of secrets, never keys
    decimals: int
    schedule: str  # e.g. "every 10s" or "cron */5 * * * *"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Deployment(SQLModel, table=True):
    """A feed registered on one oracle contract on one chain."""

    id: int | None = Field(default=None, primary_key=True)
    feed_id: str = Field(index=True)
    chain_id: int
    rpc_url: str
    oracle_address: str
    verifier_address: str
    proxy_address: str
    consumer_address: str | None = None
    circuit_key: str
    model_commitment: str
    dev_srs: bool
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Round(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    feed_id: str = Field(index=True)
    deployment_id: int = Field(foreign_key="deployment.id", index=True)
    circuit_key: str
    status: RoundStatus = Field(default=RoundStatus.OBSERVED, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    inputs_json: str  # the model's whole input, as proven
    observed_at: int | None = None  # unix time of the fetch, proven when the feed binds it
    model_output: float | None = None
    proven_output: float | None = None
    expected_answer: str | None = None  # exact integer the contract must derive, as text (may exceed int64)
    proof_digest: str | None = None
    proof_path: str | None = None
    fetch_seconds: float | None = None
    infer_seconds: float | None = None
    prove_seconds: float | None = None
    prover: str | None = None  # who produced the accepted proof: "local" or a prover's hotkey
    verify_seconds: float | None = None
    tx_hash: str | None = None
    tx_nonce: int | None = None
    gas_used: int | None = None
    onchain_round_id: str | None = None  # uint80 (phase << 64 | round): too wide for an SQL integer
    onchain_answer: str | None = None
    landed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failure_kind: FailureKind | None = None  # set with status FAILED
    failure_reason: str | None = None  # what went wrong, in words
    failure_error: str | None = None  # the contract's custom error, for a round refused or reverted by one
    evidence_json: str | None = None  # what the input policy needs besides the proof (InputEvidence), as sent
    # A feed posted to several chains proves each round once, for its first chain; the round
    # posting that proof to another chain names the proven one here (None: proven for itself).
    proof_round_id: int | None = Field(default=None, foreign_key="round.id", index=True)
    # A feed with [[answers]]: every answer's inferred value at the tick, {answer id: value}. The answers the
    # round posts are its RoundAnswer rows; model_output and the answer columns above are its first one's.
    answers_json: str | None = Field(default=None, sa_type=Text)

    @property
    def inputs(self) -> list[float]:
        return list(json.loads(self.inputs_json))

    @property
    def answer_values(self) -> dict[str, float]:
        return {} if self.answers_json is None else dict(json.loads(self.answers_json))


class RoundAnswer(SQLModel, table=True):
    """One answer a round of a feed with ``[[answers]]`` posts: stored on-chain as a round of its own id.

    Written with the round before its proof is made, so a round's call (``submitAnswers``)
    and its landing are read from these rows, and an answer's rounds are listed like a feed's.
    """

    __tablename__ = "round_answer"

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    answer_id: str = Field(index=True)
    model_output: float
    proven_output: float | None = None
    expected_answer: str | None = None  # exact integer the contract must derive, as text
    onchain_round_id: str | None = None  # the answer's own round id (uint80), set when the round lands
    onchain_answer: str | None = None


class DeploymentAnswer(SQLModel, table=True):
    """An answer registered with a deployment of a feed with ``[[answers]]``: its place, promises and proxy."""

    __tablename__ = "deployment_answer"

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="deployment.id", index=True)
    answer_id: str = Field(index=True)
    output_offset: int
    decimals: int
    description: str
    proxy_address: str
    consumer_address: str | None = None


class Submission(SQLModel, table=True):
    """One broadcast transaction of a round: a round has several when a tx is replaced or re-sent.

    Written before the transaction is broadcast (its hash is known once it is signed), so
    after a crash every transaction that may be on the chain has a row to reconcile.
    """

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    tx_hash: str = Field(unique=True, index=True)
    nonce: int
    max_fee_per_gas: int = Field(sa_type=BigInteger)  # wei: 2^31 wei is only 2.1 gwei
    max_priority_fee_per_gas: int = Field(sa_type=BigInteger)  # wei
    gas_limit: int
    status: SubmissionStatus = Field(default=SubmissionStatus.SIGNED, index=True)
    confirmations: int = 0
    block_number: int | None = None  # the block that included it (kept after a reorg, for the record)
    block_hash: str | None = None
    gas_used: int | None = None
    error: str | None = None  # why it reverted, was refused or was dropped
    replaced_by: int | None = Field(default=None, foreign_key="submission.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)  # signed and recorded
    broadcast_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
