"""The attested input policy end to end: three attester services over real HTTP, threshold 2, anyone relays.

The example feed ``feeds/attested`` (the demo model, synthetic prices) is deployed on the
session's Anvil; its attesters sign with Anvil's dev accounts 5, 6 and 7 and read the feed's
phase from the oracle itself. The relayer is on no allow-list: the feed is permissionless,
so what makes a round land is the attesters' signatures over its inputs.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from web3 import Web3

from oracle.attestation.chain import ZkOracleChain
from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.accounts import dev_account
from oracle.evm.anvil import AnvilNode
from oracle.evm.contracts import PROXY, bind
from oracle.evm.zkoracle import InputEvidence, InputPolicy, ZkOracle
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.node import FeedNode
from oracle.provers import LocalProver
from oracle.reports import RoundReport
from oracle.store import FailureKind, RoundStatus, Store
from tests.attestation.harness import attester_server, nothing_listening

ATTESTED_FEED = Path(__file__).resolve().parents[1] / "feeds" / "attested"
ATTESTER_ACCOUNTS = (5, 6, 7)  # the dev accounts feeds/attested lists, in its order


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.sqlite(tmp_path / "node.db")


def _feed_with_urls(tmp_path: Path, urls: list[str], *, base: float | None = None) -> FeedSpec:
    """feeds/attested with its attesters at ``urls`` (and, for a dissenting attester, another price base)."""
    folder = tmp_path / f"attested-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(ATTESTED_FEED, folder)
    text = (folder / "feed.toml").read_text()
    ports = iter(urls)
    text = re.sub(r'url = "http://127\.0\.0\.1:\d+"', lambda _m: f'url = "{next(ports)}"', text)
    if base is not None:
        text = text.replace("base = 2000.0", f"base = {base}")
    (folder / "feed.toml").write_text(text)
    return load_feed(folder)


@contextlib.contextmanager
def _attesters(w3: Web3, oracle: str, specs: dict[int, FeedSpec | None]) -> Iterator[dict[int, str]]:
    """An attester per dev account in ``specs`` (None: down), each checking against its own copy of the feed."""
    chain = ZkOracleChain(w3, oracle)
    with contextlib.ExitStack() as stack:
        urls = {}
        for index, spec in specs.items():
            if spec is None:
                urls[index] = nothing_listening()
            else:
                server = attester_server(dev_account(index), {spec.id: spec}, chain=chain, clock=_chain_clock(w3))
                urls[index] = stack.enter_context(server)
        yield urls


def _chain_clock(w3: Web3) -> Callable[[], float]:
    return lambda: float(w3.eth.get_block("latest")["timestamp"])


def _deployed_node(
    store: Store, w3: Web3, anvil: AnvilNode, spec: FeedSpec, circuit: CircuitArtifacts, tmp_path: Path
) -> FeedNode:
    deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, FeedCircuit.whole(circuit))
    return FeedNode(
        spec, FeedCircuit.whole(circuit), store=store, w3=w3, deployment=deployment, prover=LocalProver(), proofs_dir=tmp_path / "proofs"
    )


def _tick(node: FeedNode, w3: Web3) -> RoundReport:
    # The chain's time, which the attesters' clocks follow too: tests elsewhere move Anvil's clock.
    return node.tick(now=int(w3.eth.get_block("latest")["timestamp"]) + 1)


@pytest.fixture
def attested_circuit(demo_circuit: CircuitArtifacts) -> CircuitArtifacts:
    # feeds/attested carries the demo's model and samples: the same circuit, built once.
    return demo_circuit


def test_two_of_three_attesters_land_rounds_relayed_by_anyone(
    store: Store, w3: Web3, anvil: AnvilNode, attested_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    placeholder = _feed_with_urls(tmp_path, [nothing_listening()] * 3)
    node = _deployed_node(store, w3, anvil, placeholder, attested_circuit, tmp_path)
    oracle = ZkOracle(w3, node.deployment.oracle_address)
    params = oracle.feed_params("attested")
    assert params.input_policy is InputPolicy.ATTESTED and params.permissionless
    attesters, threshold = oracle.attesters("attested")
    assert threshold == 2 and set(attesters) == {dev_account(i).address for i in ATTESTER_ACCOUNTS}

    with _attesters(w3, node.deployment.oracle_address, dict.fromkeys(ATTESTER_ACCOUNTS, placeholder)) as urls:
        spec = _feed_with_urls(tmp_path, [urls[i] for i in ATTESTER_ACCOUNTS])
        node = _deployed_node(store, w3, anvil, spec, attested_circuit, tmp_path)
        all_up = _tick(node, w3)
    assert all_up.landed, all_up.round.failure_reason
    evidence = InputEvidence.from_json(str(all_up.round.evidence_json))
    assert len(evidence.attestations) == 2
    proxy = bind(w3, PROXY, node.deployment.proxy_address)
    _round, answer, started_at, updated_at, _answered = proxy.functions.latestRoundData().call()
    assert str(answer) == all_up.round.onchain_answer and started_at == updated_at == all_up.round.observed_at
    # Relayed by an account that no allow-list names: the oracle never authorised a submitter for the feed.
    assert not oracle.contract.events.SubmitterUpdated().get_logs(from_block=0)
    assert w3.eth.get_transaction(str(all_up.round.tx_hash))["from"] not in attesters

    one_down = dict.fromkeys(ATTESTER_ACCOUNTS, placeholder) | {ATTESTER_ACCOUNTS[0]: None}
    with _attesters(w3, node.deployment.oracle_address, one_down) as urls:
        node = _deployed_node(store, w3, anvil, _feed_with_urls(tmp_path, list(urls.values())), attested_circuit, tmp_path)
        report = _tick(node, w3)
    assert report.landed, report.round.failure_reason


def test_two_attesters_down_fail_the_round_with_the_reason(
    store: Store, w3: Web3, anvil: AnvilNode, attested_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    placeholder = _feed_with_urls(tmp_path, [nothing_listening()] * 3)
    deployed = _deployed_node(store, w3, anvil, placeholder, attested_circuit, tmp_path).deployment
    down = {ATTESTER_ACCOUNTS[0]: placeholder, ATTESTER_ACCOUNTS[1]: None, ATTESTER_ACCOUNTS[2]: None}
    with _attesters(w3, deployed.oracle_address, down) as urls:
        node = _deployed_node(store, w3, anvil, _feed_with_urls(tmp_path, list(urls.values())), attested_circuit, tmp_path)
        report = _tick(node, w3)
    row = report.round
    assert not report.landed and row.status is RoundStatus.FAILED
    assert row.failure_kind is FailureKind.ATTESTATION
    assert "1 of 3 attesters signed, 2 needed" in str(row.failure_reason)
    assert row.tx_hash is None  # nothing was sent


def test_an_attester_that_observes_otherwise_refuses_and_the_round_says_why(
    store: Store, w3: Web3, anvil: AnvilNode, attested_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    placeholder = _feed_with_urls(tmp_path, [nothing_listening()] * 3)
    deployed = _deployed_node(store, w3, anvil, placeholder, attested_circuit, tmp_path).deployment
    dissenting = _feed_with_urls(tmp_path, [nothing_listening()] * 3, base=2200.0)  # sees other prices
    panel = {ATTESTER_ACCOUNTS[0]: placeholder, ATTESTER_ACCOUNTS[1]: dissenting, ATTESTER_ACCOUNTS[2]: None}
    with _attesters(w3, deployed.oracle_address, panel) as urls:
        node = _deployed_node(store, w3, anvil, _feed_with_urls(tmp_path, list(urls.values())), attested_circuit, tmp_path)
        report = _tick(node, w3)
    row = report.round
    assert not report.landed and row.failure_kind is FailureKind.ATTESTATION
    assert "observation_differs" in str(row.failure_reason).lower()


def test_the_operator_rotates_attesters_by_editing_the_feed(
    store: Store, w3: Web3, anvil: AnvilNode, attested_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    spec = _feed_with_urls(tmp_path, [nothing_listening()] * 3)
    deployment = _deployed_node(store, w3, anvil, spec, attested_circuit, tmp_path).deployment
    oracle = ZkOracle(w3, deployment.oracle_address)
    replaced, newcomer = dev_account(ATTESTER_ACCOUNTS[0]).address, dev_account(8).address
    toml = spec.folder / "feed.toml"
    toml.write_text(toml.read_text().replace(replaced, newcomer).replace("threshold = 2", "threshold = 3"))

    again = ensure_deployment(store, w3, anvil.rpc_url, load_feed(spec.folder), FeedCircuit.whole(attested_circuit))
    assert again.id == deployment.id  # the same registration: only its attesters changed
    attesters, threshold = oracle.attesters("attested")
    assert threshold == 3 and newcomer in attesters and replaced not in attesters
    (rotated,) = oracle.contract.events.AttestersSet().get_logs(from_block=w3.eth.block_number)
    assert rotated["args"]["threshold"] == 3
