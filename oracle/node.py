"""A deployed feed's node: each tick observe, prove when a trigger fires, relay, and read the value back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from oracle.attestation.panel import AttesterPanel
from oracle.deployments.keys import sender_for
from oracle.evm.contracts import CONSUMER, PROXY, bind
from oracle.evm.zkoracle import RoundId, ZkOracle
from oracle.feed_circuit import FeedCircuit
from oracle.feeds.schema import FeedSpec
from oracle.pipeline import RoundPipeline
from oracle.provers.base import Prover
from oracle.sources.base import InputSource, SourceContext
from oracle.sources.factory import create_source
from oracle.store import Deployment, Round, RoundStatus, Store
from oracle.submission import SubmitCallBuilder
from oracle.triggers import decide
from relayer.rounds import RoundRelayer


@dataclass(frozen=True)
class OnchainReading:
    """The feed's latest value as a contract reads it: the example consumer when deployed, else the proxy."""

    answer: int
    decimals: int
    round_id: RoundId
    reader: str  # "consumer" or "proxy"

    @property
    def value(self) -> float:
        return self.answer / 10**self.decimals


@dataclass(frozen=True)
class RoundReport:
    """One tick's outcome: a round that landed or failed, or an observation not worth posting."""

    round: Round
    reading: OnchainReading | None
    quantization_error: float
    trigger: str | None = None  # why the tick was posted, or why not
    skipped: bool = False

    @property
    def landed(self) -> bool:
        return self.round.status is RoundStatus.LANDED

    @property
    def error(self) -> float | None:
        """|value read on-chain − float model output|."""
        if self.reading is None or self.round.model_output is None:
            return None
        return abs(self.reading.value - self.round.model_output)

    @property
    def tolerance(self) -> float:
        """The circuit's quantisation error plus one unit of the feed's decimals (on-chain rounding)."""
        decimals = self.reading.decimals if self.reading else 0
        return self.quantization_error + 10.0**-decimals


class FeedNode:
    """Runs rounds of one deployed feed: pipeline (prove) then relayer (post), then a consumer read."""

    def __init__(
        self,
        spec: FeedSpec,
        circuit: FeedCircuit,
        *,
        store: Store,
        w3: Web3,
        deployment: Deployment,
        prover: Prover,
        proofs_dir: Path,
        source: InputSource | None = None,
        confirmations: int | None = None,
    ) -> None:
        self.spec = spec
        self.circuit = circuit
        self.deployment = deployment
        self._w3 = w3
        oracle = ZkOracle(w3, deployment.oracle_address)
        attesters = AttesterPanel.of(
            spec, chain_id=w3.eth.chain_id, oracle=deployment.oracle_address, phase_id=oracle.circuit(spec.id)[0]
        )
        self._pipeline = RoundPipeline(
            spec,
            circuit,
            source=source
            or create_source(spec.source, SourceContext(w3=w3, input_scale=circuit.manifest.input_scales[0])),
            prover=prover,
            store=store,
            deployment_id=int(deployment.id),  # type: ignore[arg-type]
            proofs_dir=proofs_dir,
            attesters=attesters,
        )
        self._store = store
        self._relayer = RoundRelayer(
            store,
            sender_for(w3, "relayer", feed=spec),
            submit_calls=SubmitCallBuilder(oracle),
            confirmations=confirmations,
        )

    def resume(self) -> list[RoundReport]:
        """Finish rounds an earlier run left observed, proven or in flight (after a crash, say)."""
        outcomes = self._relayer.reconcile(int(self.deployment.id))  # type: ignore[arg-type]
        return [self._report(outcome.round) for outcome in outcomes]

    def tick(self, *, now: float | None = None) -> RoundReport:
        """Infer; then, if a trigger fires, prove, relay and read the consumer."""
        now = time.time() if now is None else now
        row = self._pipeline.observe(now=now)
        if row.status is RoundStatus.FAILED:
            return self._report(row)
        last = self._store.last_landed(self.spec.id, oracle_address=self.deployment.oracle_address)
        decision = decide(self.spec, row, last, now=now)
        if not decision.post:
            return self._report(row, trigger=decision.reason, skipped=True)
        row = self._pipeline.prove(row)
        if row.status is RoundStatus.PROVEN:
            row = self._relayer.relay(int(row.id)).round  # type: ignore[arg-type]
        return self._report(row, trigger=decision.reason)

    def _report(self, row: Round, *, trigger: str | None = None, skipped: bool = False) -> RoundReport:
        reading = self.read_onchain() if row.status is RoundStatus.LANDED else None
        return RoundReport(
            round=row,
            reading=reading,
            quantization_error=self.circuit.manifest.quantization_error,
            trigger=trigger,
            skipped=skipped,
        )

    def read_onchain(self) -> OnchainReading:
        if self.deployment.consumer_address is not None:
            consumer = bind(self._w3, CONSUMER, self.deployment.consumer_address)
            answer, decimals, round_id, _updated_at = consumer.functions.readLatest().call()
            return OnchainReading(int(answer), int(decimals), RoundId.decode(round_id), reader="consumer")
        proxy = bind(self._w3, PROXY, self.deployment.proxy_address)
        round_id, answer, _started_at, _updated_at, _answered_in = proxy.functions.latestRoundData().call()
        decimals = proxy.functions.decimals().call()
        return OnchainReading(int(answer), int(decimals), RoundId.decode(round_id), reader="proxy")
