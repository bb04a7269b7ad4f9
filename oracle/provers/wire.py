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
RECIPES = "/recipes"  # PUT /recipes/<digest>: a Recipe
SRS = "/srs"  # PUT /srs/<sha256>: the SRS file's bytes


def recipe_path(digest: str) -> str:
    return f"{RECIPES}/{digest}"


def srs_path(sha256: str) -> str:
    return f"{SRS}/{sha256}"


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


DIGEST_PATTERN = r"^[0-9a-f]{64}$"


class Recipe(_Message):
    """What a prover derives a circuit's keys from: the compiled circuit, and the SRS and vk named by sha256."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")  # raw bytes in Python, base64 in JSON

    compiled: bytes = Field(description="the compiled circuit (network.ezkl)")
    srs: str = Field(pattern=DIGEST_PATTERN, description="sha256 of the SRS file to set the circuit up with")
    vk: str = Field(pattern=DIGEST_PATTERN, description="sha256 of the verifying key the setup must yield")


class ProveRequest(_Message):
    recipe: str = Field(pattern=DIGEST_PATTERN, description="digest of the circuit recipe to prove with")
    inputs: list[list[float]] = Field(min_length=1, description="one flat list per model input tensor")


class ProveAnswer(_Message):
    recipe: str
    inputs: list[list[float]]
    request_nonce: int = Field(description="the X-Bittensor-Nonce of the request this answers")
    proof: str = Field(description="the EZKL proof JSON document")
    prove_seconds: float
    stages: dict[str, float] = Field(
        default_factory=dict, description="seconds this prover spent on the request, stage by stage"
    )


class Missing(_Message):
    """The 404 answer to a proof request the prover cannot set up: the recipe, or the SRS it names, is not held."""

    recipe: str | None = None
    srs: str | None = None


class Refused(_Message):
    """The 422 answer to a proof request whose recipe does not yield the verifying key it names."""

    recipe: str
    expected_vk: str
    derived_vk: str


class Stored(_Message):
    """The answer to a recipe or SRS upload that hashed to its digest; ``missing_srs`` is still to be sent."""

    digest: str
    missing_srs: str | None = None


class Busy(_Message):
    """The 429 answer to a proof request when every worker is taken and the queue is full.

    Its ``Retry-After`` header says the same; this signed copy is the one the node trusts.
    """

    retry_after_seconds: int = Field(ge=1)


class Health(_Message):
    status: str


class Capacity(_Message):
    hotkey: str
    recipes: list[str]
    srs: list[str]
    workers: int
    queue: int | None = Field(description="jobs that may wait for a worker before 429; None: no bound")
    running: int
    waiting: int
    recent_prove_seconds: list[float]
    busy_answers: int = Field(default=0, description="proof requests answered 429 since this prover started")
