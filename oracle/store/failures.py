"""Why a round failed, as data: a kind recorded where the failure happens, and a bounded label for counting."""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    """Where a FAILED round's life ended; the round's ``failure_reason`` holds the detail."""

    SOURCE = "source"  # the input source gave no usable input
    PROVER = "prover"  # no proof, or one that failed the node's own checks
    ABANDONED = "abandoned"  # the node stopped before the round's proof was stored
    REFUSED = "refused"  # never mined: the call would revert (``failure_error`` names why) or the node refused it
    REVERTED = "reverted"  # mined and reverted (``failure_error`` names why, when the contract said)
    NONCE = "nonce"  # the node refused fresh nonces again and again: something else sends with the key
    DROPPED = "dropped"  # its transactions kept being dropped or reorged away; given up
    SPENT = "spent"  # (before observation-time ordering) the oracle had spent its proof, no landing found
    ATTESTATION = "attestation"  # fewer of the feed's data attesters signed its inputs than its threshold
    EXPIRED = "expired"  # proven, but older than the feed's max observation age before it could be sent
    SUPERSEDED = "superseded"  # never sent: its chain was unreachable until a newer round was proven


def failure_label(kind: FailureKind | None, error: str | None = None) -> str:
    """A bounded label for counting failures: the kind, with the contract's error name when it gave one.

    E.g. ``source``, ``reverted:ZkOracleStaleRound``. Rounds failed before kinds were
    recorded (and not recognised when the column was added) count as ``unknown``.
    """
    if kind is None:
        return "unknown"
    return f"{kind.value}:{error}" if error else kind.value
