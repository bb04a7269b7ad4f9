"""The prover ("miner"): an HTTP service that proves circuits it is sent, for hotkey-signed requests.

Every request but ``GET /health`` (liveness, open to anyone, no details) must carry
btauth/1 headers addressed to this prover's hotkey: a missing, stale, replayed or
misaddressed signature gets 401, a caller outside the allow-list (when one is set) 403.
Answers are signed by this prover's hotkey.
Circuit recipes (PUT /recipes/<digest>) and the SRS they name (PUT /srs/<sha256>) come
from the requester (signed by their sha256 and streamed to disk: :mod:`oracle.provers.uploads`)
or from a configured artifact URL, are checked against their digest,
and stay cached; the keys derived from a recipe are kept only when its verifying key is
the one the recipe names (else a signed 422), and stay cached too.
A proof whose requester hangs up is cancelled: its process is ended. A proof request
that finds every worker taken and the queue full gets 429 with ``Retry-After`` at once,
so its node can ask another prover instead of waiting here.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import statistics
import tempfile
import time
from collections.abc import Iterable
from typing import BinaryIO

import bittensor as bt
import httpx
import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, ValidationError

from oracle.exceptions import ProverBusyError, ProverError, RecipeMismatchError, UploadMismatchError
from oracle.provers.local import ProvingMaterial
from oracle.provers.pool import PoolProver
from oracle.provers.recipe import RecipeCache
from oracle.provers.uploads import spool, verify_upload
from oracle.provers.wire import (
    CAPACITY,
    HEALTH,
    PROVE,
    RECIPES,
    SRS,
    Busy,
    Capacity,
    Health,
    Missing,
    ProveAnswer,
    ProveRequest,
    Recipe,
    Refused,
    Stored,
)

log = logging.getLogger(__name__)

RECENT_PROOFS = 20
DISCONNECT_POLL_SECONDS = 0.2
# bittensor's defaults: a request signed more than 10 s ago (or 2 s ahead) is stale.
NONCE_RETENTION_SECONDS = 60.0
DEFAULT_QUEUE = 4  # proof requests that may wait for a worker; more are answered 429
# Told to callers before this prover has timed a proof of its own.
FIRST_RETRY_AFTER_SECONDS = 5
MAX_MESSAGE_BYTES = 1 << 20  # a JSON request (inputs, a recipe's digest); uploads are streamed instead


class ProverService:
    """State behind the HTTP routes: identity, recipe cache, proving jobs, recent timings."""

    def __init__(
        self,
        *,
        hotkey: bt.Signer,
        cache: RecipeCache,
        jobs: PoolProver,
        allowed: Iterable[str] = (),
        artifact_url: str | None = None,
    ) -> None:
        self.hotkey = hotkey
        self.cache = cache
        self.jobs = jobs
        self.allowed = frozenset(allowed)
        self.artifact_url = artifact_url.rstrip("/") if artifact_url else None
        self.recent_prove_seconds: collections.deque[float] = collections.deque(maxlen=RECENT_PROOFS)
        self.busy_answers = 0  # told to /capacity: how often callers were sent elsewhere
        self._nonces = bt.http_auth.InMemoryNonceStore(retention=NONCE_RETENTION_SECONDS)
        # One download and one key setup per recipe or SRS, however many requests wait for it.
        self._preparing: dict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)

    async def authenticate(self, request: Request) -> tuple[str, bytes]:
        """The caller's hotkey and the request's (small, JSON) body, or 401/403.

        Freshness is judged when the request's headers came in, before its body is read.
        """
        arrived_ns = time.time_ns()
        body = bytearray()
        async for chunk in request.stream():  # a stranger's body is held only up to the bound
            body += chunk
            if len(body) > MAX_MESSAGE_BYTES:
                raise HTTPException(status_code=413, detail=f"a message may hold {MAX_MESSAGE_BYTES} bytes")
        try:
            caller = bt.http_auth.verify(
                dict(request.headers),
                body,
                method=request.method,
                path=request.url.path,
                self_hotkey_ss58=self.hotkey.ss58_address,
                nonce_store=self._nonces,
                now_ns=arrived_ns,
            )
        except bt.http_auth.AuthError as exc:  # its messages are safe to return to the caller
            raise HTTPException(status_code=401, detail=f"btauth/1: {exc}") from None
        if self.allowed and caller.hotkey_ss58 not in self.allowed:
            raise HTTPException(status_code=403, detail=f"hotkey {caller.hotkey_ss58} may not use this prover")
        return caller.hotkey_ss58, bytes(body)

    async def receive_upload(self, request: Request, into: BinaryIO) -> str:
        """The caller's hotkey, once the body is in ``into`` and hashes to the sha256 it signed; else 401/403/400.

        The signature is checked from the headers before the body is read: a stranger's
        upload is refused without spooling a byte of it.
        """
        try:
            caller, sha256 = verify_upload(
                dict(request.headers),
                method=request.method,
                path=request.url.path,
                self_hotkey_ss58=self.hotkey.ss58_address,
                nonce_store=self._nonces,
                now_ns=time.time_ns(),
            )
        except bt.http_auth.AuthError as exc:
            raise HTTPException(status_code=401, detail=f"btauth/1: {exc}") from None
        if self.allowed and caller.hotkey_ss58 not in self.allowed:
            raise HTTPException(status_code=403, detail=f"hotkey {caller.hotkey_ss58} may not use this prover")
        try:
            await spool(request.stream(), into, sha256=sha256)
        except UploadMismatchError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        into.seek(0)
        return caller.hotkey_ss58

    def signed(self, message: BaseModel, *, request: Request, caller: str, status_code: int = 200) -> Response:
        body = message.model_dump_json().encode()
        headers = bt.http_auth.sign(
            self.hotkey, method=request.method, path=request.url.path, body=body, receiver_ss58=caller
        )
        return Response(content=body, status_code=status_code, media_type="application/json", headers=headers)

    def busy(self, *, request: Request, caller: str) -> Response:
        """429: no worker free and no room to wait; come back when a typical proof has had time to end."""
        seconds = (
            max(1, math.ceil(statistics.median(self.recent_prove_seconds)))
            if self.recent_prove_seconds
            else FIRST_RETRY_AFTER_SECONDS
        )
        self.busy_answers += 1
        response = self.signed(Busy(retry_after_seconds=seconds), request=request, caller=caller, status_code=429)
        response.headers["Retry-After"] = str(seconds)
        return response

    async def material(self, digest: str) -> ProvingMaterial | Missing:
        """The recipe's keys (derived on first use, off the event loop), or what is missing to derive them.

        Raises :class:`RecipeMismatchError` when the recipe does not set up to the verifying key it names.
        """
        if (refusal := self.cache.refusal(digest)) is not None:  # its recipe is gone: refuse, do not ask for it
            raise refusal
        async with self._preparing[digest]:
            recipe = await asyncio.to_thread(self.cache.recipe, digest)
            if recipe is None and self.artifact_url is not None:
                recipe = await self._fetch_recipe(digest)
            if recipe is None:
                return Missing(recipe=digest)
        async with self._preparing[recipe.srs]:
            if self.cache.srs(recipe.srs) is None and not await self._fetch_srs(recipe.srs):
                return Missing(srs=recipe.srs)
        async with self._preparing[digest]:
            material = await asyncio.to_thread(self.cache.material, digest)
        return material if material is not None else Missing(recipe=digest)  # removed meanwhile

    async def _fetch_recipe(self, digest: str) -> Recipe | None:
        with tempfile.TemporaryFile() as spool:
            if not await self._download(f"{digest}.recipe", spool):
                return None
            spool.seek(0)
            try:
                recipe = Recipe.model_validate_json(spool.read())
                await asyncio.to_thread(self.cache.install, digest, recipe)
            except (ValidationError, ProverError) as exc:
                log.warning("the recipe fetched as %s is unusable: %s", digest, exc)
                return None
            return recipe

    async def _fetch_srs(self, sha256: str) -> bool:
        if self.artifact_url is None:
            return False
        with tempfile.TemporaryFile() as spool:
            if not await self._download(f"{sha256}.srs", spool):
                return False
            spool.seek(0)
            try:
                await asyncio.to_thread(self.cache.install_srs, sha256, spool)
            except ProverError as exc:
                log.warning("%s", exc)
                return False
            return True

    async def _download(self, name: str, spool: BinaryIO) -> bool:
        """``artifact_url/name`` streamed into ``spool``; False when absent or unreachable."""
        url = f"{self.artifact_url}/{name}"
        try:
            async with httpx.AsyncClient(timeout=60.0) as client, client.stream("GET", url) as response:
                if response.status_code == 404:
                    return False
                response.raise_for_status()
                async for chunk in response.aiter_bytes():
                    spool.write(chunk)
        except httpx.HTTPError as exc:
            log.warning("cannot fetch %s: %s", url, exc)
            return False
        return True

    async def prove(
        self, request: Request, job_request: ProveRequest, material: ProvingMaterial, *, stages: dict[str, float]
    ) -> ProveAnswer | None:
        """Run the proof; None when the requester went away first (the job is then ended).

        ``stages`` holds the request's timings so far; the answer carries them with the job's.
        """
        submitted = time.perf_counter()
        job = self.jobs.submit(material, job_request.inputs)
        waiting = asyncio.wrap_future(job.future)
        while not waiting.done():
            await asyncio.wait({waiting}, timeout=DISCONNECT_POLL_SECONDS)
            if not waiting.done() and await request.is_disconnected():
                waiting.cancel()  # nobody will read the job's "cancelled" error
                job.cancel()
                return None
        proof = waiting.result()
        job_seconds = time.perf_counter() - submitted
        self.recent_prove_seconds.append(round(proof.prove_seconds, 3))
        # What the job's own stages leave out: handing the job to a worker thread and its result back.
        handoff = max(0.0, job_seconds - sum(proof.stages.values()))
        return ProveAnswer(
            recipe=job_request.recipe,
            inputs=job_request.inputs,
            request_nonce=int(request.headers[bt.http_auth.HEADER_NONCE]),
            proof=proof.document.decode(),
            prove_seconds=proof.prove_seconds,
            stages={**stages, **proof.stages, "job_handoff": handoff},
        )


def create_app(service: ProverService) -> FastAPI:
    app = FastAPI(title="zkoracle prover", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get(HEALTH)
    async def health() -> Response:
        return Response(content=Health(status="ok").model_dump_json(), media_type="application/json")

    @app.get(CAPACITY)
    async def capacity(request: Request) -> Response:
        caller, _ = await service.authenticate(request)
        answer = Capacity(
            hotkey=service.hotkey.ss58_address,
            recipes=service.cache.digests(),
            srs=service.cache.srs_held(),
            workers=service.jobs.workers,
            queue=service.jobs.queue,
            running=service.jobs.running,
            waiting=service.jobs.waiting,
            recent_prove_seconds=list(service.recent_prove_seconds),
            busy_answers=service.busy_answers,
        )
        return service.signed(answer, request=request, caller=caller)

    @app.put(RECIPES + "/{digest}")
    async def put_recipe(digest: str, request: Request) -> Response:
        with tempfile.TemporaryFile() as body:
            caller = await service.receive_upload(request, body)
            try:
                recipe = Recipe.model_validate_json(body.read())  # kilobytes: a compiled circuit, two hashes
            except ValidationError as exc:
                raise HTTPException(status_code=422, detail=str(exc)) from None
        try:
            missing_srs = await asyncio.to_thread(service.cache.install, digest, recipe)
        except ProverError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        stored = Stored(digest=digest, missing_srs=missing_srs)
        return service.signed(stored, request=request, caller=caller, status_code=201)

    @app.put(SRS + "/{sha256}")
    async def put_srs(sha256: str, request: Request) -> Response:
        with tempfile.TemporaryFile() as body:
            caller = await service.receive_upload(request, body)
            try:
                await asyncio.to_thread(service.cache.install_srs, sha256, body)
            except ProverError as exc:
                raise HTTPException(status_code=400, detail=str(exc)) from None
        return service.signed(Stored(digest=sha256), request=request, caller=caller, status_code=201)

    @app.post(PROVE)
    async def prove(request: Request) -> Response:
        arrived = time.perf_counter()
        caller, body = await service.authenticate(request)
        stages = {"auth": time.perf_counter() - arrived}
        try:
            job = ProveRequest.model_validate_json(body)
        except ValidationError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        if service.jobs.full:  # before fetching a recipe or asking for one the job could not use now
            return service.busy(request=request, caller=caller)
        try:
            started = time.perf_counter()
            material = await service.material(job.recipe)
            if isinstance(material, Missing):
                return service.signed(material, request=request, caller=caller, status_code=404)
            stages["material"] = time.perf_counter() - started
            answer = await service.prove(request, job, material, stages=stages)
        except RecipeMismatchError as exc:
            refused = Refused(recipe=exc.recipe, expected_vk=exc.expected_vk, derived_vk=exc.derived_vk)
            return service.signed(refused, request=request, caller=caller, status_code=422)
        except ProverBusyError:  # the last place went while the keys were derived
            return service.busy(request=request, caller=caller)
        except ProverError as exc:
            raise HTTPException(status_code=500, detail=str(exc)) from None
        if answer is None:
            return Response(status_code=499)  # nginx's "client closed request": nobody reads it
        return service.signed(answer, request=request, caller=caller)

    return app


def serve_forever(service: ProverService, *, host: str, port: int) -> None:
    """Run the prover until interrupted, its proving workers starting while it begins to listen."""
    service.jobs.warm()
    try:
        uvicorn.run(create_app(service), host=host, port=port, log_level="warning", access_log=False)
    finally:
        service.jobs.close()
