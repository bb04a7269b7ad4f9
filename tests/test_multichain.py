"""A feed posted to two chains: proven once, landed on both, a stalled chain caught up, a crash between sends.

Two real Anvil chains with different chain ids (31337 and 1337, both dev chains, so dev
keys and the dev SRS are allowed on each).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.evm.chains import connect
from oracle.evm.zkoracle import ZkOracle
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec, TriggerSpec
from oracle.node import FeedNode
from oracle.provers import LocalProver
from oracle.reports import RoundReport, read_onchain
from oracle.store import Deployment, FailureKind, Ledger, Round, RoundStatus, Store, SubmissionStatus
from oracle.store.crashpoints import VARIABLE
from tests.conftest import DEMO_FEED
from tests.rpc_gateway import RpcGateway
from tests.serving import serving

HOME_CHAIN, OTHER_CHAIN = 31337, 1337


@pytest.fixture
def chains(tmp_path: Path) -> Iterator[tuple[AnvilNode, AnvilNode]]:
    with (
        AnvilNode(chain_id=HOME_CHAIN, log_path=tmp_path / "home.log") as home,
        AnvilNode(chain_id=OTHER_CHAIN, log_path=tmp_path / "other.log") as other,
    ):
        yield home, other


def _two_chain_feed(folder: Path, home: AnvilNode, other: AnvilNode, *, other_url: str | None = None) -> Path:
    """The demo feed, posting every tick, to [chains.home] and [chains.other] (at ``other_url`` when given)."""
    shutil.copytree(DEMO_FEED, folder)
    toml = (folder / "feed.toml").read_text()
    toml, ticks = re.subn(r"(?m)^interval_seconds = .*$", "interval_seconds = 1", toml)
    toml, triggers = re.subn(r"(?ms)^\[trigger\]\n.*?(?=^\[|\Z)", "", toml)
    assert (ticks, triggers) == (1, 1), "the demo feed.toml changed shape; update this test"
    toml += (
        f'\n[chains.home]\nrpc_url = "{home.rpc_url}"\nchain_id = {HOME_CHAIN}\n'
        f'\n[chains.other]\nrpc_url = "{other_url or other.rpc_url}"\nchain_id = {OTHER_CHAIN}\n'
    )
    (folder / "feed.toml").write_text(toml)
    return folder


def _node(
    spec: FeedSpec,
    circuit: CircuitArtifacts,
    store: Store,
    home_url: str,
    other_url: str,
    tmp_path: Path,
    **kwargs: float,
) -> tuple[FeedNode, list[RoundReport]]:
    deployments = [
        (w3, ensure_deployment(store, w3, url, spec, FeedCircuit.whole(circuit), with_consumer=True))
        for url in (home_url, other_url)
        for w3 in [connect(url)]
    ]
    (home_w3, home_deployment), *others = deployments
    node = FeedNode(
        spec,
        FeedCircuit.whole(circuit),
        store=store,
        w3=home_w3,
        deployment=home_deployment,
        prover=LocalProver(),
        proofs_dir=tmp_path / "proofs",
        other_chains=others,
        **kwargs,
    )
    lane_reports: list[RoundReport] = []
    node.on_lane_report = lane_reports.append
    return node, lane_reports


def _on_chain(store: Store, deployment: Deployment) -> list[Round]:
    return [row for row in store.rounds(feed_id="demo") if row.deployment_id == deployment.id]


def _landings(w3: Web3, deployment: Deployment) -> int:
    latest = ZkOracle(w3, deployment.oracle_address).latest_round_id("demo")
    return 0 if latest is None else latest.n


def test_a_round_proven_once_lands_on_both_chains_and_both_consumers_read_it(
    chains: tuple[AnvilNode, AnvilNode], demo_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    home, other = chains
    spec = load_feed(_two_chain_feed(tmp_path / "feed", home, other)).model_copy(update={"trigger": TriggerSpec()})
    store = Store.sqlite(tmp_path / "node.db")
    node, lane_reports = _node(spec, demo_circuit, store, home.rpc_url, other.rpc_url, tmp_path)
    (lane,) = node.lanes

    report = node.tick()
    node.drain(timeout=120)
    assert report.landed and report.chain_id == HOME_CHAIN, report.round.failure_reason
    (copy_report,) = lane_reports
    assert copy_report.landed and copy_report.lane and copy_report.chain_id == OTHER_CHAIN

    proven, copy = report.round, copy_report.round
    assert copy.proof_round_id == proven.id and proven.proof_round_id is None
    assert (copy.proof_digest, copy.observed_at, copy.expected_answer) == (
        proven.proof_digest,
        proven.observed_at,
        proven.expected_answer,
    )
    assert [row.proof_round_id for row in store.rounds(feed_id="demo")].count(None) == 1  # one proof made
    assert copy.tx_hash != proven.tx_hash and copy.gas_used and proven.gas_used
    # Each chain's consumer contract reads the same value, in the first round of its own oracle.
    readings = [
        read_onchain(connect(chain.rpc_url), deployment)
        for chain, deployment in [(home, node.deployment), (other, lane.deployment)]
    ]
    assert readings[0].answer == readings[1].answer == int(str(proven.expected_answer))
    assert readings[0].reader == readings[1].reader == "consumer"
    assert [reading.round_id.n for reading in readings] == [1, 1]


def test_a_chain_out_of_reach_holds_up_nothing_and_catches_up_with_the_newest_round(
    chains: tuple[AnvilNode, AnvilNode], demo_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    home, other = chains
    gateway = RpcGateway(other.rpc_url)
    with serving(gateway.app(), what="the other chain's RPC gateway") as other_url:
        folder = _two_chain_feed(tmp_path / "feed", home, other, other_url=other_url)
        spec = load_feed(folder).model_copy(update={"trigger": TriggerSpec()})
        store = Store.sqlite(tmp_path / "node.db")
        node, lane_reports = _node(spec, demo_circuit, store, home.rpc_url, other_url, tmp_path, lane_retry_seconds=1.0)
        (lane,) = node.lanes
        home_w3, other_w3 = connect(home.rpc_url), connect(other.rpc_url)
        assert node.tick().landed
        assert lane.drain(timeout=120) and lane_reports[-1].landed

        gateway.up = False  # the other chain stops answering
        stalled = []
        for _ in range(3):
            time.sleep(1.1)  # each observation a second after the last, as the oracle requires
            report = node.tick()
            assert report.landed, report.round.failure_reason  # the home chain carries on without it
            stalled.append(report.round)
            assert lane.drain(timeout=60) and not lane.reachable
        assert _landings(home_w3, node.deployment) == 4
        assert _landings(other_w3, lane.deployment) == 1

        gateway.up = True  # back: the lane's retry posts the newest round without waiting for a tick
        deadline = time.monotonic() + 120
        copies: dict[int | None, Round] = {}
        while time.monotonic() < deadline:
            copies = {row.proof_round_id: row for row in _on_chain(store, lane.deployment)}
            if copies[stalled[-1].id].status is RoundStatus.LANDED:
                break
            time.sleep(0.5)
        node.drain(timeout=10)

    assert copies[stalled[-1].id].status is RoundStatus.LANDED  # the newest round reached the other chain
    older = [copies[row.id] for row in stalled[:-1]]
    assert [row.failure_kind for row in older] == [FailureKind.SUPERSEDED] * 2  # dropped, with the reason
    assert all("out of reach" in str(row.failure_reason) and row.tx_hash is None for row in older)
    assert _landings(other_w3, lane.deployment) == 2  # the first round and the newest: nothing twice
    oracle = ZkOracle(other_w3, lane.deployment.oracle_address)
    latest_id = oracle.latest_round_id("demo")
    assert latest_id is not None and oracle.round("demo", latest_id).observed_at == stalled[-1].observed_at


def test_the_first_chain_out_of_reach_leaves_its_round_waiting_and_the_other_chain_still_gets_it(
    chains: tuple[AnvilNode, AnvilNode], demo_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    home, other = chains
    gateway = RpcGateway(home.rpc_url)
    with serving(gateway.app(), what="the home chain's RPC gateway") as home_url:
        folder = _two_chain_feed(tmp_path / "feed", home, other)
        spec = load_feed(folder).model_copy(update={"trigger": TriggerSpec()})
        store = Store.sqlite(tmp_path / "node.db")
        node, lane_reports = _node(spec, demo_circuit, store, home_url, other.rpc_url, tmp_path)
        (lane,) = node.lanes

        gateway.up = False
        waiting = node.tick()
        assert waiting.round.status is RoundStatus.PROVEN and "out of reach" in str(waiting.trigger)
        assert lane.drain(timeout=120) and lane_reports[-1].landed  # the other chain got the proof all the same

        gateway.up = True
        time.sleep(1.1)
        fresh = node.tick()
        assert fresh.landed, fresh.round.failure_reason
        node.drain(timeout=120)
    skipped = Ledger(store).round(int(waiting.round.id))  # type: ignore[arg-type]
    assert skipped.failure_kind is FailureKind.SUPERSEDED and skipped.tx_hash is None
    assert _landings(connect(home.rpc_url), node.deployment) == 1
    assert _landings(connect(other.rpc_url), lane.deployment) == 2


def _run(
    feed: Path, *, db: Path, home: Path, build_root: Path, crash_at: str | None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZKORACLE_HOME": str(home), "ZKORACLE_BUILD_DIR": str(build_root), "COLUMNS": "400"}
    env.pop(VARIABLE, None)
    if crash_at is not None:
        env[VARIABLE] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "oracle", "run", str(feed), "--rounds", "1", "--db", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=400,
        check=False,
    )


def test_a_node_killed_between_the_two_chains_sends_loses_nothing_and_posts_nothing_twice(
    chains: tuple[AnvilNode, AnvilNode], tmp_path: Path, build_root: Path, demo_circuit: object
) -> None:
    home, other = chains
    feed = _two_chain_feed(tmp_path / "feed", home, other)
    db, state = tmp_path / "node.db", tmp_path / "home"

    crashed = _run(feed, db=db, home=state, build_root=build_root, crash_at="after_tx_sent")
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
    store = Store(f"sqlite:///{db}")
    (proven,) = [row for row in store.rounds() if row.proof_round_id is None]
    sent = [row for row in store.rounds() if row.status is RoundStatus.SUBMITTED]
    assert len(sent) >= 1  # killed right after the first broadcast, whichever chain's it was

    resumed = _run(feed, db=db, home=state, build_root=build_root, crash_at=None)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert re.search(rf"^demo round \d+ on chain {OTHER_CHAIN}.* → on-chain", resumed.stdout, re.MULTILINE)
    store = Store(f"sqlite:///{db}")
    ledger = Ledger(store)
    for chain in (home, other):
        w3 = connect(chain.rpc_url)
        (deployment,) = store.deployments("demo", chain_id=chain.chain_id)
        rows = _on_chain(store, deployment)
        the_crashed_round = [row for row in rows if proven.id in (row.id, row.proof_round_id)]
        assert [row.status for row in the_crashed_round] == [RoundStatus.LANDED], chain.chain_id
        landed = [row for row in rows if row.status is RoundStatus.LANDED]
        assert len(landed) == 2 and _landings(w3, deployment) == 2, chain.chain_id  # the crashed round and a new one
        for row in landed:  # each sent once: one confirmed transaction, no second one reached the chain
            attempts = ledger.submissions(int(row.id))  # type: ignore[arg-type]
            described = [(s.status, s.nonce, s.tx_hash, s.broadcast_at, s.error) for s in attempts]
            assert [s.status for s in attempts].count(SubmissionStatus.CONFIRMED) == 1, described
            # The kill can also fall on the other lane between recording its signed transaction and
            # broadcasting it: the restart finds that one nowhere, records it dropped and sends again.
            never_sent = [s for s in attempts if s.status is not SubmissionStatus.CONFIRMED]
            assert all(s.status is SubmissionStatus.DROPPED and s.broadcast_at is None for s in never_sent), described


def test_deploy_registers_the_feed_on_every_chain_it_names(
    chains: tuple[AnvilNode, AnvilNode], tmp_path: Path, build_root: Path, demo_circuit: object
) -> None:
    home, other = chains
    feed = _two_chain_feed(tmp_path / "feed", home, other)
    env = {**os.environ, "ZKORACLE_HOME": str(tmp_path / "state"), "ZKORACLE_BUILD_DIR": str(build_root)}
    deployed = subprocess.run(
        [sys.executable, "-m", "oracle", "deploy", str(feed), "--db", f"sqlite:///{tmp_path / 'node.db'}"],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "400"},
        timeout=300,
        check=False,
    )
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    store = Store(f"sqlite:///{tmp_path / 'node.db'}")
    for chain in (home, other):
        (deployment,) = store.deployments("demo", chain_id=chain.chain_id)
        assert f"proxy {deployment.proxy_address} on chain {chain.chain_id}" in deployed.stdout
        oracle = ZkOracle(connect(chain.rpc_url), deployment.oracle_address)
        assert "0x" + oracle.circuit("demo")[1].model_commitment.hex() == deployment.model_commitment.lower()
