"""A feed's rounds end to end on Anvil: prove, verify locally, persist, relay, read."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.build import build_circuit
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.time_limbs import time_limbs
from oracle.deployments.contracts import deploy_oracle, rotate_feed
from oracle.deployments.keys import sender_for
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.evm.contracts import PROXY, bind
from oracle.evm.zkoracle import RoundId, ZkOracle
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec, TriggerSpec
from oracle.node import FeedNode
from oracle.provers import LocalProver, Proof
from oracle.sources.base import InputSource
from oracle.sources.factory import create_source
from oracle.store import RoundStatus, Store
from tests.conftest import DEMO_FEED
from tests.deployed_nodes import deployed_node

# Seconds an oracle of the rotation test makes a proposed circuit wait: long enough to be seen waiting.
ROTATION_DELAY = 6


class FixedSource(InputSource):
    def __init__(self, values: Sequence[float]) -> None:
        self.values = list(values)

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        return self.values


class CannedProver:
    """Hands back a fixed proof document, as a lazy or malicious remote prover might."""

    name = "canned"

    def __init__(self, document: bytes) -> None:
        self.document = document

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        return Proof(document=self.document, prover=self.name, prove_seconds=0.0)


def _flip_proof_byte(document: bytes) -> bytes:
    parsed = json.loads(document)
    raw = bytearray(bytes.fromhex(parsed["hex_proof"].removeprefix("0x")))
    raw[100] ^= 0x01
    parsed["hex_proof"] = "0x" + raw.hex()
    parsed["proof"] = list(raw)
    return json.dumps(parsed).encode()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.sqlite(tmp_path / "node.db")


def _node(
    store: Store,
    w3: Web3,
    anvil: AnvilNode,
    spec: FeedSpec,
    circuit: CircuitArtifacts,
    tmp_path: Path,
    **kwargs: object,
) -> FeedNode:
    return deployed_node(store, w3, anvil.rpc_url, spec, FeedCircuit.whole(circuit), tmp_path / "proofs", with_consumer=True, **kwargs)


def _onchain_rounds(w3: Web3, node: FeedNode) -> RoundId | None:
    return ZkOracle(w3, node.deployment.oracle_address).latest_round_id(node.spec.id)


def test_tick_lands_a_proven_round_the_consumer_reads(
    store: Store, w3: Web3, anvil: AnvilNode, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    node = _node(store, w3, anvil, demo_spec, demo_circuit, tmp_path)
    now = time.time()
    report = node.tick(now=now)
    row = report.round
    assert report.landed, row.failure_reason
    assert row.tx_hash and row.gas_used and row.gas_used > 300_000
    assert row.prover == "local"
    assert row.onchain_round_id == str(int(RoundId(1, 1))) and row.onchain_answer == row.expected_answer
    proof_file = Path(str(row.proof_path))
    (document,) = json.loads(proof_file.read_text())["slices"]  # a whole model: the chain of one piece
    piece_digest = hashlib.sha256(bytes.fromhex(document["hex_proof"][2:])).digest()
    assert row.proof_digest == "0x" + hashlib.sha256(piece_digest).hexdigest()
    assert report.reading is not None and str(report.reading.answer) == row.expected_answer
    assert report.error is not None and report.error <= report.tolerance
    assert row.observed_at == int(now)
    assert row.inputs == pytest.approx([*create_source(demo_spec.source).fetch(now=now), *time_limbs(int(now))])

    # Relaying a landed round again is a no-op: nothing is posted twice.
    assert node._relayer.relay(int(row.id)).landed  # type: ignore[arg-type]
    assert _onchain_rounds(w3, node) == RoundId(1, 1)
    assert [r.status for r in store.rounds(feed_id="demo")] == [RoundStatus.LANDED]


def test_without_a_consumer_the_node_reads_the_value_through_the_proxy(
    store: Store, w3: Web3, anvil: AnvilNode, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    deployment = ensure_deployment(store, w3, anvil.rpc_url, demo_spec, FeedCircuit.whole(demo_circuit))
    assert deployment.consumer_address is None  # the example consumer is deployed only on request
    node = FeedNode(
        demo_spec, FeedCircuit.whole(demo_circuit), store=store, w3=w3, deployment=deployment, prover=LocalProver(), proofs_dir=tmp_path
    )
    report = node.tick()
    assert report.landed, report.round.failure_reason
    assert report.reading is not None and report.reading.reader == "proxy"
    assert str(report.reading.answer) == report.round.expected_answer
    assert int(report.reading.round_id) == int(str(report.round.onchain_round_id))

    with_consumer = ensure_deployment(store, w3, anvil.rpc_url, demo_spec, FeedCircuit.whole(demo_circuit), with_consumer=True)
    assert with_consumer.id == deployment.id and with_consumer.consumer_address is not None


def test_an_observation_newer_than_an_idle_chains_latest_block_still_lands(
    store: Store, w3: Web3, anvil: AnvilNode, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    node = _node(store, w3, anvil, demo_spec, demo_circuit, tmp_path)
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    latest = int(w3.eth.get_block("latest")["timestamp"])
    # After the latest block and a little ahead of this machine's clock: the oracle refuses an
    # observation after the block's time, so the relayer sends once the next block's time has passed it.
    observed_at = max(latest, int(time.time())) + 8
    report = node.tick(now=observed_at)
    assert report.landed, report.round.failure_reason
    assert int(w3.eth.get_block("latest")["timestamp"]) >= observed_at


def test_deployment_is_reused_while_its_contracts_exist(
    store: Store, w3: Web3, anvil: AnvilNode, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts
) -> None:
    first = ensure_deployment(store, w3, anvil.rpc_url, demo_spec, FeedCircuit.whole(demo_circuit))
    again = ensure_deployment(store, w3, anvil.rpc_url, demo_spec, FeedCircuit.whole(demo_circuit))
    assert again.id == first.id and again.oracle_address == first.oracle_address


def test_tampered_proof_from_a_prover_is_never_sent(
    store: Store,
    w3: Web3,
    anvil: AnvilNode,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    demo_proof: Proof,
    tmp_path: Path,
) -> None:
    sample = demo_spec.load_samples()[0]
    node = _node(
        store,
        w3,
        anvil,
        demo_spec,
        demo_circuit,
        tmp_path,
        prover=CannedProver(_flip_proof_byte(demo_proof.document)),
        source=FixedSource(sample),
    )
    row = node.tick().round
    assert row.status is RoundStatus.FAILED and "does not verify" in str(row.failure_reason)
    assert row.tx_hash is None and _onchain_rounds(w3, node) is None


def test_valid_proof_of_other_inputs_is_never_sent(
    store: Store,
    w3: Web3,
    anvil: AnvilNode,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    demo_proof: Proof,
    tmp_path: Path,
) -> None:
    other_inputs = demo_spec.load_samples()[1]  # demo_proof proves sample 0
    node = _node(
        store,
        w3,
        anvil,
        demo_spec,
        demo_circuit,
        tmp_path,
        prover=CannedProver(demo_proof.document),
        source=FixedSource(other_inputs),
    )
    row = node.tick().round
    assert row.status is RoundStatus.FAILED and "proof input 0" in str(row.failure_reason)
    assert _onchain_rounds(w3, node) is None


@pytest.mark.parametrize(
    ("values", "reason"), [([2000.0, 2001.0], "returned 2 values"), ([2000.0, float("nan"), 1.0, 2.0], "non-finite")]
)
def test_bad_source_output_fails_the_round_with_a_reason(
    store: Store,
    w3: Web3,
    anvil: AnvilNode,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    tmp_path: Path,
    values: list[float],
    reason: str,
) -> None:
    node = _node(store, w3, anvil, demo_spec, demo_circuit, tmp_path, source=FixedSource(values))
    row = node.tick().round
    assert row.status is RoundStatus.FAILED and reason in str(row.failure_reason)
    assert "feed 'demo'" in str(row.failure_reason)
    assert store.rounds(feed_id="demo", status=RoundStatus.FAILED)[0].id == row.id


def _retrained_feed(tmp_path: Path) -> FeedSpec:
    """The demo feed with a changed model, as after retraining: same feed id, new circuit."""
    folder = tmp_path / "retrained"
    shutil.copytree(DEMO_FEED, folder)
    model = onnx.load(folder / "model.onnx")
    bias = next(init for init in model.graph.initializer if init.name == "b2")
    bias.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(bias) + np.float32(0.25), "b2"))
    onnx.save(model, folder / "model.onnx")
    # Every tick posts: this test is about rotation, not about the deviation trigger.
    return load_feed(folder).model_copy(update={"trigger": TriggerSpec()})


def test_new_model_rotates_the_feed_and_round_ids_carry_on(
    store: Store,
    w3: Web3,
    anvil: AnvilNode,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    build_root: Path,
    tmp_path: Path,
) -> None:
    node = _node(store, w3, anvil, demo_spec, demo_circuit, tmp_path)
    first = node.tick().round
    assert first.status is RoundStatus.LANDED, first.failure_reason

    spec = _retrained_feed(tmp_path)
    circuit = build_circuit(
        spec.model_path, spec.model_samples(), build_root=build_root, observation_time=True
    ).artifacts
    assert circuit.manifest.key != demo_circuit.manifest.key
    rotated = ensure_deployment(store, w3, anvil.rpc_url, spec, FeedCircuit.whole(circuit))
    assert (rotated.oracle_address, rotated.proxy_address) == (
        node.deployment.oracle_address,
        node.deployment.proxy_address,
    )
    assert rotated.verifier_address != node.deployment.verifier_address
    assert ensure_deployment(store, w3, anvil.rpc_url, spec, FeedCircuit.whole(circuit)).id == rotated.id  # no second rotation

    second = FeedNode(
        spec, FeedCircuit.whole(circuit), store=store, w3=w3, deployment=rotated, prover=LocalProver(), proofs_dir=tmp_path
    ).tick()
    assert second.landed, second.round.failure_reason
    assert second.round.onchain_round_id == str(int(RoundId(2, 1)))

    proxy = bind(w3, PROXY, rotated.proxy_address)
    assert proxy.functions.latestRoundData().call()[0] == int(RoundId(2, 1))
    assert proxy.functions.getRoundData(int(RoundId(1, 1))).call()[1] == int(str(first.onchain_answer))
    oracle = ZkOracle(w3, rotated.oracle_address)
    assert oracle.round("demo", RoundId(2, 1)).model_commitment.hex() == circuit.manifest.model_commitment[2:]


def test_a_rotation_waits_for_the_oracles_delay_and_survives_a_restart(
    store: Store,
    w3: Web3,
    anvil: AnvilNode,
    demo_spec: FeedSpec,
    demo_circuit: CircuitArtifacts,
    build_root: Path,
    tmp_path: Path,
) -> None:
    deployer = sender_for(w3, "deployer")
    oracle_address = deploy_oracle(deployer, rotation_delay=ROTATION_DELAY)
    live = ensure_deployment(store, w3, anvil.rpc_url, demo_spec, FeedCircuit.whole(demo_circuit), oracle_address=oracle_address)
    spec = _retrained_feed(tmp_path)
    circuit = build_circuit(
        spec.model_path, spec.model_samples(), build_root=build_root, observation_time=True
    ).artifacts
    # A run that proposed the new circuit and was stopped while it waited for the delay.
    _verifier, executable_at = rotate_feed(deployer, spec, FeedCircuit.whole(circuit), oracle_address=oracle_address)
    oracle = ZkOracle(w3, oracle_address)
    assert oracle.circuit("demo")[0] == 1 and oracle.pending_rotation("demo") == (2, executable_at)

    rotated = ensure_deployment(store, w3, anvil.rpc_url, spec, FeedCircuit.whole(circuit), oracle_address=oracle_address)
    assert rotated.proxy_address == live.proxy_address and oracle.circuit("demo")[0] == 2
    assert oracle.pending_rotation("demo") is None
    (proposed,) = oracle.contract.events.RotationProposed().get_logs(from_block=0)  # the restart proposed nothing new
    (executed,) = [e for e in oracle.contract.events.FeedRotated().get_logs(from_block=0) if e["args"]["phaseId"] == 2]
    assert w3.eth.get_block(executed["blockNumber"])["timestamp"] >= proposed["args"]["executableAt"]
