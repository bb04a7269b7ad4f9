"""The input-source interface every feed input backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from web3 import Web3


class InputSource(ABC):
    """Produces the flat model input for one round."""

    @abstractmethod
    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        """Return the model input, flattened in the model's input order."""

    def source_rounds(self) -> tuple[int, ...]:
        """The on-chain rounds the last fetch read, one per value; empty for an off-chain source.

        The node names them in ``submit`` so that the oracle reads the very same rounds.
        """
        return ()


@dataclass(frozen=True)
class SourceContext:
    """What a source may need from the node: the chain it serves and the circuit's input scale."""

    w3: Web3 | None = None
    input_scale: int | None = None
