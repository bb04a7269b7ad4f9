"""Hedged proving over a network of untrusted provers: ask k, keep the first proof that checks out.

Each chosen prover gets the job at once. An answer is accepted only when it passes
the node's own checks (``accept``: local verification against the feed's verifying
key, public values equal to the round's inputs and to our own inference within the
quantisation error). The first accepted proof wins, the other requests are
cancelled (their provers end the jobs), and every prover's part is scored. An answer
that is not an acceptable proof hands the job to the next eligible prover not yet
asked, so the job keeps ``redundancy`` provers on it: a prover that fails mid-proof
costs a retry elsewhere. A prover that is busy (429) is not scored and is left alone
for the time it asked; when every prover is busy or spent, the job waits for the first
busy one's time to pass and asks it again, as long as that comes before the timeout.
When no prover delivers an acceptable proof by then, the round is proven locally.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import bittensor as bt
import httpx

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.exceptions import ProverBusyError, ProverError, RemoteProverError
from oracle.provers.base import Proof, Prover
from oracle.provers.discovery import Discovery
from oracle.provers.recipe import NodeRecipes
from oracle.provers.remote import ProverEndpoint, RemoteProver
from oracle.provers.scoring import Outcome, Scoreboard

log = logging.getLogger(__name__)

Acceptance = Callable[[CircuitArtifacts, Proof, Sequence[float]], None]
"""Raises :class:`ProverError` unless the proof would be accepted for a round with these inputs."""


@dataclass(frozen=True)
class _Answer:
    endpoint: ProverEndpoint
    outcome: Outcome
    latency: float | None  # None when the prover never answered, so its speed is unknown
    proof: Proof | None = None
    reason: str | None = None
    retry_after: float | None = None  # when BUSY: how long the prover asked to be left alone


class NetworkProver:
    """A :class:`Prover` that races remote provers and falls back to ``fallback``."""

    name = "network"

    def __init__(
        self,
        *,
        discovery: Discovery,
        scoreboard: Scoreboard,
        signer: bt.Signer,
        accept: Acceptance,
        fallback: Prover,
        redundancy: int,
        timeout: float,
        recipes: NodeRecipes | None = None,
    ) -> None:
        self._discovery = discovery
        self._scoreboard = scoreboard
        self._signer = signer
        self._accept = accept
        self._fallback = fallback
        self._redundancy = redundancy
        self._timeout = timeout
        self._recipes = recipes or NodeRecipes()
        self._busy: collections.Counter[str] = collections.Counter()  # our requests in flight, per hotkey
        self._busy_lock = threading.Lock()

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        try:
            endpoints = self._discovery.endpoints()
        except ProverError as exc:
            log.warning("no prover network (%s); proving locally", exc)
            return self._fallback.prove(circuit, inputs)
        asked: list[ProverEndpoint] = []
        try:
            proof = asyncio.run(self._race(endpoints, asked, circuit, inputs))
        finally:
            with self._busy_lock:
                self._busy.subtract(e.hotkey for e in asked)
        if proof is not None:
            return proof
        log.warning(
            "no acceptable proof after %d request(s) to %d remote prover(s); proving locally",
            len(asked),
            len({e.hotkey for e in asked}),
        )
        return self._fallback.prove(circuit, inputs)

    def _choose(
        self,
        endpoints: Sequence[ProverEndpoint],
        asked: list[ProverEndpoint],
        k: int,
        *,
        again: set[str],
    ) -> list[ProverEndpoint]:
        """Up to ``k`` provers not yet asked for this job, or asked and busy (``again``, taken out when chosen);
        added to ``asked`` and to our requests in flight."""
        taken = {e.hotkey for e in asked} - again
        with self._busy_lock:
            chosen = self._scoreboard.choose([e for e in endpoints if e.hotkey not in taken], k, busy=self._busy)
            self._busy.update(e.hotkey for e in chosen)
        asked.extend(chosen)
        again.difference_update(e.hotkey for e in chosen)
        return chosen

    async def _race(
        self,
        endpoints: Sequence[ProverEndpoint],
        asked: list[ProverEndpoint],
        circuit: CircuitArtifacts,
        inputs: Sequence[float],
    ) -> Proof | None:
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            attempts: dict[asyncio.Task[_Answer], tuple[ProverEndpoint, float]] = {}  # whom, and since when
            again: set[str] = set()  # busy for this job: may be asked again once the time they asked has passed

            def ask(k: int) -> set[asyncio.Task[_Answer]]:
                now = time.perf_counter()
                tasks = {
                    asyncio.create_task(self._attempt(client, endpoint, circuit, inputs)): (endpoint, now)
                    for endpoint in self._choose(endpoints, asked, k, again=again)
                }
                attempts.update(tasks)
                return set(tasks)

            pending = ask(self._redundancy)
            winner: _Answer | None = None
            while winner is None:
                left = self._timeout - (time.perf_counter() - started)
                if left <= 0:
                    break
                if not pending:
                    # Nobody is on the job: proving locally now would ignore the provers' Retry-After, whether
                    # they said it to this job or to another of this node's (the scoreboard is shared).
                    spent = {e.hotkey for e in asked} - again
                    wait = self._scoreboard.eligible_in([e for e in endpoints if e.hotkey not in spent])
                    if wait is None or wait >= left:
                        break
                    await asyncio.sleep(wait)
                    pending = ask(self._redundancy)
                    continue
                done, pending = await asyncio.wait(pending, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                unanswered = 0
                for task in done:
                    answer = task.result()
                    if answer.outcome is Outcome.VALID and winner is None:
                        winner = answer
                    else:
                        self._score(answer)
                        unanswered += 1
                        if answer.outcome is Outcome.BUSY:
                            again.add(answer.endpoint.hotkey)
                if unanswered and winner is None:
                    pending |= ask(unanswered)  # the job still wants `redundancy` provers on it
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        finished = time.perf_counter()
        for task in pending:
            endpoint, since = attempts[task]
            if winner is not None:
                lost = _Answer(endpoint, Outcome.LOST, finished - since, reason="another proof was accepted first")
                self._score(lost)
            else:
                reason = f"no answer in {self._timeout:g}s"
                self._score(_Answer(endpoint, Outcome.FAILED, finished - since, reason=reason))
        if winner is None:
            return None
        self._score(winner)
        log.info("proof by %s accepted after %.2fs", winner.endpoint.hotkey, finished - started)
        return winner.proof

    async def _attempt(
        self, client: httpx.AsyncClient, endpoint: ProverEndpoint, circuit: CircuitArtifacts, inputs: Sequence[float]
    ) -> _Answer:
        remote = RemoteProver(endpoint, signer=self._signer, recipes=self._recipes)
        try:
            proof = await remote.aprove(client, circuit, inputs)
        except ProverBusyError as exc:
            return _Answer(endpoint, Outcome.BUSY, None, reason=str(exc), retry_after=exc.retry_after)
        except RemoteProverError as exc:
            return _Answer(endpoint, Outcome.FAILED, None, reason=str(exc))
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self._accept, circuit, proof, inputs)
        except ProverError as exc:
            return _Answer(endpoint, Outcome.INVALID, proof.prove_seconds, reason=str(exc))
        proof = dataclasses.replace(proof, stages={**proof.stages, "accept": time.perf_counter() - started})
        return _Answer(endpoint, Outcome.VALID, proof.prove_seconds, proof=proof)

    def _score(self, answer: _Answer) -> None:
        if answer.outcome is not Outcome.VALID:
            log.info("prover %s: %s (%s)", answer.endpoint.hotkey, answer.outcome, answer.reason)
        if answer.outcome is Outcome.BUSY:
            self._scoreboard.defer(answer.endpoint, seconds=answer.retry_after or 0.0)
            return
        self._scoreboard.record(
            answer.endpoint,
            answer.outcome,
            latency=answer.latency,
            proof_bytes=len(answer.proof.proof_bytes) if answer.proof else None,
        )
