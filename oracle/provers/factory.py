"""The prover a feed asks for (``[prover]`` in feed.toml), wired to the node's hotkey, store and checks.

This is the one module of ``oracle.provers`` that imports the round pipeline: remote
proofs must pass exactly the checks the pipeline applies to every proof before it
may win a race, and those checks live there.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Sequence

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.verify import verify_document
from oracle.feedspec import FeedSpec, ProverSpec
from oracle.inference import OnnxModel
from oracle.pipeline import RoundPipeline
from oracle.provers.base import Proof, Prover
from oracle.provers.discovery import Discovery, MetagraphDiscovery, StaticDiscovery
from oracle.provers.dispatch import NetworkProver
from oracle.provers.identity import node_hotkey
from oracle.provers.pool import PoolProver
from oracle.provers.remote import ProverEndpoint
from oracle.provers.scoring import Scoreboard
from oracle.store import Round, Store


class PipelineCheck(RoundPipeline):
    """The round pipeline's acceptance rules for one circuit, applied to a candidate proof."""

    def __init__(self, spec: FeedSpec, circuit: CircuitArtifacts) -> None:
        # Deliberately not the full pipeline: a check never fetches, proves, stores or relays,
        # so it holds only what the pipeline's checks read.
        self.spec = spec
        self.circuit = circuit
        self._model = OnnxModel(circuit.model)

    def check(self, proof: Proof, inputs: Sequence[float]) -> None:
        """Raise :class:`ProverError` unless the pipeline would accept ``proof`` for a round with ``inputs``."""
        values = [float(x) for x in inputs]
        verify_document(self.circuit, proof.document)
        row = Round(
            feed_id=self.spec.id,
            deployment_id=0,  # never stored
            circuit_key=self.circuit.manifest.key,
            inputs_json=json.dumps(values),
            model_output=self._model.run(values)[self.spec.output],
        )
        self._check_instances(proof, values, row)


class PipelineAcceptance:
    """The dispatcher's ``accept`` for one feed: a :class:`PipelineCheck` per circuit."""

    def __init__(self, spec: FeedSpec) -> None:
        self._spec = spec
        self._checks: dict[str, PipelineCheck] = {}
        self._lock = threading.Lock()

    def __call__(self, circuit: CircuitArtifacts, proof: Proof, inputs: Sequence[float]) -> None:
        with self._lock:
            check = self._checks.get(circuit.manifest.key)
            if check is None:
                check = self._checks[circuit.manifest.key] = PipelineCheck(self._spec, circuit)
        check.check(proof, inputs)


def prover_for(spec: FeedSpec, *, store: Store) -> Prover:
    """Local proving in a worker process, or a network of remote provers with local fallback."""
    settings = spec.prover
    if settings.policy == "local":
        return PoolProver(workers=1)
    signer = node_hotkey()
    return NetworkProver(
        discovery=discovery_for(settings, own_hotkey=signer.ss58_address),
        scoreboard=scoreboard_for(store),
        signer=signer,
        accept=PipelineAcceptance(spec),
        fallback=PoolProver(workers=1),
        redundancy=settings.redundancy,
        timeout=settings.timeout_seconds,
    )


def discovery_for(settings: ProverSpec, *, own_hotkey: str) -> Discovery:
    """The subnet's metagraph when a subtensor is configured, else the feed's static list."""
    if settings.subtensor is not None:
        return MetagraphDiscovery(settings.subtensor, netuid=settings.netuid, own_hotkey=own_hotkey)
    return StaticDiscovery([ProverEndpoint(hotkey=p.hotkey, url=p.url) for p in settings.provers])


@functools.cache
def scoreboard_for(store: Store) -> Scoreboard:
    """One scoreboard per database, shared by every feed's prover: scores are per hotkey, not per feed."""
    return Scoreboard(store)
