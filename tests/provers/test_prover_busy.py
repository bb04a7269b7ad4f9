"""A prover with no room for a job says so (429 + Retry-After), and the node takes the job elsewhere.

The busy prover is a real prover process with one worker and no queue whose proofs take
minutes; one proof request of ours fills it, as long as we keep that request open.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import bittensor as bt
import httpx
import pytest
from bittensor.keyfiles import Keypair

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.exceptions import ProverBusyError
from oracle.feeds.schema import FeedSpec
from oracle.inference import split_by_shapes
from oracle.provers import Proof
from oracle.provers.discovery import StaticDiscovery
from oracle.provers.dispatch import NetworkProver
from oracle.provers.factory import PipelineAcceptance
from oracle.provers.recipe import NodeRecipes
from oracle.provers.remote import ProverEndpoint, RemoteProver
from oracle.provers.scoring import Outcome, Scoreboard, ScoringPolicy
from oracle.provers.server import FIRST_RETRY_AFTER_SECONDS
from oracle.provers.wire import PROVE, Busy, ProveRequest
from oracle.store import Store
from tests.provers.conftest import ROGUE, ProverLauncher, ProverProcess, ProverTrio

BUSY_PROOF_SECONDS = 300.0  # far longer than any test here: the prover stays busy until we hang up
WAIT_SECONDS = 30.0
OCCUPY_SECONDS = 180.0  # the first occupying request has the prover derive the demo keys before it proves
# The node's clock, held still: a busy prover's Retry-After (seconds) must not run out while we look.
FROZEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def busy(launcher: ProverLauncher) -> ProverProcess:
    (prover,) = launcher.start(("busy", [*ROGUE, "slow", "--delay", str(BUSY_PROOF_SECONDS), "--queue", "0"]))
    return prover


class CountingFallback:
    """Stands in for local proving: hands back a known proof and counts how often it was needed."""

    name = "fallback"

    def __init__(self, proof: Proof) -> None:
        self.proof = proof
        self.calls = 0

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        self.calls += 1
        return self.proof


async def _jobs_at(remote: RemoteProver, client: httpx.AsyncClient) -> int:
    capacity = await remote.capacity(client)
    return capacity.running + capacity.waiting


@contextlib.asynccontextmanager
async def occupied(
    prover: ProverProcess, signer: Keypair, circuit: CircuitArtifacts, inputs: Sequence[float]
) -> AsyncIterator[None]:
    """The prover's only worker taken by a proof request of ours; on exit we hang up and it ends the job."""
    remote = RemoteProver(prover.endpoint, signer=signer, recipes=NodeRecipes())
    async with httpx.AsyncClient(timeout=BUSY_PROOF_SECONDS * 2) as client:
        occupant = asyncio.create_task(remote.aprove(client, circuit, inputs))  # sends the recipe first if needed
        try:
            deadline = time.monotonic() + OCCUPY_SECONDS
            while await _jobs_at(remote, client) == 0:
                assert not occupant.done(), f"the occupying request ended: {occupant.exception()!r}"
                assert time.monotonic() < deadline, "the busy prover never started the occupying job"
                await asyncio.sleep(0.1)
            yield
        finally:
            occupant.cancel()
            await asyncio.gather(occupant, return_exceptions=True)
        deadline = time.monotonic() + WAIT_SECONDS
        while await _jobs_at(remote, client):
            assert time.monotonic() < deadline, "the busy prover still runs a job whose requester hung up"
            await asyncio.sleep(0.1)


def _signed_post(signer: Keypair, receiver: str, body: bytes) -> dict[str, str]:
    return bt.http_auth.sign(signer, method="POST", path=PROVE, body=body, receiver_ss58=receiver)


def test_a_busy_prover_answers_a_signed_429_with_retry_after_and_asks_for_no_recipe(
    busy: ProverProcess, node_signer: Keypair, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts
) -> None:
    inputs = demo_spec.model_samples()[0]
    tensors = split_by_shapes(inputs, demo_circuit.manifest.input_shapes)
    known = ProveRequest(recipe=NodeRecipes().digest(demo_circuit), inputs=tensors).model_dump_json().encode()
    unknown = ProveRequest(recipe="ef" * 32, inputs=tensors).model_dump_json().encode()

    async def while_busy() -> tuple[list[httpx.Response], ProverBusyError]:
        async with occupied(busy, node_signer, demo_circuit, inputs), httpx.AsyncClient(timeout=30.0) as client:
            answers = [
                await client.post(busy.url + PROVE, content=body, headers=_signed_post(node_signer, busy.hotkey, body))
                for body in (known, unknown)
            ]
            remote = RemoteProver(busy.endpoint, signer=node_signer, recipes=NodeRecipes())
            with pytest.raises(ProverBusyError) as refused:
                await remote.aprove(client, demo_circuit, inputs)
            return answers, refused.value

    answers, refused = asyncio.run(while_busy())

    for response in answers:  # a recipe it lacks is not worth asking for while it has no room
        assert response.status_code == 429, response.text
        signer = bt.http_auth.verify(
            response.headers, response.content, method="POST", path=PROVE, self_hotkey_ss58=node_signer.ss58_address
        )
        assert signer.hotkey_ss58 == busy.hotkey
        retry_after = Busy.model_validate_json(response.content).retry_after_seconds
        assert retry_after >= 1 and response.headers["Retry-After"] == str(retry_after)
    assert refused.retry_after is not None and refused.retry_after >= 1


def test_the_node_takes_a_busy_answer_to_the_next_prover_and_marks_nothing_against_the_busy_one(
    busy: ProverProcess,
    trio: ProverTrio,
    node_signer: Keypair,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    demo_proof: Proof,
    tmp_path: Path,
) -> None:
    store = Store.sqlite(tmp_path / "node.db")
    scoreboard = Scoreboard(store, policy=ScoringPolicy(explore=0.0), clock=lambda: FROZEN)
    scoreboard.record(busy.endpoint, Outcome.VALID, latency=1.0, proof_bytes=3000)  # the best known: asked first
    before = _marks(scoreboard, busy.endpoint)
    fallback = CountingFallback(demo_proof)
    network = NetworkProver(
        discovery=StaticDiscovery([trio.honest.endpoint, busy.endpoint]),
        scoreboard=scoreboard,
        signer=node_signer,
        accept=PipelineAcceptance(demo_spec),
        fallback=fallback,
        redundancy=1,  # one prover at a time: the honest one is asked only because the first was busy
        timeout=120.0,
    )
    inputs = demo_spec.model_samples()[3]
    assert scoreboard.choose([trio.honest.endpoint, busy.endpoint], 1) == [busy.endpoint]

    async def while_busy() -> Proof:
        async with occupied(busy, node_signer, demo_circuit, inputs):
            return await asyncio.to_thread(network.prove, demo_circuit, inputs)

    proof = asyncio.run(while_busy())

    assert proof.prover == trio.honest.hotkey and fallback.calls == 0
    PipelineAcceptance(demo_spec)(demo_circuit, proof, inputs)
    assert scoreboard.deferred(busy.hotkey) and not scoreboard.benched(busy.hotkey)
    assert scoreboard.choose([trio.honest.endpoint, busy.endpoint], 2) == [trio.honest.endpoint]  # not asked again yet
    assert _marks(scoreboard, busy.endpoint) == before  # no failure, no loss, no change to its averages
    assert _marks(Scoreboard(store), busy.endpoint) == before
    honest = {r.hotkey: r for r in scoreboard.records()}[trio.honest.hotkey]
    assert (honest.valid, honest.failed, honest.lost) == (1, 0, 0)


def _busy_answers(prover: ProverProcess, signer: Keypair) -> int:
    async def once() -> int:
        async with httpx.AsyncClient(timeout=10.0) as client:
            remote = RemoteProver(prover.endpoint, signer=signer, recipes=NodeRecipes())
            return (await remote.capacity(client)).busy_answers

    return asyncio.run(once())


@pytest.mark.parametrize(
    ("timeout", "asked"),
    [
        pytest.param(3.0, 1, id="retry-after-past-the-timeout"),
        # Asked at 0 s and, its Retry-After (5 s) passed, at 5 s; the next would come after the timeout.
        pytest.param(8.0, 2, id="retry-after-within-the-timeout"),
    ],
)
def test_when_every_prover_is_busy_the_node_asks_again_after_its_retry_after_then_proves_locally(
    busy: ProverProcess,
    node_signer: Keypair,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    demo_proof: Proof,
    tmp_path: Path,
    timeout: float,
    asked: int,
) -> None:
    """The Retry-After is honoured, not waited past the round's timeout: local proving starts once the
    next ask would come too late, never by waiting the timeout out."""
    scoreboard = Scoreboard(Store.sqlite(tmp_path / "node.db"))
    fallback = CountingFallback(demo_proof)
    network = NetworkProver(
        discovery=StaticDiscovery([busy.endpoint]),
        scoreboard=scoreboard,
        signer=node_signer,
        accept=PipelineAcceptance(demo_spec),
        fallback=fallback,
        redundancy=2,
        timeout=timeout,
    )
    inputs = demo_spec.model_samples()[0]

    async def while_busy() -> tuple[Proof, float, int]:
        async with occupied(busy, node_signer, demo_circuit, inputs):
            before = await asyncio.to_thread(_busy_answers, busy, node_signer)
            started = time.monotonic()
            proof = await asyncio.to_thread(network.prove, demo_circuit, inputs)
            took = time.monotonic() - started
            return proof, took, await asyncio.to_thread(_busy_answers, busy, node_signer) - before

    proof, took, busy_answers = asyncio.run(while_busy())

    assert proof is demo_proof and fallback.calls == 1
    assert busy_answers == asked  # the prover's own count of the 429s it sent us
    assert (asked - 1) * FIRST_RETRY_AFTER_SECONDS <= took < timeout
    assert busy.hotkey not in {r.hotkey for r in scoreboard.records()}  # never scored


def _marks(scoreboard: Scoreboard, endpoint: ProverEndpoint) -> tuple[object, ...]:
    record = {r.hotkey: r for r in scoreboard.records()}[endpoint.hotkey]
    return (
        record.valid,
        record.invalid,
        record.failed,
        record.lost,
        record.validity,
        record.latency_seconds,
        record.proof_bytes,
        record.benched_until,
        record.last_outcome,
    )
