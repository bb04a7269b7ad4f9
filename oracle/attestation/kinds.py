"""What attesters and nodes say to each other: the routes, and why an attester did not sign, as data.

Nothing parses refusal text back: every refusal carries a :class:`RefusalKind`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The attester's routes: POST an ObservationClaim to ATTEST; HEALTH is open to anyone.
HEALTH = "/health"
ATTEST = "/attest"


class RefusalKind(StrEnum):
    # Answered by the attester itself (``POST /attest``).
    BAD_CLAIM = "BAD_CLAIM"  # not an ObservationClaim document
    UNKNOWN_FEED = "UNKNOWN_FEED"  # a feed this attester does not serve
    WRONG_CHAIN = "WRONG_CHAIN"  # another chain id or oracle than the one it serves
    UNKNOWN_PHASE = "UNKNOWN_PHASE"  # the oracle has no such phase for the feed
    CHAIN_FAILED = "CHAIN_FAILED"  # the attester could not read the phase from its chain
    BAD_INSTANCES = "BAD_INSTANCES"  # wrong count, not field elements, or no proven time
    TIME_MISMATCH = "TIME_MISMATCH"  # the time limbs do not encode observed_at
    TOO_OLD = "TOO_OLD"  # older than the feed's max_observation_age_seconds
    FROM_FUTURE = "FROM_FUTURE"  # ahead of the attester's clock beyond the allowed skew
    SOURCE_FAILED = "SOURCE_FAILED"  # the attester's own fetch failed: it cannot vouch either way
    OBSERVATION_DIFFERS = "OBSERVATION_DIFFERS"  # an input is outside tolerance of the attester's own observation
    # What the node's client makes of an attester that gave no usable signature.
    UNREACHABLE = "UNREACHABLE"
    TIMEOUT = "TIMEOUT"
    BAD_ANSWER = "BAD_ANSWER"  # an HTTP error without a refusal body, or a malformed answer
    WRONG_SIGNER = "WRONG_SIGNER"  # the signature does not recover to the attester's registered address


class AttestationFailure(StrEnum):
    """``AttestationError.kind``: why a round got no usable set of attestations."""

    TOO_FEW_SIGNATURES = "TOO_FEW_SIGNATURES"
    TOO_FEW_ATTESTERS = "TOO_FEW_ATTESTERS"  # the threshold exceeds the attesters registered


@dataclass(frozen=True)
class Refusal:
    """One attester's refusal (or silence), as the node's client records it."""

    attester: str  # its registered address
    url: str
    kind: RefusalKind
    detail: str

    def __str__(self) -> str:
        return f"{self.attester} ({self.url}): {self.kind} ({self.detail})"
