"""A feed's registration: how the oracle contract checks its proofs and derives its answer.

Read from the oracle contract when its chain answers (authoritative, and immutable for a
given phase, so cached); otherwise described from the feed's ``feed.toml`` and circuit,
labelled as such so a verifier knows the chain was not consulted.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping

from web3 import HTTPProvider, Web3

from oracle.api.evidence import coverage
from oracle.api.schemas import Coverage, RegistrationOut
from oracle.evm.zkoracle import InputPolicy, RoundId, ZkOracle
from oracle.feed_circuit import FeedCircuit, feed_answer
from oracle.feeds.schema import FeedSpec
from oracle.store import Deployment, Round

log = logging.getLogger(__name__)

RETRY_CHAIN_AFTER_SECONDS = 30.0
# A phase's circuit never changes once registered; which phase is current does (rotation).
CURRENT_PHASE_TTL_SECONDS = 30.0


class RegistrationReader:
    def __init__(self, *, specs: Mapping[str, FeedSpec], rpc_timeout: float = 3.0) -> None:
        self._specs = dict(specs)
        self._rpc_timeout = rpc_timeout
        self._cache: dict[tuple[int, int], tuple[RegistrationOut, float]] = {}  # (deployment, phase) -> (found, until)
        self._retry_chain_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def spec(self, feed_id: str) -> FeedSpec | None:
        return self._specs.get(feed_id)

    def read(
        self, deployment: Deployment, circuit: FeedCircuit | None, row: Round | None = None
    ) -> RegistrationOut | None:
        """The registration that applies to ``row`` (or the deployment's current one), or None if unknown."""
        # Phase 0 stands for "the current phase": rounds not yet landed have no on-chain id to take it from.
        phase = RoundId.decode(int(row.onchain_round_id)).phase if row is not None and row.onchain_round_id else 0
        return self._from_chain(deployment, phase) or self._from_spec(deployment, circuit)

    def _from_chain(self, deployment: Deployment, phase: int) -> RegistrationOut | None:
        key = (int(deployment.id), phase)  # type: ignore[arg-type]
        with self._lock:
            cached, until = self._cache.get(key, (None, 0.0))
            if cached is not None and time.monotonic() < until:
                return cached
            if time.monotonic() < self._retry_chain_at.get(deployment.rpc_url, 0.0):
                return None
        try:
            found = self._query(deployment, phase)
        except Exception as exc:  # any RPC, ABI or revert failure means: not from the chain this time
            log.info("feed '%s': registration not read from %s: %s", deployment.feed_id, deployment.rpc_url, exc)
            with self._lock:
                self._retry_chain_at[deployment.rpc_url] = time.monotonic() + RETRY_CHAIN_AFTER_SECONDS
            return None
        with self._lock:
            self._cache[key] = (found, time.monotonic() + CURRENT_PHASE_TTL_SECONDS if phase == 0 else math.inf)
        return found

    def _query(self, deployment: Deployment, phase: int) -> RegistrationOut:
        w3 = Web3(HTTPProvider(deployment.rpc_url, request_kwargs={"timeout": self._rpc_timeout}))
        oracle = ZkOracle(w3, deployment.oracle_address)
        params = oracle.feed_params(deployment.feed_id)
        circuit = oracle.phase_circuit(deployment.feed_id, phase) if phase else oracle.circuit(deployment.feed_id)[1]
        # ZkOracle derives every round's coverage from the slices registered after the first.
        proven, total = circuit.coverage
        attested = params.input_policy is InputPolicy.ATTESTED
        attesters, threshold = oracle.attesters(deployment.feed_id) if attested else ((), 0)
        return RegistrationOut(
            source="chain",
            description=params.description,
            decimals=params.decimals,
            input_policy=params.input_policy.label,
            permissionless=params.permissionless,
            rounds_retained=params.rounds_retained,
            attesters=list(attesters),
            attestation_threshold=threshold if attested else None,
            verifier_address=circuit.verifier,
            model_commitment="0x" + circuit.model_commitment.hex(),
            instance_count=circuit.instance_count,
            output_index=circuit.output_index,
            output_scale=circuit.output_scale,
            coverage=Coverage(proven=proven, total=total),
        )

    def _from_spec(self, deployment: Deployment, circuit: FeedCircuit | None) -> RegistrationOut | None:
        spec = self._specs.get(deployment.feed_id)
        if spec is None or circuit is None:
            return None
        # As the deployer registers it: the first piece takes the inputs, the last gives the answer.
        answer = feed_answer(spec, circuit)
        return RegistrationOut(
            source="feed-spec",
            description=spec.description,
            decimals=spec.decimals,
            input_policy=spec.onchain.input_policy,
            permissionless=spec.onchain.permissionless,
            rounds_retained=spec.onchain.rounds_retained,
            attesters=[attester.address for attester in spec.attestation.attesters] if spec.attestation else [],
            attestation_threshold=spec.attestation.threshold if spec.attestation else None,
            verifier_address=deployment.verifier_address,
            model_commitment=deployment.model_commitment,
            instance_count=circuit.first.manifest.instance_count,
            output_index=circuit.answer_index(answer),
            output_scale=circuit.answer_scale(answer),
            coverage=coverage(circuit),
        )
