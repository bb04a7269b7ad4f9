"""The data attester: an HTTP service that signs a feed's Observation only after checking it itself.

``POST /attest`` takes an :class:`~oracle.attestation.typed_data.ObservationClaim`. The
attester signs (``{"signer", "signature"}``) only when the claim is for a feed, chain,
oracle and phase it serves, the time limbs among the input instances encode
``observed_at``, ``observed_at`` is neither ahead of its clock (beyond 5 s) nor older than
the feed's ``max_observation_age_seconds``, and each other input matches its own fetch of
the feed's source at ``observed_at`` within the feed's tolerance. Otherwise it answers
``{"kind", "detail"}`` (422: the claim is malformed or contradicts itself; 409: it
contradicts what this attester serves or sees; 503: the attester could not check) and
logs one line naming the feed and the reason. ``GET /health`` is open to anyone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from oracle.attestation.chain import AttestedChain
from oracle.attestation.checks import Refused, check_claim
from oracle.attestation.kinds import ATTEST, HEALTH, RefusalKind
from oracle.attestation.typed_data import ObservationClaim, sign_observation
from oracle.exceptions import ChainError
from oracle.feeds.schema import FeedSpec
from oracle.feeds.source import feed_source
from oracle.sources.base import InputSource, SourceContext

log = logging.getLogger(__name__)

STATUS: dict[RefusalKind, int] = {
    RefusalKind.BAD_CLAIM: 422,
    RefusalKind.BAD_INSTANCES: 422,
    RefusalKind.TIME_MISMATCH: 422,
    RefusalKind.UNKNOWN_FEED: 409,
    RefusalKind.WRONG_CHAIN: 409,
    RefusalKind.UNKNOWN_PHASE: 409,
    RefusalKind.TOO_OLD: 409,
    RefusalKind.FROM_FUTURE: 409,
    RefusalKind.OBSERVATION_DIFFERS: 409,
    # The attester could not check: the claim may be fine, so asking again (or another attester) may help.
    RefusalKind.SOURCE_FAILED: 503,
    RefusalKind.CHAIN_FAILED: 503,
}


class SourceObserver:
    """Fetches a feed's source the way the node's pipeline does: the source's values, then ``[input]`` transforms."""

    def __init__(self, chain: AttestedChain) -> None:
        self._chain = chain
        self._sources: dict[tuple[str, int], InputSource] = {}
        self._lock = threading.Lock()

    def source(self, spec: FeedSpec, input_scale: int) -> InputSource:
        # Keyed by scale too: an on-chain source quantises to the circuit's input scale.
        key = (spec.id, input_scale)
        with self._lock:
            if key not in self._sources:
                context = SourceContext(w3=self._chain.w3, input_scale=input_scale)
                self._sources[key] = feed_source(spec, context)
            return self._sources[key]

    def observer(self, input_scale: int) -> Callable[[FeedSpec, int], Sequence[float]]:
        def observe(spec: FeedSpec, observed_at: int) -> Sequence[float]:
            values = self.source(spec, input_scale).fetch(now=float(observed_at))
            return spec.input.apply([float(x) for x in values])

        return observe


class Attester:
    """What the routes share: the key, the feeds served, the chain, the clock."""

    def __init__(
        self,
        *,
        account: Any,
        feeds: Mapping[str, FeedSpec],
        chain: AttestedChain,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account = account
        self.feeds = dict(feeds)
        self.chain = chain
        self.clock = clock
        self.observer = SourceObserver(chain)

    def check(self, claim: ObservationClaim) -> None:
        """Raise :class:`Refused` unless this attester may sign ``claim``. Blocking (chain reads, source fetches)."""
        spec = self.feeds.get(claim.feed_id)
        if spec is None:
            raise Refused(RefusalKind.UNKNOWN_FEED, f"this attester serves {sorted(self.feeds)}")
        if claim.chain_id != self.chain.chain_id or claim.oracle.lower() != self.chain.oracle.lower():
            raise Refused(
                RefusalKind.WRONG_CHAIN,
                f"claim for oracle {claim.oracle} on chain {claim.chain_id}; "
                f"this attester serves {self.chain.oracle} on chain {self.chain.chain_id}",
            )
        try:
            phase = self.chain.phase_inputs(claim.feed_id, claim.phase_id)
        except ChainError as exc:
            raise Refused(RefusalKind.CHAIN_FAILED, str(exc)) from exc
        if phase is None:
            raise Refused(RefusalKind.UNKNOWN_PHASE, f"the oracle has no phase {claim.phase_id} for this feed")
        check_claim(claim, spec=spec, phase=phase, now=self.clock(), observe=self.observer.observer(phase.input_scale))


def _refusal(kind: RefusalKind, detail: str, *, feed: str) -> JSONResponse:
    log.warning("attester refused feed '%s': %s (%s)", feed, kind, detail)
    return JSONResponse({"kind": str(kind), "detail": detail}, status_code=STATUS[kind])


def create_attester_app(
    *,
    account: Any,
    feeds: Mapping[str, FeedSpec],
    chain: AttestedChain,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The attester's HTTP app: ``account`` (an eth_account LocalAccount) signs for ``feeds`` (by id) on ``chain``.

    Each feed's tolerance is its ``[attestation] tolerance_percent`` (0.5 when unset),
    always plus one quantisation step of the phase's input scale.
    """
    attester = Attester(account=account, feeds=feeds, chain=chain, clock=clock)
    app = FastAPI(title="zkoracle attester", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.attester = attester

    @app.get(HEALTH)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(ATTEST)
    async def attest(request: Request) -> JSONResponse:
        body: Any = None
        try:
            body = await request.json()
            claim = ObservationClaim.from_json(body)
        except (KeyError, TypeError, ValueError) as exc:  # any malformed body (bad JSON too): say so, never a 500
            feed = str(body.get("feed_id", "?")) if isinstance(body, dict) else "?"
            return _refusal(RefusalKind.BAD_CLAIM, f"not an observation claim ({type(exc).__name__}: {exc})", feed=feed)
        try:
            await run_in_threadpool(attester.check, claim)
        except Refused as refused:
            return _refusal(refused.kind, refused.detail, feed=claim.feed_id)
        attestation = sign_observation(attester.account, claim)
        log.info("attester signed feed '%s' phase %d observed at %d", claim.feed_id, claim.phase_id, claim.observed_at)
        return JSONResponse({"signer": attestation.signer, "signature": "0x" + attestation.signature.hex()})

    return app


def serve_attester(app: FastAPI, *, host: str, port: int) -> None:
    """Run the attester until interrupted."""
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
