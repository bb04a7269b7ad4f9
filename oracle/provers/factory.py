"""The prover a feed asks for (``[prover]`` in feed.toml), wired to the node's hotkey, store and checks.

Remote proofs must pass exactly the checks the pipeline applies to every proof
(:func:`oracle.proof_checks.check_proof`) before one may win a race.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.feed_circuit import feed_answer
from oracle.feeds.schema import FeedSpec, ProverSpec
from oracle.inference import OnnxModel
from oracle.proof_checks import check_proof, check_slice_proof, is_slice_circuit
from oracle.provers.base import Proof, Prover
from oracle.provers.discovery import Discovery, MetagraphDiscovery, StaticDiscovery
from oracle.provers.dispatch import NetworkProver
from oracle.provers.feed_proof import FeedProof
from oracle.provers.identity import node_hotkey
from oracle.provers.pool import PoolProver
from oracle.provers.remote import ProverEndpoint
from oracle.provers.scoring import Scoreboard
from oracle.store import Store


class PipelineAcceptance:
    """The dispatcher's ``accept`` for one feed: the checks the pipeline applies to every proof."""

    def __init__(self, spec: FeedSpec) -> None:
        self._spec = spec
        self._models: dict[str, OnnxModel] = {}
        self._lock = threading.Lock()

    def __call__(self, circuit: CircuitArtifacts, proof: Proof, inputs: Sequence[float]) -> None:
        with self._lock:
            model = self._models.setdefault(circuit.manifest.key, OnnxModel(circuit.model))
        values = [float(x) for x in inputs]
        if is_slice_circuit(circuit):
            check_slice_proof(circuit, proof, values)
            return
        whole = FeedCircuit.whole(circuit)  # a piece that commits to no boundary is the whole model
        answer = feed_answer(self._spec, whole)
        check_proof(self._spec, whole, FeedProof.of(proof), values, model_output=model.run(values)[answer])


def prover_for(spec: FeedSpec, *, store: Store) -> Prover:
    """Local proving in a worker process, or a network of remote provers with local fallback."""
    settings = spec.prover
    # A sliced feed's slices are independent jobs: prove them side by side, up to one per core.
    workers = min(spec.slicing.proven_count, os.cpu_count() or 1) if spec.slicing else 1
    if settings.policy == "local":
        return PoolProver(workers=workers)
    signer = node_hotkey()
    return NetworkProver(
        discovery=discovery_for(settings, own_hotkey=signer.ss58_address),
        scoreboard=scoreboard_for(store),
        signer=signer,
        accept=PipelineAcceptance(spec),
        fallback=PoolProver(workers=workers),
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
