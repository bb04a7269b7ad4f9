"""Persistence: the node's tables, the engine that opens them, and every query over them."""

from oracle.store.engine import Store
from oracle.store.failures import FailureKind, failure_label
from oracle.store.ledger import Ledger
from oracle.store.models import (
    Deployment,
    DeploymentAnswer,
    Feed,
    Round,
    RoundAnswer,
    RoundStatus,
    Submission,
    SubmissionStatus,
)
from oracle.store.provers import ProverRecord

__all__ = [
    "Deployment",
    "DeploymentAnswer",
    "FailureKind",
    "Feed",
    "Ledger",
    "ProverRecord",
    "Round",
    "RoundAnswer",
    "RoundStatus",
    "Store",
    "Submission",
    "SubmissionStatus",
    "failure_label",
]
