"""Persistence: the node's tables, the engine that opens them, and every query over them."""

from oracle.store.engine import Store
from oracle.store.failures import FailureKind, failure_label
from oracle.store.ledger import Ledger
from oracle.store.models import Deployment, Feed, Round, RoundStatus, Submission, SubmissionStatus
from oracle.store.provers import ProverRecord

__all__ = [
    "Deployment",
    "FailureKind",
    "Feed",
    "Ledger",
    "ProverRecord",
    "Round",
    "RoundStatus",
    "Store",
    "Submission",
    "SubmissionStatus",
    "failure_label",
]
