"""What an attester reads from the chain it serves: each phase's input layout.

The attester decodes the proof's input instances with the circuit the oracle registered
for that phase (not the feed's local build), because that is what the contract will
hash and check.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from web3 import Web3
from web3.exceptions import ContractLogicError

from oracle.exceptions import ChainError


@dataclass(frozen=True)
class PhaseInputs:
    """How a phase's first ``input_count`` instances are laid out."""

    input_scale: int  # each input instance is value * 2**input_scale, as a field element
    input_count: int  # the instances ``inputsHash`` covers, time limbs included
    observed_at_index: int | None  # the first of the 3 time limbs; None: the phase proves no observation time


class AttestedChain(Protocol):
    """The one chain and oracle an attester serves."""

    @property
    def chain_id(self) -> int: ...

    @property
    def oracle(self) -> str: ...

    @property
    def w3(self) -> Web3 | None:
        """Handed to sources that read the chain (``evm_view``); None when there is no connection."""

    def phase_inputs(self, feed_id: str, phase_id: int) -> PhaseInputs | None:
        """The phase's input layout; None when the oracle has no such phase for the feed. Raises ChainError."""


@dataclass(frozen=True)
class StaticChain:
    """An attested chain described in memory: phases known up front (tests, or an attester without RPC)."""

    chain_id: int
    oracle: str
    phases: Mapping[tuple[str, int], PhaseInputs]
    w3: Web3 | None = None

    def phase_inputs(self, feed_id: str, phase_id: int) -> PhaseInputs | None:
        return self.phases.get((feed_id, phase_id))


@dataclass
class ZkOracleChain:
    """Phases read from a deployed ZkOracle through its typed binding; a registered phase never changes, so cached."""

    w3: Web3
    oracle: str
    chain_id: int = 0
    _cache: dict[tuple[str, int], PhaseInputs] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        # Imported here: the binding compiles the project's contracts, which only a production attester needs.
        from oracle.evm.zkoracle import ZkOracle

        self._binding = ZkOracle(self.w3, self.oracle)
        self.oracle = self._binding.address
        self.chain_id = self.chain_id or int(self.w3.eth.chain_id)

    def phase_inputs(self, feed_id: str, phase_id: int) -> PhaseInputs | None:
        key = (feed_id, phase_id)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        if not 0 < phase_id < 1 << 16:
            return None
        try:
            circuit = self._binding.phase_circuit(feed_id, phase_id)
        except ContractLogicError:  # ZkOracleUnknownFeed / ZkOracleUnknownPhase
            return None
        except Exception as exc:  # the RPC itself: the attester cannot check, it does not refuse the claim
            raise ChainError(f"cannot read phase {phase_id} of feed '{feed_id}' from {self.oracle}: {exc}") from exc
        inputs = PhaseInputs(
            input_scale=circuit.input_scale,
            input_count=circuit.input_count,
            # ZkOracle binds every phase's time now; a binding that still says whether it does is honoured.
            observed_at_index=circuit.observed_at_index if getattr(circuit, "binds_observed_at", True) else None,
        )
        with self._lock:
            self._cache[key] = inputs
        return inputs
