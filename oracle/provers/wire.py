"""What node and prover say to each other over HTTP (JSON bodies; btauth/1 headers on both ways).

Requests are signed by the node's hotkey for the prover's hotkey; answers are signed
by the prover's hotkey for the caller, over the same method and path, and a proof's
answer repeats the request's nonce, so it cannot be replayed as the answer to
another request. ``GET /health`` alone is open and unsigned: it says the prover is
alive and nothing else, so any health checker can ask it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

HEALTH = "/health"
CAPACITY = "/capacity"
PROVE = "/prove"
BUNDLES = "/bundles"  # PUT /bundles/<digest>: a tar of the circuit bundle


def bundle_path(digest: str) -> str:
    return f"{BUNDLES}/{digest}"


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


DIGEST_PATTERN = r"^[0-9a-f]{64}$"


class ProveRequest(_Message):
    bundle: str = Field(pattern=DIGEST_PATTERN, description="digest of the circuit bundle to prove with")
    inputs: list[list[float]] = Field(min_length=1, description="one flat list per model input tensor")


class ProveAnswer(_Message):
    bundle: str
    inputs: list[list[float]]
    request_nonce: int = Field(description="the X-Bittensor-Nonce of the request this answers")
    proof: str = Field(description="the EZKL proof JSON document")
    prove_seconds: float


class MissingBundle(_Message):
    """The 404 answer to a proof request for a bundle the prover does not hold."""

    missing_bundle: str


class Stored(_Message):
    """The answer to a bundle upload that hashed to its digest."""

    bundle: str


class Busy(_Message):
    """The 429 answer to a proof request when every worker is taken and the queue is full.

    Its ``Retry-After`` header says the same; this signed copy is the one the node trusts.
    """

    retry_after_seconds: int = Field(ge=1)


class Health(_Message):
    status: str


class Capacity(_Message):
    hotkey: str
    bundles: list[str]
    workers: int
    queue: int | None = Field(description="jobs that may wait for a worker before 429; None: no bound")
    running: int
    waiting: int
    recent_prove_seconds: list[float]
