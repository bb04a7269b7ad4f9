"""Asking one remote prover for a proof over HTTP, signed with the node's hotkey (btauth/1).

A prover with no room for the job answers a signed 429: that is :class:`ProverBusyError`
(ask another), never a failure of the prover. A prover new to a circuit is sent its
recipe (kilobytes) and, once per prover, the SRS; it derives the keys itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import bittensor as bt
import httpx
from pydantic import BaseModel, ValidationError

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.exceptions import ProverBusyError, RemoteProverError
from oracle.inference import split_by_shapes
from oracle.provers.base import Proof
from oracle.provers.recipe import NodeRecipes
from oracle.provers.uploads import file_chunks, sign_upload
from oracle.provers.wire import (
    CAPACITY,
    HEALTH,
    PROVE,
    Busy,
    Capacity,
    Health,
    Missing,
    ProveAnswer,
    ProveRequest,
    Refused,
    Stored,
    recipe_path,
    srs_path,
)

M = TypeVar("M", bound=BaseModel)

# Answers are signed when sent; a proof can take a while to travel, never 10 s.
ANSWER_MAX_AGE_SECONDS = 30.0


@dataclass(frozen=True)
class ProverEndpoint:
    """A prover as discovered: its hotkey (who must sign its answers) and where it listens."""

    hotkey: str
    url: str


class RemoteProver:
    """One remote prover. ``aprove`` is the dispatcher's entry; ``prove`` serves the :class:`Prover` protocol."""

    def __init__(
        self,
        endpoint: ProverEndpoint,
        *,
        signer: bt.Signer,
        recipes: NodeRecipes,
        timeout: float = 120.0,
    ) -> None:
        self.endpoint = endpoint
        self.name = endpoint.hotkey
        self._signer = signer
        self._recipes = recipes
        self._timeout = timeout
        # Per client: an answer replayed to this node is refused like a replayed request.
        self._nonces = bt.http_auth.InMemoryNonceStore(retention=2 * ANSWER_MAX_AGE_SECONDS)

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        async def once() -> Proof:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                return await self.aprove(client, circuit, inputs)

        return asyncio.run(once())

    async def aprove(self, client: httpx.AsyncClient, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        """A proof as the prover sent it (not verified here), sending the circuit's recipe and SRS if it lacks them.

        Raises :class:`ProverBusyError` when the prover has no room for the job now.
        """
        began = time.perf_counter()
        digest = await asyncio.to_thread(self._recipes.digest, circuit)
        tensors = split_by_shapes(inputs, circuit.manifest.input_shapes)
        request = ProveRequest(recipe=digest, inputs=tensors)
        stages = {"recipe_digest": time.perf_counter() - began}
        started = time.perf_counter()
        status, answer, nonce = await self._post_prove(client, request, stages)
        if status == 404:
            await self.provide(client, circuit, _parse(Missing, answer, self.name))
            stages["provide"] = time.perf_counter() - started
            started = time.perf_counter()
            status, answer, nonce = await self._post_prove(client, request, stages)
        latency = time.perf_counter() - started
        if status == 429:
            busy = _parse(Busy, answer, self.name)
            raise ProverBusyError(
                f"prover {self.name} is busy; it asks to wait {busy.retry_after_seconds}s",
                retry_after=busy.retry_after_seconds,
            )
        if status == 422:
            refused = _parse(Refused, answer, self.name)
            raise RemoteProverError(
                f"prover {self.name} refused recipe {refused.recipe}: it sets up to verifying key "
                f"{refused.derived_vk}, not {refused.expected_vk}"
            )
        if status != 200:
            raise RemoteProverError(f"prover {self.name} answered {status} to a proof request")
        checked = time.perf_counter()
        reply = _parse(ProveAnswer, answer, self.name)
        if reply.request_nonce != nonce or reply.recipe != digest or reply.inputs != tensors:
            raise RemoteProverError(f"prover {self.name} answered a different request than the one sent")
        stages["read_answer"] = time.perf_counter() - checked
        # The prover's own timings are its word, kept apart from what this node measured.
        stages.update({f"prover.{stage}": seconds for stage, seconds in reply.stages.items()})
        return Proof(document=reply.proof.encode(), prover=self.name, prove_seconds=latency, stages=stages)

    async def provide(self, client: httpx.AsyncClient, circuit: CircuitArtifacts, missing: Missing) -> None:
        """Send what the prover said it lacks for ``circuit``: its recipe, then the SRS if it still lacks that."""
        digest, recipe = await asyncio.to_thread(self._recipes.recipe, circuit)
        if missing.recipe not in (None, digest) or missing.srs not in (None, recipe.srs):
            raise RemoteProverError(f"prover {self.name} asked for {missing}, which circuit {digest} does not name")
        missing_srs = missing.srs
        if missing.recipe is not None:
            body = recipe.model_dump_json().encode()  # kilobytes: a compiled circuit and two hashes
            sha256 = hashlib.sha256(body).hexdigest()
            stored = await self._upload(client, recipe_path(digest), body, sha256=sha256, size=len(body))
            missing_srs = stored.missing_srs
        if missing_srs is not None:
            if missing_srs != recipe.srs:
                raise RemoteProverError(f"prover {self.name} asked for SRS {missing_srs}, not the recipe's")
            # Streamed from disk, signed by the hash the recipe names: a changed file is refused by the prover.
            size = circuit.srs.stat().st_size
            await self._upload(client, srs_path(recipe.srs), file_chunks(circuit.srs), sha256=recipe.srs, size=size)

    async def _upload(
        self,
        client: httpx.AsyncClient,
        path: str,
        body: bytes | AsyncIterator[bytes],
        *,
        sha256: str,
        size: int,
    ) -> Stored:
        headers = sign_upload(self._signer, method="PUT", path=path, sha256=sha256, receiver=self.endpoint.hotkey)
        headers["Content-Length"] = str(size)
        response = await self._request(client, "PUT", path, body=body, headers=headers)
        if response.status_code != 201:
            raise RemoteProverError(
                f"prover {self.name} refused {path} ({response.status_code}): {response.text[:200]}"
            )
        self._check_signature(response, "PUT", path)
        return _parse(Stored, response.content, self.name)

    async def health(self, client: httpx.AsyncClient) -> Health:
        """Whether the prover is up: an open, unsigned liveness check, so it proves nothing about who answers."""
        response = await self._request(client, "GET", HEALTH)
        if response.status_code != 200:
            raise RemoteProverError(f"prover {self.name} answered {response.status_code} on {HEALTH}")
        return _parse(Health, response.content, self.name)

    async def capacity(self, client: httpx.AsyncClient) -> Capacity:
        return await self._get(client, CAPACITY, Capacity)

    async def _get(self, client: httpx.AsyncClient, path: str, model: type[M]) -> M:
        response = await self._send(client, "GET", path, b"")
        if response.status_code != 200:
            raise RemoteProverError(f"prover {self.name} answered {response.status_code} on {path}")
        self._check_signature(response, "GET", path)
        return _parse(model, response.content, self.name)

    async def _post_prove(
        self, client: httpx.AsyncClient, request: ProveRequest, stages: dict[str, float]
    ) -> tuple[int, bytes, int]:
        """Status, body and the nonce the request was signed with (the answer must repeat it); timings into ``stages``."""
        began = time.perf_counter()
        body = request.model_dump_json().encode()
        headers = bt.http_auth.sign(
            self._signer, method="POST", path=PROVE, body=body, receiver_ss58=self.endpoint.hotkey
        )
        sent = time.perf_counter()
        response = await self._request(client, "POST", PROVE, body=body, headers=headers)
        answered = time.perf_counter()
        if response.status_code in (200, 404, 422, 429):
            self._check_signature(response, "POST", PROVE)
        stages.update(
            sign_request=sent - began, round_trip=answered - sent, check_answer=time.perf_counter() - answered
        )
        nonce = int(response.request.headers[bt.http_auth.HEADER_NONCE])
        return response.status_code, response.content, nonce

    async def _send(self, client: httpx.AsyncClient, method: str, path: str, body: bytes) -> httpx.Response:
        headers = bt.http_auth.sign(
            self._signer, method=method, path=path, body=body, receiver_ss58=self.endpoint.hotkey
        )
        return await self._request(client, method, path, body=body, headers=headers)

    async def _request(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        *,
        body: bytes | AsyncIterator[bytes] = b"",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return await client.request(method, self.endpoint.url.rstrip("/") + path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise RemoteProverError(f"prover {self.name} at {self.endpoint.url}: {type(exc).__name__}: {exc}") from exc

    def _check_signature(self, response: httpx.Response, method: str, path: str) -> None:
        try:
            signer = bt.http_auth.verify(
                response.headers,
                response.content,
                method=method,
                path=path,
                self_hotkey_ss58=self._signer.ss58_address,
                max_age=ANSWER_MAX_AGE_SECONDS,
                nonce_store=self._nonces,
            )
        except bt.http_auth.AuthError as exc:
            raise RemoteProverError(f"prover {self.name}'s answer on {path} is not validly signed: {exc}") from exc
        if signer.hotkey_ss58 != self.endpoint.hotkey:
            raise RemoteProverError(f"the answer on {path} is signed by {signer.hotkey_ss58}, not by {self.name}")


def _parse(model: type[M], content: bytes, prover: str) -> M:
    try:
        return model.model_validate_json(content)
    except ValidationError as exc:
        raise RemoteProverError(f"prover {prover} sent a malformed {model.__name__}: {exc}") from exc
