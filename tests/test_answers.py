"""Many answers per proof: a feed scoring 8 assets lands 8 answers per round in one transaction, each read
through its own proxy by an unmodified AggregatorV3 consumer, each with its own trigger and round history."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from web3 import Web3

from oracle.circuits.feed import FeedCircuit
from oracle.deployments.keys import sender_for
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.accounts import dev_account
from oracle.evm.anvil import AnvilNode
from oracle.evm.contracts import contract_factory, feed_key, project_error_decoder
from oracle.evm.zkoracle import RoundId, ZkOracle
from oracle.feeds.schema import FeedSpec
from oracle.node import FeedNode
from oracle.sources.base import InputSource
from oracle.store import DeploymentAnswer, Ledger, RoundStatus, Store
from oracle.submission import SubmitCallBuilder
from relayer.rounds import RoundRelayer
from relayer.sender import TransactionSender
from tests.answer_feeds import with_thresholds
from tests.deployed_nodes import deployed_node


class FixedSource(InputSource):
    def __init__(self, values: Sequence[float]) -> None:
        self.values = list(values)

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        return self.values


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.sqlite(tmp_path / "node.db")


def _node(
    store: Store,
    w3: Web3,
    anvil: AnvilNode,
    spec: FeedSpec,
    circuit: FeedCircuit,
    tmp_path: Path,
    values: list[float],
) -> tuple[FeedNode, FixedSource]:
    source = FixedSource(values)
    node = deployed_node(
        store, w3, anvil.rpc_url, spec, circuit, tmp_path / "proofs", with_consumer=True, source=source
    )
    return node, source


def test_one_transaction_lands_every_answer_each_read_through_its_own_proxy(
    store: Store,
    w3: Web3,
    anvil: AnvilNode,
    multi_asset_spec: FeedSpec,
    multi_asset_circuit: FeedCircuit,
    tmp_path: Path,
) -> None:
    spec = multi_asset_spec
    node, _source = _node(store, w3, anvil, spec, multi_asset_circuit, tmp_path, spec.load_samples()[3])
    report = node.tick(now=time.time())
    row = report.round
    assert report.landed, row.failure_reason
    posted = store.round_answers(int(row.id))  # type: ignore[arg-type]
    assert [answer.answer_id for answer in posted] == [answer.id for answer in spec.answers]

    # One transaction: a RoundSubmitted event per answer, none under the feed's own id.
    oracle = ZkOracle(w3, node.deployment.oracle_address)
    receipt = w3.eth.get_transaction_receipt(row.tx_hash)  # type: ignore[arg-type]
    assert len(oracle.round_submitted(receipt)) == 8 and not oracle.round_submitted(receipt, feed=spec.id)
    assert oracle.latest_round_id(spec.id) is None

    deployer = sender_for(w3, "deployer")
    consumer_factory = contract_factory(w3, "PriceConsumerV3")
    registered = store.deployment_answers(int(node.deployment.id))  # type: ignore[arg-type]
    assert len({answer.proxy_address for answer in registered}) == 8
    for answer, deployed in zip(posted, registered, strict=True):
        assert deployed.answer_id == answer.answer_id
        assert answer.onchain_round_id == str(int(RoundId(1, 1))) and answer.onchain_answer == answer.expected_answer
        confirmed = deployer.transact(
            consumer_factory.constructor(deployed.proxy_address), what="deploy PriceConsumerV3"
        )
        consumer = w3.eth.contract(address=confirmed.receipt["contractAddress"], abi=consumer_factory.abi)
        assert consumer.functions.getChainlinkDataFeedLatestAnswer().call() == int(str(answer.expected_answer))
        assert consumer.functions.describe().call() == [deployed.decimals, deployed.description]
    # The values differ by asset: each proxy reads its own answer.
    assert len({answer.onchain_answer for answer in posted}) == 8
    assert report.reading is not None and str(report.reading.answer) == posted[0].expected_answer


def test_each_answer_has_its_own_trigger_and_a_round_posts_only_those_that_fired(
    store: Store,
    w3: Web3,
    anvil: AnvilNode,
    multi_asset_spec: FeedSpec,
    multi_asset_circuit: FeedCircuit,
    tmp_path: Path,
) -> None:
    moving = {answer.id for answer in multi_asset_spec.answers[2:5]}
    spec = with_thresholds(multi_asset_spec, moving)
    samples = spec.load_samples()
    node, source = _node(store, w3, anvil, spec, multi_asset_circuit, tmp_path, samples[3])
    start = time.time() - 10
    first = node.tick(now=start)
    assert first.landed and "8 of 8 answers (first round)" in str(first.trigger), first.round.failure_reason

    source.values = samples[4]  # every score moves a little: only the answers with a tight band fire
    second = node.tick(now=start + 1)
    assert second.landed, second.round.failure_reason
    assert "3 of 8 answers (deviation)" in str(second.trigger)
    posted = store.round_answers(int(second.round.id))  # type: ignore[arg-type]
    assert {answer.answer_id for answer in posted} == moving
    oracle = ZkOracle(w3, node.deployment.oracle_address)
    receipt = w3.eth.get_transaction_receipt(second.round.tx_hash)  # type: ignore[arg-type]
    assert {event.feed_key for event in oracle.round_submitted(receipt)} == {feed_key(a) for a in moving}
    for answer in spec.answers:
        expected = RoundId(1, 2) if answer.id in moving else RoundId(1, 1)
        assert oracle.latest_round_id(answer.id) == expected, answer.id
    # The headline columns are the round's first posted answer's, as its proxy reads it.
    assert second.reading is not None and str(second.reading.answer) == posted[0].expected_answer

    third = node.tick(now=start + 2)  # the same inputs: no answer moved, nothing is proven
    assert third.skipped and third.round.id is None and "no answer moved" in str(third.trigger)


def test_a_restarted_node_finds_answers_already_landed_and_sends_nothing_twice(
    store: Store,
    w3: Web3,
    anvil: AnvilNode,
    multi_asset_spec: FeedSpec,
    multi_asset_circuit: FeedCircuit,
    tmp_path: Path,
) -> None:
    spec = multi_asset_spec
    node, _source = _node(store, w3, anvil, spec, multi_asset_circuit, tmp_path, spec.load_samples()[5])
    landed = node.tick(now=time.time() - 5).round
    assert landed.status is RoundStatus.LANDED, landed.failure_reason
    # A crash after the transaction was mined, before the node recorded it: the round is PROVEN again.
    Ledger(store).back_to_proven(int(landed.id), [], error="test: crashed before the receipt")  # type: ignore[arg-type]
    block = w3.eth.block_number
    (outcome,) = node.resume()
    assert outcome.landed and outcome.round.tx_hash == landed.tx_hash  # found by its RoundSubmitted events
    assert w3.eth.block_number == block  # nothing sent
    oracle = ZkOracle(w3, node.deployment.oracle_address)
    assert all(oracle.latest_round_id(answer.id) == RoundId(1, 1) for answer in spec.answers)
    assert [a.onchain_round_id for a in store.round_answers(int(landed.id))] == [str(int(RoundId(1, 1)))] * 8  # type: ignore[arg-type]


def test_deploying_again_registers_no_answer_twice(
    store: Store, w3: Web3, anvil: AnvilNode, multi_asset_spec: FeedSpec, multi_asset_circuit: FeedCircuit
) -> None:
    spec = multi_asset_spec
    first = ensure_deployment(store, w3, anvil.rpc_url, spec, multi_asset_circuit)
    proxies = [answer.proxy_address for answer in store.deployment_answers(int(first.id))]  # type: ignore[arg-type]
    oracle = ZkOracle(w3, first.oracle_address)

    def registered() -> int:
        return len(oracle.contract.events.AnswerRegistered().get_logs(from_block=0))

    assert registered() == 8
    again = ensure_deployment(store, w3, anvil.rpc_url, spec, multi_asset_circuit)
    assert again.id == first.id and [a.proxy_address for a in store.deployment_answers(int(again.id))] == proxies  # type: ignore[arg-type]

    # A run that stopped after registering the answers, before recording them: they are not registered again.
    with store.session() as session:
        for answer in store.deployment_answers(int(first.id)):  # type: ignore[arg-type]
            session.delete(session.get(DeploymentAnswer, answer.id))
        session.commit()
    ensure_deployment(store, w3, anvil.rpc_url, spec, multi_asset_circuit)
    assert registered() == 8 and len(store.deployment_answers(int(first.id))) == 8  # type: ignore[arg-type]


def test_attack_a_rival_relayer_landing_some_answers_first_does_not_keep_the_rest_out(
    store: Store,
    w3: Web3,
    anvil: AnvilNode,
    multi_asset_spec: FeedSpec,
    multi_asset_circuit: FeedCircuit,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The attack: another relayer takes the round's proof (from the mempool, or the read API) and lands two of
    # its answers first, hoping the node's transaction for all eight then reverts and six miss this observation.
    spec = multi_asset_spec
    node, _source = _node(store, w3, anvil, spec, multi_asset_circuit, tmp_path, spec.load_samples()[6])
    oracle = ZkOracle(w3, node.deployment.oracle_address)
    rival = TransactionSender(w3, dev_account(7), decoder=project_error_decoder())
    sender_for(w3, "deployer").transact(oracle.set_submitter(spec.id, rival.account.address, True), what="allow")
    stolen = [answer.id for answer in spec.answers[2:4]]
    builder = SubmitCallBuilder(oracle, store)
    relay = RoundRelayer.relay

    def front_run(relayer: RoundRelayer, round_id: int) -> object:
        feed, proof, instances, evidence, _answers = builder(Ledger(store).round(round_id)).function.args
        subset = oracle.contract.functions.submitAnswers(
            feed, proof, instances, evidence, [feed_key(a) for a in stolen]
        )
        # Against the pending block, as the node's relayer falls back to: the session's Anvil may have mined
        # nothing since before this second began, and the latest block would be older than the observation.
        rival.transact(subset, what="rival's submitAnswers", block="pending")
        return relay(relayer, round_id)

    monkeypatch.setattr(RoundRelayer, "relay", front_run)
    report = node.tick(now=time.time())
    assert report.landed, report.round.failure_reason
    receipt = w3.eth.get_transaction_receipt(report.round.tx_hash)  # type: ignore[arg-type]
    assert len(oracle.round_submitted(receipt)) == 6  # the node's transaction stored the six left
    for answer in spec.answers:
        assert oracle.latest_round_id(answer.id) == RoundId(1, 1), answer.id  # each once, from this proof
    posted = store.round_answers(int(report.round.id))  # type: ignore[arg-type]
    assert [a.onchain_round_id for a in posted] == [str(int(RoundId(1, 1)))] * 8
    assert all(a.onchain_answer == a.expected_answer for a in posted)
