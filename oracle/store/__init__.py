"""Persistence: SQLModel tables and the engine that opens them."""

from oracle.store.engine import Store
from oracle.store.models import Deployment, Round, RoundStatus

__all__ = ["Deployment", "Round", "RoundStatus", "Store"]
