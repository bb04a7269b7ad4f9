"""A deployed feed's node: each tick observe, prove when a trigger fires, relay, and read the value back."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from web3 import Web3

from oracle.attestation.panel import AttesterPanel
from oracle.deployments.keys import sender_for
from oracle.evm.zkoracle import ZkOracle
from oracle.feed_circuit import FeedCircuit
from oracle.feeds.schema import FeedSpec
from oracle.feeds.source import feed_source
from oracle.lanes import RETRY_SECONDS, UNREACHABLE, ChainLane
from oracle.pipeline import RoundPipeline
from oracle.provers.base import Prover
from oracle.reports import OnchainReading, RoundReport, answer_reports, read_onchain, read_round_onchain
from oracle.sources.base import InputSource, SourceContext
from oracle.store import Deployment, Ledger, Round, RoundStatus, Store
from oracle.submission import SubmitCallBuilder
from oracle.triggers import Decision, decide, decide_answers
from relayer.rounds import RoundRelayer

log = logging.getLogger(__name__)


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
        other_chains: Sequence[tuple[Web3, Deployment]] = (),
        lane_retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        """``w3`` and ``deployment``: the feed's first chain, which rounds are proven for and each tick
        follows; ``other_chains``: the feed's deployments on its other chains, each posted to by a
        :class:`~oracle.lanes.ChainLane` (their outcomes go to :attr:`on_lane_report`)."""
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
            source=source or feed_source(spec, SourceContext(w3=w3, input_scale=circuit.input_scale)),
            prover=prover,
            store=store,
            deployment_id=int(deployment.id),  # type: ignore[arg-type]
            proofs_dir=proofs_dir,
            attesters=attesters,
        )
        self._store = store
        self._ledger = Ledger(store)
        self._home_waiting = False
        self._relayer = RoundRelayer(
            store,
            sender_for(w3, "relayer", feed=spec),
            submit_calls=SubmitCallBuilder(oracle, store),
            confirmations=confirmations,
        )
        self.on_lane_report: Callable[[RoundReport], None] = lambda _report: None
        self.lanes = [
            ChainLane(
                spec,
                store=store,
                w3=lane_w3,
                deployment=lane_deployment,
                home_deployment_id=int(deployment.id),  # type: ignore[arg-type]
                quantization_error=circuit.quantization_error,
                on_report=lambda report: self.on_lane_report(report),
                confirmations=confirmations,
                retry_seconds=lane_retry_seconds,
            )
            for lane_w3, lane_deployment in other_chains
        ]

    def resume(self) -> list[RoundReport]:
        """Finish rounds an earlier run left observed, proven or in flight (after a crash, say).

        The other chains catch up in their own threads: each gets the newest proof.
        """
        outcomes = self._relayer.reconcile(int(self.deployment.id))  # type: ignore[arg-type]
        for lane in self.lanes:
            lane.resume()
        return [self._report(outcome.round) for outcome in outcomes]

    def drain(self, *, timeout: float | None = None) -> None:
        """Wait (up to ``timeout`` per chain) for the other chains' postings under way, then stop their threads."""
        for lane in self.lanes:
            lane.drain(timeout=timeout)
            lane.close()

    def tick(self, *, now: float | None = None) -> RoundReport:
        """Infer; then, if a trigger fires, prove, relay and read the consumer."""
        now = time.time() if now is None else now
        row = self._pipeline.observe(now=now)
        if row.status is RoundStatus.FAILED:
            return self._report(row)
        decision, answers = self._decide(row, now=now)
        if not decision.post:
            return self._report(row, trigger=decision.reason, skipped=True)
        row = self._pipeline.prove(row, answers=answers)
        if row.status is RoundStatus.PROVEN:
            for lane in self.lanes:  # copied before the first send, so a crash loses no chain's round
                lane.post(row)
            try:
                if self._home_waiting:  # rounds left waiting while the chain was out of reach: this one replaces them
                    self._ledger.supersede(int(self.deployment.id))  # type: ignore[arg-type]
                    self._home_waiting = False
                row = self._relayer.relay(int(row.id)).round  # type: ignore[arg-type]
            except UNREACHABLE as exc:
                # Like any chain out of reach: the round waits, and the next tick's round supersedes it.
                log.warning("feed '%s': chain %d is out of reach (%s)", self.spec.id, self.deployment.chain_id, exc)
                self._home_waiting = True
                return self._report(
                    self._ledger.round(int(row.id)),  # type: ignore[arg-type]
                    trigger=f"chain {self.deployment.chain_id} out of reach: the round waits to be sent",
                )
        return self._report(row, trigger=decision.reason)

    def _decide(self, row: Round, *, now: float) -> tuple[Decision, list[str]]:
        """Whether to prove the tick's round and, for a feed with ``[[answers]]``, which answers it posts:
        each answer's own trigger decides, and the round is proven when any answer fires."""
        oracle_address = self.deployment.oracle_address
        answers = self._pipeline.answers
        if not answers:
            return decide(
                self.spec, row, self._store.last_landed(self.spec.id, oracle_address=oracle_address), now=now
            ), []
        last = self._store.last_landed_answers(self.spec.id, oracle_address=oracle_address)
        decisions = decide_answers(self.spec, answers, row.answer_values, last, now=now, observed_at=row.observed_at)
        fired = [answer.id for answer in answers if decisions[answer.id].post]
        if not fired:
            return Decision(False, f"no answer moved ({decisions[answers[0].id].reason} for '{answers[0].id}', …)"), []
        reasons = sorted({decisions[answer].kind for answer in fired})
        return Decision(True, f"{len(fired)} of {len(answers)} answers ({', '.join(reasons)})"), fired

    def _report(self, row: Round, *, trigger: str | None = None, skipped: bool = False) -> RoundReport:
        reading = (
            read_round_onchain(self._w3, self._store, self.deployment, row)
            if row.status is RoundStatus.LANDED
            else None
        )
        return RoundReport(
            round=row,
            reading=reading,
            quantization_error=self.circuit.quantization_error,
            trigger=trigger,
            skipped=skipped,
            chain_id=self.deployment.chain_id,
            answers=answer_reports(self._store, self.deployment, row),
        )

    def read_onchain(self) -> OnchainReading:
        return read_onchain(self._w3, self.deployment)
