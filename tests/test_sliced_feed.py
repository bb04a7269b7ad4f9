"""A sliced feed end to end on Anvil: slices proven in parallel, linked on-chain, read by the consumer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from web3 import Web3
from web3.exceptions import ContractCustomError

from oracle.circuits.feed import FeedCircuit
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.evm.contracts import CONSUMER, PROXY, bind, feed_key, project_error_decoder
from oracle.evm.zkoracle import ZkOracle
from oracle.feed_circuit import build_feed_circuit
from oracle.feeds.schema import AnswerSpec, FeedSpec, SlicingSpec
from oracle.node import FeedNode
from oracle.provers.feed_proof import FeedProof
from oracle.provers.pool import PoolProver
from oracle.store import RoundStatus, Store


def _node(store: Store, w3: Web3, anvil: AnvilNode, spec: FeedSpec, circuit: FeedCircuit, tmp_path: Path) -> FeedNode:
    deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, circuit, with_consumer=True)
    return FeedNode(
        spec,
        circuit,
        store=store,
        w3=w3,
        deployment=deployment,
        prover=PoolProver(workers=2),
        proofs_dir=tmp_path / "proofs",
    )


def test_a_sliced_round_lands_with_full_coverage_and_the_consumer_reads_it(
    w3: Web3, anvil: AnvilNode, sliced_spec: FeedSpec, sliced_circuit: FeedCircuit, tmp_path: Path
) -> None:
    store = Store.sqlite(tmp_path / "node.db")
    node = _node(store, w3, anvil, sliced_spec, sliced_circuit, tmp_path)
    report = node.tick(now=time.time())
    row = report.round
    assert report.landed, row.failure_reason
    assert report.reading is not None and str(report.reading.answer) == row.expected_answer
    assert report.error is not None and report.error <= report.tolerance
    proof = FeedProof.from_document(Path(str(row.proof_path)).read_bytes())
    assert all(p is not None for p in proof.proofs) and row.proof_digest == proof.digest

    oracle = ZkOracle(w3, node.deployment.oracle_address)
    round_id = oracle.latest_round_id(sliced_spec.id)
    assert round_id is not None and str(int(round_id)) == row.onchain_round_id
    assert oracle.coverage(sliced_spec.id, round_id) == (3, 3)
    consumer = bind(w3, CONSUMER, str(node.deployment.consumer_address))
    answer, read_round = consumer.functions.readFullyProven().call()
    assert (str(answer), read_round) == (row.expected_answer, int(round_id))
    # Posted once: relaying the landed round again sends nothing.
    assert node._relayer.relay(int(row.id)).landed  # type: ignore[arg-type]
    assert oracle.latest_round_id(sliced_spec.id) == round_id
    assert [r.status for r in store.rounds(feed_id=sliced_spec.id)] == [RoundStatus.LANDED]


def test_targeted_verification_lands_partial_coverage_a_consumer_can_refuse(
    w3: Web3, anvil: AnvilNode, sliced_spec: FeedSpec, build_root: Path, tmp_path: Path
) -> None:
    spec = sliced_spec.model_copy(update={"id": "sliced-targeted", "slicing": SlicingSpec(slices=3, prove=(0, 2))})
    circuit = build_feed_circuit(spec, build_root=build_root).circuit
    node = _node(Store.sqlite(tmp_path / "node.db"), w3, anvil, spec, circuit, tmp_path)
    report = node.tick(now=time.time())
    assert report.landed, report.round.failure_reason
    assert report.reading is not None and str(report.reading.answer) == report.round.expected_answer

    oracle = ZkOracle(w3, node.deployment.oracle_address)
    round_id = oracle.latest_round_id(spec.id)
    assert round_id is not None and oracle.coverage(spec.id, round_id) == (2, 3)
    consumer = bind(w3, CONSUMER, str(node.deployment.consumer_address))
    with pytest.raises(ContractCustomError) as refused:
        consumer.functions.readFullyProven().call()
    decoded = project_error_decoder().decode(refused.value.data if isinstance(refused.value.data, str) else None)
    assert decoded.name == "ExampleConsumerPartialCoverage" and decoded.args[-2:] == (2, 3)


def test_a_sliced_feeds_answer_lands_from_the_last_slice_through_its_own_proxy(
    w3: Web3, anvil: AnvilNode, sliced_spec: FeedSpec, sliced_circuit: FeedCircuit, tmp_path: Path
) -> None:
    answer = AnswerSpec(id="sliced-forecast", output=0, description="the sliced model's forecast")
    spec = sliced_spec.model_copy(update={"id": "sliced-answers", "answers": (answer,)})
    store = Store.sqlite(tmp_path / "node.db")
    node = _node(store, w3, anvil, spec, sliced_circuit, tmp_path)
    report = node.tick(now=time.time())
    row = report.round
    assert report.landed, row.failure_reason
    (posted,) = store.round_answers(int(row.id))  # type: ignore[arg-type]
    assert posted.answer_id == answer.id and posted.onchain_answer == posted.expected_answer

    # Every slice verified and linked in one submitSliceAnswers; the round is the answer's, not the feed's.
    oracle = ZkOracle(w3, node.deployment.oracle_address)
    receipt = w3.eth.get_transaction_receipt(row.tx_hash)  # type: ignore[arg-type]
    (event,) = oracle.round_submitted(receipt)
    assert event.feed_key == feed_key(answer.id)
    assert oracle.latest_round_id(spec.id) is None
    round_id = oracle.latest_round_id(answer.id)
    assert round_id is not None and oracle.coverage(answer.id, round_id) == (3, 3)
    (deployed,) = store.deployment_answers(int(node.deployment.id))  # type: ignore[arg-type]
    proxy = bind(w3, PROXY, str(deployed.proxy_address))
    assert str(proxy.functions.latestRoundData().call()[1]) == posted.expected_answer
