"""The node's tables. A round row is written before any transaction is sent for it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class RoundStatus(StrEnum):
    OBSERVED = "observed"  # inputs fetched and inference run; not yet proven
    PROVEN = "proven"  # proof verified locally and stored; ready to relay
    SUBMITTED = "submitted"  # transaction broadcast; receipt pending
    LANDED = "landed"  # mined and accepted by the oracle contract
    FAILED = "failed"  # ended with failure_reason


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
    created_at: datetime = Field(default_factory=utcnow)


class Round(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    feed_id: str = Field(index=True)
    deployment_id: int = Field(foreign_key="deployment.id", index=True)
    circuit_key: str
    status: RoundStatus = Field(default=RoundStatus.OBSERVED, index=True)
    created_at: datetime = Field(default_factory=utcnow)
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
    verify_seconds: float | None = None
    tx_hash: str | None = None
    tx_nonce: int | None = None
    gas_used: int | None = None
    onchain_round_id: str | None = None  # uint80 (phase << 64 | round): too wide for an SQL integer
    onchain_answer: str | None = None
    landed_at: datetime | None = None
    failure_reason: str | None = None

    @property
    def inputs(self) -> list[float]:
        return list(json.loads(self.inputs_json))
