"""The acceptance run: a node hedging every round over an honest, a slow and a lying prover process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from bittensor.keyfiles import Keypair
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.slicing import run_chain
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode, free_port
from oracle.exceptions import ProverError
from oracle.feed_circuit import feed_answer
from oracle.feeds.schema import FeedSpec, TriggerSpec
from oracle.inference import OnnxModel
from oracle.node import FeedNode
from oracle.proof_checks import check_proof
from oracle.provers import LocalProver, Proof, Prover
from oracle.provers.discovery import StaticDiscovery
from oracle.provers.dispatch import NetworkProver
from oracle.provers.factory import PipelineAcceptance
from oracle.provers.feed_proof import prove_circuit
from oracle.provers.pool import PoolProver
from oracle.provers.recipe import NodeRecipes
from oracle.provers.remote import ProverEndpoint, RemoteProver
from oracle.provers.scoring import Outcome, Scoreboard, ScoringPolicy
from oracle.provers.wire import Missing
from oracle.store import ProverRecord, RoundStatus, Store
from tests.provers.conftest import ROGUE, ArtifactServer, ProverLauncher, ProverProcess, ProverTrio, set_up

ROUNDS = 3


class NoFallback:
    """Fails the round if the network did not deliver: these tests must never need local proving."""

    name = "no-fallback"

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        raise ProverError("the network delivered no acceptable proof, and this test forbids local proving")


def _network(
    endpoints: Sequence[ProverEndpoint],
    *,
    store: Store,
    signer: Keypair,
    spec: FeedSpec,
    timeout: float = 90.0,
    fallback: Prover | None = None,
    redundancy: int | None = None,
    policy: ScoringPolicy | None = None,
) -> tuple[NetworkProver, Scoreboard]:
    scoreboard = Scoreboard(store, policy=policy)
    prover = NetworkProver(
        discovery=StaticDiscovery(endpoints),
        scoreboard=scoreboard,
        signer=signer,
        accept=PipelineAcceptance(spec),
        fallback=fallback or NoFallback(),
        redundancy=redundancy or len(endpoints),
        timeout=timeout,
    )
    return prover, scoreboard


def _by_hotkey(scoreboard: Scoreboard) -> dict[str, ProverRecord]:
    return {record.hotkey: record for record in scoreboard.records()}


def _jobs_at(prover: ProverProcess, signer: Keypair) -> int:
    async def ask() -> int:
        async with httpx.AsyncClient(timeout=10.0) as client:
            capacity = await RemoteProver(prover.endpoint, signer=signer, recipes=NodeRecipes()).capacity(client)
        return capacity.running + capacity.waiting

    return asyncio.run(ask())


def _wait_until_idle(prover: ProverProcess, signer: Keypair, *, within: float = 5.0) -> float:
    started = time.monotonic()
    while _jobs_at(prover, signer) and time.monotonic() - started < within:
        time.sleep(0.1)
    assert _jobs_at(prover, signer) == 0, f"{prover.hotkey} still proves a request the node cancelled"
    return time.monotonic() - started


def test_every_round_lands_an_honest_proof_while_liar_and_laggard_lose(
    trio: ProverTrio,
    node_signer: Keypair,
    w3: Web3,
    anvil: AnvilNode,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    tmp_path: Path,
) -> None:
    spec = demo_spec.model_copy(update={"trigger": TriggerSpec()})  # post every tick, whatever the deviation
    store = Store.sqlite(tmp_path / "node.db")
    network, scoreboard = _network(
        [trio.liar.endpoint, trio.slow.endpoint, trio.honest.endpoint], store=store, signer=node_signer, spec=spec
    )
    deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, FeedCircuit.whole(demo_circuit))
    node = FeedNode(spec, FeedCircuit.whole(demo_circuit), store=store, w3=w3, deployment=deployment, prover=network, proofs_dir=tmp_path)

    reports = [node.tick() for _ in range(ROUNDS)]

    assert [r.round.status for r in reports] == [RoundStatus.LANDED] * ROUNDS, [r.round.failure_reason for r in reports]
    assert all(r.error is not None and r.error <= r.tolerance for r in reports)
    records = _by_hotkey(scoreboard)
    honest, slow, liar = records[trio.honest.hotkey], records[trio.slow.hotkey], records[trio.liar.hotkey]
    # Every accepted proof was the honest prover's: nobody else ever had a valid one.
    assert (honest.valid, slow.valid, liar.valid) == (ROUNDS, 0, 0)
    # The liar was refused the first time it answered before the honest prover (round one, unless the honest
    # prover beat it there), benched, and not asked again.
    assert (liar.invalid, liar.failed) == (1, 0) and liar.lost <= 1
    assert scoreboard.benched(trio.liar.hotkey) and not scoreboard.benched(trio.honest.hotkey)
    # The laggard was asked every round and lost every race; its request was cancelled at its end too.
    assert (slow.lost, slow.invalid, slow.failed) == (ROUNDS, 0, 0)
    _wait_until_idle(trio.slow, node_signer)
    scores = scoreboard.scores()
    assert scores[trio.liar.hotkey] < scores[trio.slow.hotkey] < scores[trio.honest.hotkey]
    assert slow.latency_seconds is not None and honest.latency_seconds is not None
    assert slow.latency_seconds > honest.latency_seconds

    # The scores are in the node's database, and `zkoracle provers` shows them.
    listing = subprocess.run(
        [sys.executable, "-m", "oracle", "provers", "--db", store.url],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
        timeout=60,
        check=True,
    ).stdout
    rows = {line.split("│")[1].strip(): line for line in listing.splitlines() if line.count("│") > 5}
    assert list(rows)[0] == trio.honest.hotkey  # sorted best first
    assert {trio.honest.hotkey, trio.slow.hotkey, trio.liar.hotkey} <= set(rows)
    liar_cells = [cell.strip() for cell in rows[trio.liar.hotkey].split("│")[1:-1]]
    assert liar_cells[7] == "1" and liar_cells[10] != "-"  # one invalid proof; benched


def test_a_valid_proof_of_other_inputs_never_wins(
    replayer: ProverProcess,
    trio: ProverTrio,
    node_signer: Keypair,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    tmp_path: Path,
) -> None:
    network, scoreboard = _network(
        [replayer.endpoint, trio.honest.endpoint],
        store=Store.sqlite(tmp_path / "node.db"),
        signer=node_signer,
        spec=demo_spec,
    )
    inputs = demo_spec.model_samples()[1]  # the replayer's proof is of sample 0

    proof = network.prove(demo_circuit, inputs)

    assert proof.prover == trio.honest.hotkey
    PipelineAcceptance(demo_spec)(demo_circuit, proof, inputs)
    records = _by_hotkey(scoreboard)
    assert records[replayer.hotkey].invalid == 1 and records[replayer.hotkey].valid == 0
    assert records[trio.honest.hotkey].valid == 1


def test_without_a_timely_remote_proof_the_round_is_proven_locally(
    trio: ProverTrio, node_signer: Keypair, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    unreachable = ProverEndpoint(hotkey=trio.honest.hotkey, url=f"http://127.0.0.1:{free_port()}")
    network, scoreboard = _network(
        [trio.slow.endpoint, unreachable],
        store=Store.sqlite(tmp_path / "node.db"),
        signer=node_signer,
        spec=demo_spec,
        timeout=3.0,
        fallback=PoolProver(workers=1),
    )
    inputs = demo_spec.model_samples()[2]

    started = time.monotonic()
    proof = network.prove(demo_circuit, inputs)

    assert proof.prover == "local"
    PipelineAcceptance(demo_spec)(demo_circuit, proof, inputs)
    records = _by_hotkey(scoreboard)
    assert records[trio.slow.hotkey].failed == 1 and records[trio.slow.hotkey].latency_seconds == pytest.approx(
        3.0, abs=1.0
    )
    assert records[unreachable.hotkey].failed == 1 and records[unreachable.hotkey].latency_seconds is None
    assert time.monotonic() - started > 3.0
    _wait_until_idle(trio.slow, node_signer)


def test_a_prover_that_fails_mid_job_hands_the_job_to_the_next_one_not_to_local_proving(
    trio: ProverTrio, node_signer: Keypair, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    """One prover per round: the first, scored best, is unreachable (as a prover killed mid-proof is); the
    round costs a retry on the next prover, never the local fallback (NoFallback)."""
    dead = ProverEndpoint(hotkey=trio.slow.hotkey, url=f"http://127.0.0.1:{free_port()}")
    store = Store.sqlite(tmp_path / "node.db")
    network, scoreboard = _network(
        [dead, trio.honest.endpoint],
        store=store,
        signer=node_signer,
        spec=demo_spec,
        redundancy=1,
        policy=ScoringPolicy(explore=0.0),
    )
    scoreboard.record(dead, Outcome.VALID, latency=0.5, proof_bytes=3000)  # the best known: asked first
    inputs = demo_spec.model_samples()[4]

    proof = network.prove(demo_circuit, inputs)

    assert proof.prover == trio.honest.hotkey
    records = _by_hotkey(scoreboard)
    assert (records[dead.hotkey].valid, records[dead.hotkey].failed) == (1, 1)
    assert records[trio.honest.hotkey].valid == 1


class NoUploads(RemoteProver):
    async def provide(self, client: httpx.AsyncClient, circuit: CircuitArtifacts, missing: Missing) -> None:
        raise AssertionError(f"the node was asked for {missing}, which its prover should fetch itself")


def test_a_prover_fetches_unknown_recipes_and_srs_from_its_artifact_url_once(
    trio: ProverTrio,
    artifact_server: ArtifactServer,
    node_signer: Keypair,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
) -> None:
    remote = NoUploads(trio.honest.endpoint, signer=node_signer, recipes=NodeRecipes())
    assert isinstance(remote, Prover)
    inputs = demo_spec.model_samples()[4]

    proof = remote.prove(demo_circuit, inputs)

    assert proof.prover == trio.honest.hotkey
    PipelineAcceptance(demo_spec)(demo_circuit, proof, inputs)
    # Fetched once (by this test or an earlier round), checked against its digest, cached since.
    digest, recipe = NodeRecipes().recipe(demo_circuit)
    assert artifact_server.fetched.count(f"/{digest}.recipe") == 1
    assert artifact_server.fetched.count(f"/{recipe.srs}.srs") == 1


@pytest.fixture(scope="module")
def slice_replayer(
    launcher: ProverLauncher,
    node_signer: Keypair,
    sliced_spec: FeedSpec,
    sliced_circuit: FeedCircuit,
    tmp_path_factory: pytest.TempPathFactory,
) -> ProverProcess:
    """Answers every request at once with a valid proof of slice 1 — on the activations of another input."""
    piece = sliced_circuit.pieces[1]
    assert piece.circuit is not None
    other = run_chain(sliced_circuit.pieces, sliced_spec.model_samples()[5]).steps[1].inputs
    proof_file = tmp_path_factory.mktemp("slice-replay") / "proof.json"
    proof_file.write_bytes(LocalProver().prove(piece.circuit, other).document)
    (prover,) = launcher.start(("slice-replayer", [*ROGUE, "replay", "--proof-file", str(proof_file)]))
    # Set up before the race, or deriving its keys would make it lose every slice to the honest prover.
    steps = run_chain(sliced_circuit.pieces, sliced_spec.model_samples()[5]).steps
    for each, step in zip(sliced_circuit.pieces, steps, strict=True):
        if each.circuit is not None:
            set_up(prover, node_signer, each.circuit, step.inputs)
    return prover


def test_the_network_proves_each_slice_and_a_proof_of_other_activations_never_wins(
    slice_replayer: ProverProcess,
    trio: ProverTrio,
    node_signer: Keypair,
    sliced_spec: FeedSpec,
    sliced_circuit: FeedCircuit,
    tmp_path: Path,
) -> None:
    network, scoreboard = _network(
        [slice_replayer.endpoint, trio.honest.endpoint],
        store=Store.sqlite(tmp_path / "node.db"),
        signer=node_signer,
        spec=sliced_spec,
        timeout=300.0,  # the honest prover has one worker: the last of the 3 slices waits for the others
    )
    inputs = sliced_spec.model_samples()[0]

    proof = prove_circuit(sliced_circuit, inputs, prover=network)

    assert proof.prover == trio.honest.hotkey  # every slice, proven remotely by the honest prover
    output = OnnxModel(sliced_circuit.model).run(inputs)[feed_answer(sliced_spec, sliced_circuit)]
    check_proof(sliced_spec, sliced_circuit, proof, inputs, model_output=output)
    records = _by_hotkey(scoreboard)
    assert records[slice_replayer.hotkey].valid == 0 and records[slice_replayer.hotkey].invalid >= 1
    assert records[trio.honest.hotkey].valid == len(sliced_circuit.pieces)
