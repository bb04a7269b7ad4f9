"""Finding provers: a subnet's metagraph (hotkeys and served axons) or a static list from the feed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Protocol

import bittensor as bt

from oracle.exceptions import ProverError
from oracle.provers.remote import ProverEndpoint

log = logging.getLogger(__name__)


class Discovery(Protocol):
    def endpoints(self) -> list[ProverEndpoint]:
        """The provers to consider now; raise :class:`ProverError` when none can be learnt."""
        ...


class StaticDiscovery:
    def __init__(self, endpoints: Sequence[ProverEndpoint]) -> None:
        self._endpoints = list(endpoints)

    def endpoints(self) -> list[ProverEndpoint]:
        return list(self._endpoints)


def endpoints_from_metagraph(metagraph: bt.Metagraph, *, exclude: str | None = None) -> list[ProverEndpoint]:
    """Every neuron serving an axon, as a prover reachable over plain HTTP at that address."""
    return [
        ProverEndpoint(hotkey=neuron.hotkey, url=f"http://{neuron.axon}")
        for neuron in metagraph.neurons
        if neuron.axon and neuron.hotkey != exclude
    ]


class MetagraphDiscovery:
    """The provers of subnet ``netuid``, re-read from the chain at most every ``refresh_seconds``.

    When the chain cannot be read the last known list is used; with none, the error stands.
    """

    def __init__(self, network: str, *, netuid: int, own_hotkey: str, refresh_seconds: float = 300.0) -> None:
        self.network = network
        self.netuid = netuid
        self._own_hotkey = own_hotkey
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._known: list[ProverEndpoint] | None = None
        self._read_at = 0.0

    def endpoints(self) -> list[ProverEndpoint]:
        with self._lock:
            if self._known is None or time.monotonic() - self._read_at > self._refresh_seconds:
                self._refresh()
            return list(self._known or [])

    def _refresh(self) -> None:
        try:
            metagraph = bt.Subtensor(self.network).subnets.metagraph(self.netuid, commitments=False)
        except bt.BittensorError as exc:
            if self._known is None:
                raise ProverError(
                    f"cannot read the metagraph of netuid {self.netuid} from {self.network}: {exc}"
                ) from exc
            log.warning("metagraph of netuid %s unreadable (%s); keeping the last known provers", self.netuid, exc)
            return
        if metagraph is None:
            raise ProverError(f"netuid {self.netuid} does not exist on {self.network}; fix prover.netuid")
        self._known = endpoints_from_metagraph(metagraph, exclude=self._own_hotkey)
        self._read_at = time.monotonic()
