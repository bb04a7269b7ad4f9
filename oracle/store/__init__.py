"""Persistence: SQLModel tables and the engine that opens them."""

from oracle.store.engine import Store
from oracle.store.models import Deployment, Feed, Round, RoundStatus, Submission, SubmissionStatus
from oracle.store.provers import ProverRecord

__all__ = ["Deployment", "Feed", "ProverRecord", "Round", "RoundStatus", "Store", "Submission", "SubmissionStatus"]
