"""What every prover backend offers, and what it hands back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from oracle.circuits.artifacts import CircuitArtifacts


@dataclass(frozen=True)
class Proof:
    """An EZKL proof as produced by ``ezkl.prove`` (its JSON document) plus how it was made."""

    document: bytes
    prover: str
    prove_seconds: float
    # Where the time went, stage by stage (seconds), as measured by whoever handled the proof.
    stages: Mapping[str, float] = field(default_factory=dict)

    @property
    def parsed(self) -> dict:
        return json.loads(self.document)

    @property
    def proof_bytes(self) -> bytes:
        return bytes.fromhex(self.parsed["hex_proof"].removeprefix("0x"))

    @property
    def instances(self) -> list[str]:
        """Public instances (little-endian hex field elements), flattened: inputs, then outputs."""
        return [felt for group in self.parsed["instances"] for felt in group]

    @property
    def digest(self) -> str:
        return "0x" + hashlib.sha256(self.proof_bytes).hexdigest()


@runtime_checkable
class Prover(Protocol):
    """Proves ``outputs = model(inputs)`` for a built circuit."""

    name: str

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        """Return a proof for ``inputs``; raise :class:`~oracle.exceptions.ProverError` on failure."""
        ...
