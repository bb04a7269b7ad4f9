"""A feed's other chains: each posts the proofs made for the feed's first chain, in a thread of its own.

A proof is chain-agnostic (the same verifier bytecode accepts it on any EVM chain), so a
feed posted to several chains proves each round once. The round proven for the first
chain is copied to every other chain as a PROVEN round of that chain's deployment
(:meth:`~oracle.store.Ledger.copy_for`), written before anything is sent, and each
chain's :class:`ChainLane` relays its copies with its own relayer: own key, nonces,
confirmations and reorg handling, in its own thread, so a slow or dead chain holds up
nothing but itself. While a chain is out of reach its copies wait; when it answers
again only the newest is sent, the older ones end SUPERSEDED (the oracle takes only
observations newer than its latest, so they could never land after it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from requests import RequestException
from web3 import Web3

from oracle.deployments.keys import sender_for
from oracle.evm.zkoracle import ZkOracle
from oracle.feeds.schema import FeedSpec
from oracle.reports import RoundReport, answer_reports, read_round_onchain
from oracle.store import Deployment, Ledger, Round, RoundStatus, Store
from oracle.submission import SubmitCallBuilder
from relayer.rounds import RoundRelayer

log = logging.getLogger(__name__)

LaneReport = Callable[[RoundReport], None]
# What an unreachable, failing or stalled JSON-RPC endpoint raises from web3's HTTP provider.
UNREACHABLE = (RequestException, OSError)
# How soon a chain out of reach is tried again, so it catches up without waiting for the next proven round.
RETRY_SECONDS = 15.0


class ChainLane:
    """One of a feed's other chains: posts the newest proof there whenever the chain answers."""

    def __init__(
        self,
        spec: FeedSpec,
        *,
        store: Store,
        w3: Web3,
        deployment: Deployment,
        home_deployment_id: int,
        quantization_error: float,
        on_report: LaneReport,
        confirmations: int | None = None,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        """``home_deployment_id``: the first chain's deployment, whose rounds are the proven ones;
        ``retry_seconds``: how soon a chain out of reach is tried again."""
        self.spec = spec
        self.deployment = deployment
        self.chain_id = deployment.chain_id
        self._w3 = w3
        self._store = store
        self._ledger = Ledger(store)
        self._home = home_deployment_id
        self._quantization_error = quantization_error
        self._on_report = on_report
        self._relayer = RoundRelayer(
            store,
            sender_for(w3, "relayer", feed=spec),
            submit_calls=SubmitCallBuilder(ZkOracle(w3, deployment.oracle_address), store),
            confirmations=confirmations,
        )
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"lane-{spec.id}-{self.chain_id}")
        self._lock = threading.Lock()
        self._queued: Future[None] | None = None
        self._retry_seconds = retry_seconds
        self._retry: threading.Timer | None = None
        self._closed = False
        self.reachable = True

    @property
    def _deployment_id(self) -> int:
        return int(self.deployment.id)  # type: ignore[arg-type]

    def post(self, proven: Round) -> None:
        """Queue ``proven``'s proof for this chain; its copy is on record before this returns."""
        self._ledger.copy_for(proven, self._deployment_id)
        self._wake()

    def resume(self) -> None:
        """After a restart: the newest proof reaches this chain even if the node stopped before copying it."""
        newest = self._ledger.newest_proof(self._home)
        if newest is not None:
            self._ledger.copy_for(newest, self._deployment_id)
        self._wake()

    def drain(self, *, timeout: float | None = None) -> bool:
        """Wait for the posting under way (if any); False when it is still running after ``timeout``."""
        with self._lock:
            queued = self._queued
        if queued is None:
            return True
        try:
            queued.result(timeout=timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        """Stop taking work; a posting under way finishes in the background (its rows say where it got)."""
        with self._lock:
            self._closed = True
            if self._retry is not None:
                self._retry.cancel()
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _wake(self) -> None:
        # One catch-up waiting behind the running one is enough: it posts whatever is newest when it starts.
        with self._lock:
            if self._closed:
                return
            if self._queued is not None and not self._queued.running() and not self._queued.done():
                return
            self._queued = self._worker.submit(self._catch_up)

    def _retry_later(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._retry = threading.Timer(self._retry_seconds, self._wake)
            self._retry.daemon = True
            self._retry.start()

    def _catch_up(self) -> None:
        try:
            superseded = self._ledger.supersede(self._deployment_id)
            outcomes = self._relayer.reconcile(self._deployment_id)
        except UNREACHABLE as exc:
            if self.reachable:
                log.warning(
                    "feed '%s': chain %d is out of reach (%s); its rounds wait until it answers",
                    self.spec.id,
                    self.chain_id,
                    type(exc).__name__,
                )
            self.reachable = False
            self._retry_later()
            return
        except Exception:  # a lane's thread must not die silently: the next tick tries again
            log.exception("feed '%s': posting to chain %d failed", self.spec.id, self.chain_id)
            return
        self.reachable = True
        for row in superseded + [outcome.round for outcome in outcomes]:
            self._on_report(self._report(row))

    def _report(self, row: Round) -> RoundReport:
        reading = None
        if row.status is RoundStatus.LANDED:
            try:
                reading = read_round_onchain(self._w3, self._store, self.deployment, row)
            except UNREACHABLE:
                reading = None
        return RoundReport(
            round=row,
            reading=reading,
            quantization_error=self._quantization_error,
            chain_id=self.chain_id,
            lane=True,
            answers=answer_reports(self._store, self.deployment, row),
        )
