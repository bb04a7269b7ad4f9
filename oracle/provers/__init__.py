"""Provers: the :class:`Prover` protocol and its backends."""

from oracle.provers.base import Proof, Prover
from oracle.provers.local import LocalProver

__all__ = ["LocalProver", "Proof", "Prover"]
