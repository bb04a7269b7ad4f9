"""A failed round's kind and contract error become one bounded label, shared by metrics, status and dashboard."""

from __future__ import annotations

import pytest

from oracle.store import FailureKind, failure_label


@pytest.mark.parametrize(
    ("kind", "error", "label"),
    [
        (FailureKind.PROVER, None, "prover"),
        (FailureKind.SOURCE, None, "source"),
        (FailureKind.REFUSED, "ZkOracleProofReplayed", "refused:ZkOracleProofReplayed"),
        (FailureKind.REVERTED, "ZkOracleStaleRound", "reverted:ZkOracleStaleRound"),
        (FailureKind.REVERTED, None, "reverted"),  # e.g. out of gas: no contract error to name
        (FailureKind.DROPPED, None, "dropped"),
        (None, None, "unknown"),  # failed before kinds were recorded, in words the migration did not recognise
    ],
)
def test_failures_become_bounded_labels(kind: FailureKind | None, error: str | None, label: str) -> None:
    assert failure_label(kind, error) == label
