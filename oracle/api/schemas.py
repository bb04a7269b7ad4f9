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


class IntakeOut(BaseModel):
    """How the committed model was prepared from the operator's ONNX file."""

    original_sha256: str = Field(description="hex SHA-256 of the operator's original ONNX file")
    original_opset: int = Field(description="its ONNX opset (0: custom domains only)")
    opset: int = Field(description="the prepared model's opset")
    changes: list[str] = Field(description="what intake changed, in order (opset upgrade, fixed shapes, inputs added)")


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
    intake: IntakeOut | None = Field(
        default=None,
        description="how the committed model (artifacts.model) was prepared from the operator's file; "
        "null when it is that file, byte for byte",
    )
    verifier_kind: str = Field(
        default="dedicated",
        description="'dedicated': EZKL's generated verifier of this circuit; 'reusable': its generated one is over "
        "EIP-170, so a ZkVkaVerifier checks proofs with EZKL's reusable verifier and the circuit's VKA "
        "(ezkl.create_evm_vka of vk and settings rebuilds it)",
    )
    vka_words: int = Field(default=0, description="the VKA's length in 32-byte words (0 for a dedicated verifier)")


class Coverage(BaseModel):
    """How much of the model a round proves: every piece of a whole model (1/1), or some of a sliced one's."""

    proven: int = Field(description="pieces whose proofs are verified")
    total: int = Field(description="pieces of the model (1 for a whole model)")


class FeedCircuitOut(BaseModel):
    """A feed's circuit: its model proven as a chain of pieces, a whole model being the chain of one."""

    key: str = Field(description="the build's key (build folder `<key>`, or `sliced-<key>` for a sliced model)")
    ezkl_version: str
    scale: int = Field(description="fixed-point scale of the model inputs (and of every boundary when sliced)")
    coverage: Coverage
    quantization_error: float = Field(description="bound on |chained circuit output − float model output|")
    model_commitment: str = Field(
        description="a whole model: its one piece's circuit commitment; a sliced model: sha256(sha256(onnx) ‖ per "
        "slice: its circuit's model commitment, or sha256(slice onnx) if it runs unproven), 0x-hex"
    )
    model: ArtifactRef = Field(description="the whole model's ONNX")
    intake: IntakeOut | None = Field(
        default=None, description="how the whole model was prepared from the operator's file (see CircuitOut)"
    )


class PieceArtifacts(BaseModel):
    """One piece's files; settings, vk and SRS only for a proven piece."""

    model: ArtifactRef = Field(description="the piece's ONNX: its circuit's when proven")
    settings: ArtifactRef | None
    vk: ArtifactRef | None
    srs: SrsRef | None


class PieceOut(BaseModel):
    index: int
    proven: bool
    input_tensor: str | None = Field(
        default=None, description="the tensor a slice takes (the previous slice's output); null for a whole model"
    )
    output_tensor: str | None = None
    circuit: CircuitOut | None = Field(description="the piece's circuit; null for a slice run unproven")
    artifacts: PieceArtifacts


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
    input_policy: Literal["operator", "attested", "onchain"] = Field(
        description="who vouches for the inputs: the allow-listed submitters (operator), k of n data attesters "
        "(attested), or the chain, every input a named AggregatorV3 round (onchain)"
    )
    permissionless: bool = Field(description="whether anyone may relay (attested and onchain feeds only)")
    rounds_retained: int = Field(
        default=0,
        description="how many of its latest rounds per phase the oracle keeps readable with getRoundData; "
        "0: every round. Older rounds are in the RoundSubmitted events (and this API's history)",
    )
    attesters: list[str] = Field(default=[], description="an attested feed's registered data attesters")
    attestation_threshold: int | None = Field(default=None, description="how many of them must sign each round")
    verifier_address: str
    model_commitment: str
    instance_count: int
    output_index: int = Field(description="position of the answer among the public instances")
    output_scale: int = Field(description="fixed-point scale of the answer instance: value = instance / 2**scale")
    coverage: Coverage | None = Field(
        default=None,
        description="the feed's proven and total pieces (what `getCoverage` reports for its rounds). "
        "instance_count is the first piece's, output_index and output_scale are the last piece's.",
    )


class AnswerRoundOut(BaseModel):
    """One answer a round of a feed with ``[[answers]]`` posts: on-chain, a round of the answer's own id."""

    answer_id: str
    output_offset: int | None = Field(
        description="its instance is the registration's output_index + output_offset (as this node registered it)"
    )
    decimals: int | None
    proxy_address: str | None = Field(description="its own AggregatorV3 proxy")
    model_output: float = Field(description="onnxruntime's float output (unproven)")
    proven_output: float | None = Field(description="its instance in the proof, as a float")
    answer: str | None = Field(description="integer answer with its decimals: on-chain once landed")
    value: float | None = Field(description="answer / 10**decimals")
    onchain_round_id: str | None = Field(description="its own round id (phase << 64 | round) once landed")
    rounds_url: str


class RoundOut(BaseModel):
    id: int
    feed_id: str
    answer_id: str | None = Field(
        default=None,
        description="listed as a round of this answer of the feed: model_output, proven_output, answer, value and "
        "onchain_round_id are that answer's",
    )
    deployment_id: int
    chain_id: int = Field(description="the chain this round is posted to (its deployment's)")
    oracle_address: str = Field(description="the oracle contract on that chain this round is posted to")
    proof_round_id: int | None = Field(
        description="the round whose proof this one posts (proven once, for the feed's first chain); "
        "null for a round proven for itself"
    )
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
    failure_kind: str | None = Field(description="where a failed round's life ended: source, prover, refused, ...")
    failure_reason: str | None
    failure_error: str | None = Field(description="the contract's custom error that refused or reverted the round")
    answers: list[AnswerRoundOut] = Field(
        default=[],
        description="a feed with [[answers]]: each answer the round posts (one submitAnswers call); the round's own "
        "answer columns are the first's",
    )
    url: str


class ProofOut(BaseModel):
    digest: str = Field(description="0x sha256 of the proof bytes")
    hex_proof: str
    instances: list[str] = Field(description="public instances as the uint256 decimals the verifier contract takes")
    document: dict[str, Any] = Field(description="EZKL's proof JSON, verbatim: the file `ezkl.verify` reads")


class FeedProofOut(BaseModel):
    digest: str = Field(
        description="0x sha256 over each proven piece's sha256(proof bytes), nothing for a slice run unproven "
        "(what the store recorded)"
    )
    pieces: list[ProofOut | None] = Field(description="per piece, its proof; null for a slice run unproven")


class RoundEvidence(RoundOut):
    """A round plus everything needed to verify it offline with `zkoracle verify`: every piece and its proof."""

    deployment: DeploymentOut
    registration: RegistrationOut | None
    proof: FeedProofOut | None
    circuit: FeedCircuitOut
    pieces: list[PieceOut]


class StatusCounts(BaseModel):
    landed: int = 0
    failed: int = 0
    in_flight: int = 0


class ChainOut(BaseModel):
    """A feed on one of its chains: its rounds there and the latest that landed."""

    chain_id: int
    oracle_address: str = Field(description="the oracle contract of the feed's newest deployment on this chain")
    proxy_address: str | None = Field(description="its AggregatorV3 proxy")
    rounds: StatusCounts
    latest: RoundOut | None = Field(description="the latest round landed on this chain")


class AnswerOut(BaseModel):
    """One of a feed's ``[[answers]]``: read on-chain like a feed, through its own proxy."""

    id: str
    description: str
    decimals: int
    output_offset: int
    proxy_address: str
    latest: AnswerRoundOut | None = Field(description="its latest landed round, on any chain")
    url: str = Field(description="the answer, read like a feed")
    rounds_url: str


class FeedOut(BaseModel):
    id: str
    answer_of: str | None = Field(
        default=None, description="an answer of this feed: its rounds land with that feed's proofs"
    )
    description: str | None
    decimals: int | None
    deployments: list[DeploymentOut]
    coverage: Coverage | None = Field(default=None, description="the feed's current coverage (1/1 for a whole model)")
    input_policy: str | None = Field(
        default=None, description="who vouches for the inputs (operator, attested, onchain); see the registration"
    )
    rounds: StatusCounts = Field(description="rounds on every chain: a round posted to two chains counts twice")
    latest: RoundOut | None = Field(description="the latest landed round, on any chain")
    chains: list[ChainOut] = Field(description="per chain the feed is deployed on, by chain id")
    answers: list[AnswerOut] = Field(
        default=[], description="a feed with [[answers]]: its answers, each with its own id, proxy and rounds"
    )
    rounds_url: str


class RoundPage(BaseModel):
    rounds: list[RoundOut] = Field(description="newest first")
    next: str | None = Field(description="the next (older) page, if any")


class Health(BaseModel):
    status: Literal["ok"]
    feeds: int
