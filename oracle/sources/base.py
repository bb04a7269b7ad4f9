"""The input-source interface every feed input backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence


class InputSource(ABC):
    """Produces the flat model input for one round."""

    @abstractmethod
    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        """Return the model input, flattened in the model's input order."""
