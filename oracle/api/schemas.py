"""What the read API returns (pydantic models, so the OpenAPI spec describes them exactly)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ArtifactRef(BaseModel):
    """A file a verifier needs, addressed by its SHA-256 and fetched from ``url``."""

    sha256: str = Field(description="hex SHA-256 of the file's bytes")
    size: int
    url: str = Field(description="path on this API serving the bytes")


class SrsRef(ArtifactRef):
    logrows: int
    dev: bool = Field(description="generated locally (toxic waste known): only meaningful on local chains")


class Artifacts(BaseModel):
    model: ArtifactRef
    settings: ArtifactRef
    vk: ArtifactRef
    srs: SrsRef


class CircuitOut(BaseModel):
    key: str
    ezkl_version: str
    logrows: int
    input_visibility: str
    output_visibility: str
    input_scales: list[int]
    output_scales: list[int]
    input_instances: int
    instance_count: int
    quantization_error: float
    model_commitment: str = Field(description="sha256(sha256(onnx) ‖ sha256(settings) ‖ sha256(vk)), 0x-hex")


class DeploymentOut(BaseModel):
    id: int
    feed_id: str
    chain_id: int
    oracle_address: str
    verifier_address: str
    proxy_address: str | None = Field(default=None, description="the feed's AggregatorV3 proxy")
    consumer_address: str | None
    circuit_key: str
    model_commitment: str
    dev_srs: bool
    created_at: datetime


class RegistrationOut(BaseModel):
    """How the oracle contract checks this feed's proofs and derives its answer."""

    source: Literal["chain", "feed-spec"] = Field(
        description="'chain': read from the oracle contract; 'feed-spec': the feed.toml (the chain did not answer)"
    )
    description: str
    decimals: int
    verifier_address: str
    model_commitment: str
    instance_count: int
    output_index: int = Field(description="position of the answer among the public instances")
    output_scale: int = Field(description="fixed-point scale of the answer instance: value = instance / 2**scale")


class RoundOut(BaseModel):
    id: int
    feed_id: str
    deployment_id: int
    status: str
    created_at: datetime
    landed_at: datetime | None
    observed_at: int | None
    inputs: list[float]
    model_output: float | None = Field(description="onnxruntime's float output (unproven)")
    proven_output: float | None = Field(description="the answer instance of the proof, as a float")
    answer: str | None = Field(description="integer answer with the feed's decimals: on-chain once landed")
    value: float | None = Field(description="answer / 10**decimals, or the proven output before landing")
    onchain_round_id: str | None
    tx_hash: str | None
    gas_used: int | None
    fetch_seconds: float | None
    infer_seconds: float | None
    prove_seconds: float | None
    verify_seconds: float | None
    proof_digest: str | None
    failure_reason: str | None
    url: str


class ProofOut(BaseModel):
    digest: str = Field(description="0x sha256 of the proof bytes (what the store recorded)")
    hex_proof: str
    instances: list[str] = Field(description="public instances as the uint256 decimals the verifier contract takes")
    document: dict[str, Any] = Field(description="EZKL's proof JSON, verbatim: the file `ezkl.verify` reads")


class RoundEvidence(RoundOut):
    """A round plus everything needed to verify it offline with `zkoracle verify`."""

    proof: ProofOut | None
    circuit: CircuitOut
    artifacts: Artifacts
    deployment: DeploymentOut
    registration: RegistrationOut | None


class StatusCounts(BaseModel):
    landed: int = 0
    failed: int = 0
    in_flight: int = 0


class FeedOut(BaseModel):
    id: str
    description: str | None
    decimals: int | None
    deployments: list[DeploymentOut]
    rounds: StatusCounts
    latest: RoundOut | None = Field(description="the latest landed round")
    rounds_url: str


class RoundPage(BaseModel):
    rounds: list[RoundOut] = Field(description="newest first")
    next: str | None = Field(description="the next (older) page, if any")


class Health(BaseModel):
    status: Literal["ok"]
    feeds: int
