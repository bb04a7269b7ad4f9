"""A proven model on top of a proven model: feeds/stacked reads the demo feed's answer on-chain.

The stacked feed's only input (besides its observation time) is a round of an
AggregatorV3Interface feed, read again by ZkOracle in `submit` at the round id the node
names (the `onchain` input policy), so anyone may relay it.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import quantize_like_contract
from oracle.deployments.keys import sender_for
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.accounts import dev_account
from oracle.evm.anvil import AnvilNode
from oracle.evm.contracts import PROXY, bind, contract_factory, feed_key
from oracle.evm.zkoracle import InputEvidence, ZkOracle
from oracle.exceptions import FeedSpecError
from oracle.feed_circuit import build_feed_circuit
from oracle.feeds.checks import check_feed
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.node import FeedNode
from oracle.paths import PROJECT_ROOT
from oracle.provers import LocalProver
from oracle.store import Store
from tests.deployed_nodes import deployed_node

STACKED_FEED = PROJECT_ROOT / "feeds" / "stacked"
_MODEL = importlib.util.spec_from_file_location("stacked_build_model", STACKED_FEED / "build_model.py")
assert _MODEL is not None and _MODEL.loader is not None
stacked_model = importlib.util.module_from_spec(_MODEL)
_MODEL.loader.exec_module(stacked_model)
score = stacked_model.score  # the stacked model in plain Python

STACKED_SCALE = 7
# Not the dev relayer (account 1), nor a submitter of any feed: a stranger relaying a permissionless feed.
STRANGER = dev_account(8)


def _stacked_copy(folder: Path, *, aggregator: str, feed_id: str = "stacked") -> FeedSpec:
    """feeds/stacked, copied with its source pointed at ``aggregator``."""
    shutil.copytree(STACKED_FEED, folder)
    toml = folder / "feed.toml"
    text = re.sub(r'address = "0x[0-9a-fA-F]{40}"', f'address = "{aggregator}"', toml.read_text())
    toml.write_text(re.sub(r'^id = "stacked"$', f'id = "{feed_id}"', text, flags=re.MULTILINE))
    return load_feed(folder)


def _stacked_circuit(spec: FeedSpec, build_root: Path) -> FeedCircuit:
    circuit = build_feed_circuit(spec, build_root=build_root).circuit
    assert len(circuit.pieces) == 1 and circuit.input_scale == STACKED_SCALE
    return circuit


def _read_proxy(w3: Web3, address: str) -> tuple[int, float]:
    """A proxy's latest round id and answer (as a float)."""
    proxy = bind(w3, PROXY, address)
    round_id, answer, _started, _updated, _answered = proxy.functions.latestRoundData().call()
    return int(round_id), int(answer) / 10 ** int(proxy.functions.decimals().call())


def _assert_relayed_by_a_stranger(w3: Web3, oracle_address: str, feed_id: str, tx_hash: str | None) -> None:
    oracle = ZkOracle(w3, oracle_address)
    assert oracle.feed_params(feed_id).permissionless
    assert oracle.is_submitter(feed_id, STRANGER.address)
    assert oracle.is_submitter(feed_id, Web3.to_checksum_address("0x" + "ab" * 20))  # anyone
    updates = oracle.contract.events.SubmitterUpdated.get_logs(
        from_block=0, argument_filters={"feedId": feed_key(feed_id)}
    )
    assert list(updates) == []  # nobody was ever allow-listed for it
    assert tx_hash is not None
    assert w3.eth.get_transaction(tx_hash)["from"] == STRANGER.address


def test_stacked_feed_lands_a_round_computed_from_the_demo_feeds_round(
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    w3: Web3,
    anvil: AnvilNode,
    build_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = Store.sqlite(tmp_path / "db.sqlite")
    demo = deployed_node(store, w3, anvil.rpc_url, demo_spec, FeedCircuit.whole(demo_circuit), tmp_path / "proofs")
    demo_deployment = demo.deployment
    demo_report = demo.tick()
    assert demo_report.landed, demo_report.round.failure_reason
    demo_round, demo_answer = _read_proxy(w3, demo_deployment.proxy_address)

    spec = _stacked_copy(tmp_path / "stacked", aggregator=demo_deployment.proxy_address)
    check_feed(spec)
    circuit = _stacked_circuit(spec, build_root)
    monkeypatch.setenv("ZKORACLE_RELAYER_KEY", STRANGER.key.hex())
    # On the demo's own ZkOracle: its submit reads the demo round through the demo's proxy.
    deployment = ensure_deployment(
        store, w3, anvil.rpc_url, spec, circuit, oracle_address=demo_deployment.oracle_address
    )
    node = FeedNode(
        spec, circuit, store=store, w3=w3, deployment=deployment, prover=LocalProver(), proofs_dir=tmp_path / "proofs"
    )
    report = node.tick()
    assert report.landed, report.round.failure_reason

    # The input is the demo's answer on the circuit's 2**-7 grid, as the contract quantised it.
    steps = quantize_like_contract(round(demo_answer * 10**8), decimals=8, scale=STACKED_SCALE)
    assert report.round.inputs[:1] == [steps / 2**STACKED_SCALE]  # then the observation-time limbs
    # The submit named the demo round it used.
    assert report.round.evidence_json is not None
    assert InputEvidence.from_json(report.round.evidence_json).source_rounds == (demo_round,)
    # Its answer, read through its own proxy, is the model applied to the demo's answer.
    _round, answer = _read_proxy(w3, deployment.proxy_address)
    tolerance = circuit.quantization_error + 10.0**-spec.decimals
    assert answer == pytest.approx(score(steps / 2**STACKED_SCALE), abs=tolerance)
    assert answer == pytest.approx(score(demo_answer), abs=tolerance + 2.0**-STACKED_SCALE / 16)
    _assert_relayed_by_a_stranger(w3, deployment.oracle_address, spec.id, report.round.tx_hash)


def test_a_price_at_real_magnitude_lands_at_input_scale_7(
    w3: Web3, anvil: AnvilNode, build_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = 300_012_345_678  # 3,000.12345678 USD with 8 decimals: 393 million steps at scale 13, 384,016 at 7
    deployer = sender_for(w3, "deployer")
    constructor = contract_factory(w3, "ExampleAggregator").constructor(8, "ETH / USD", raw)
    aggregator = deployer.transact(constructor, what="deploy ExampleAggregator").receipt["contractAddress"]

    spec = _stacked_copy(tmp_path / "stacked", aggregator=aggregator, feed_id="stacked-example")
    check_feed(spec)
    circuit = _stacked_circuit(spec, build_root)
    monkeypatch.setenv("ZKORACLE_RELAYER_KEY", STRANGER.key.hex())
    store = Store.sqlite(tmp_path / "db.sqlite")
    deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, circuit)
    node = FeedNode(
        spec, circuit, store=store, w3=w3, deployment=deployment, prover=LocalProver(), proofs_dir=tmp_path / "proofs"
    )
    report = node.tick()
    assert report.landed, report.round.failure_reason
    assert report.round.inputs[:1] == [3000.125]  # 384,016 steps of 2**-7
    assert report.round.evidence_json is not None
    assert InputEvidence.from_json(report.round.evidence_json).source_rounds == (1,)
    _round, answer = _read_proxy(w3, deployment.proxy_address)
    assert answer == pytest.approx(score(3000.125), abs=circuit.quantization_error + 1e-6)  # 40.49...
    _assert_relayed_by_a_stranger(w3, deployment.oracle_address, spec.id, report.round.tx_hash)


def test_validate_refuses_an_onchain_price_beyond_what_the_circuit_reads_exactly(tmp_path: Path) -> None:
    folder = tmp_path / "stacked"
    shutil.copytree(STACKED_FEED, folder)
    toml = folder / "feed.toml"
    toml.write_text(toml.read_text().replace("input_scale = 7", "# input_scale unset"))
    # The samples reach 4096 USD: 2**25 steps at the scale calibration picks (13).
    with pytest.raises(FeedSpecError, match="circuit.input_scale") as refused:
        check_feed(load_feed(folder))
    assert "set [circuit] input_scale = 11 or less" in str(refused.value)
    toml.write_text(toml.read_text().replace("# input_scale unset", "input_scale = 11"))
    check_feed(load_feed(folder))
