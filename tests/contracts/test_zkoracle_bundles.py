"""A feed bundle on Anvil: three demo-sized feeds proven in one real proof, posted with ``submitAnswers``.

The bundle is written by ``oracle.feeds.bundle`` from copies of the demo feed whose members
are given different prices, so each member's answer differs; its circuit is built once and
cached by content hash. Each test registers the bundle on a fresh oracle, the way the bench
does (``bench.bundle_gas.register_bundle``): one feed, one answer per member.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from web3 import Web3
from zkoracle_testkit import FIRST_PRICES, Proven, err, rejected, view_error

from bench.bundle_gas import register_bundle
from bench.skeleton import demo_feed_copies, demo_feed_template
from oracle.circuits.feed import FeedCircuit
from oracle.circuits.quantize import answer_from_felt
from oracle.circuits.time_limbs import time_limbs
from oracle.deployments.contracts import deploy_proxy
from oracle.evm.anvil import AnvilNode
from oracle.evm.contracts import PROXY, bind, feed_key
from oracle.evm.zkoracle import ZkOracle
from oracle.feed_circuit import build_feed_circuit, feed_answers
from oracle.feeds.bundle import write_bundle
from oracle.feeds.schema import FeedSpec
from oracle.inference import OnnxModel
from oracle.provers import LocalProver
from oracle.store import Store
from relayer.sender import TransactionSender
from tests.deployed_nodes import deployed_node

MEMBERS = ("eth-usd", "btc-usd", "sol-usd")
# Each member's 4 prices: the demo's, moved within the range its samples cover.
SHIFTS = (0.0, 40.0, -40.0)


@pytest.fixture(scope="session")
def bundle_spec(tmp_path_factory: pytest.TempPathFactory) -> FeedSpec:
    root = tmp_path_factory.mktemp("bundle")
    # Proofs made early in the session must still be fresh for the last test.
    template = demo_feed_template(
        {r"max_observation_age_seconds = 120": "max_observation_age_seconds = 3600"}, bench="test_zkoracle_bundles"
    )
    return write_bundle(demo_feed_copies(root, template, MEMBERS), bundle="majors", out=root / "majors")


@pytest.fixture(scope="session")
def bundle_circuit(bundle_spec: FeedSpec, build_root: Path) -> FeedCircuit:
    return build_feed_circuit(bundle_spec, build_root=build_root).circuit


@pytest.fixture(scope="session")
def bundle_inputs(w3: Web3) -> tuple[list[float], int]:
    """Every member's source values, and the chain time they are observed at."""
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    values = [price + shift for shift in SHIFTS for price in FIRST_PRICES]
    return values, int(w3.eth.get_block("latest")["timestamp"])


@pytest.fixture(scope="session")
def bundle_proof(
    bundle_spec: FeedSpec, bundle_circuit: FeedCircuit, bundle_inputs: tuple[list[float], int]
) -> Proven:
    values, observed_at = bundle_inputs
    return Proven(LocalProver().prove(bundle_circuit.first, values + time_limbs(observed_at)), observed_at)


@pytest.fixture
def bundle_oracle(
    oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    bundle_spec: FeedSpec,
    bundle_circuit: FeedCircuit,
) -> ZkOracle:
    register_bundle(owner, oracle, bundle_spec, bundle_circuit, submitter=relayer.account.address)
    return oracle


def member_answers(spec: FeedSpec, circuit: FeedCircuit, proven: Proven) -> dict[str, int]:
    """Each member's answer as the contract derives it from its instance."""
    answers = {}
    for answer in feed_answers(spec, circuit):
        felt = proven.felts[circuit.answer_index(answer.position)]
        answers[answer.id] = answer_from_felt(
            felt, scale=circuit.answer_scale(answer.position), decimals=answer.decimals
        )
    return answers


def test_a_bundle_round_lands_every_member_once(
    bundle_oracle: ZkOracle,
    relayer: TransactionSender,
    bundle_spec: FeedSpec,
    bundle_circuit: FeedCircuit,
    bundle_proof: Proven,
    bundle_inputs: tuple[list[float], int],
) -> None:
    oracle = bundle_oracle
    call = oracle.submit_answers("majors", bundle_proof.proof_bytes, bundle_proof.instances, MEMBERS)
    confirmed = relayer.transact(call, what="submitAnswers")
    events = oracle.round_submitted(confirmed.receipt)
    assert sorted(event.feed_key for event in events) == sorted(feed_key(member) for member in MEMBERS)
    expected = member_answers(bundle_spec, bundle_circuit, bundle_proof)
    assert len(set(expected.values())) == len(MEMBERS)  # the members' answers differ
    values, observed_at = bundle_inputs
    model = OnnxModel(bundle_spec.model_path).run(bundle_spec.model_input(values, observed_at=observed_at))
    for index, member in enumerate(MEMBERS):
        latest = oracle.latest_round_data(member)
        assert (latest.answer, latest.updated_at) == (expected[member], observed_at)
        assert latest.answer / 10**bundle_spec.decimals == pytest.approx(model[index], abs=0.1)
    assert oracle.latest_round_id("majors") is None  # the bundle's own id holds no value


def test_a_bundle_proof_with_one_members_output_changed_is_rejected(
    bundle_oracle: ZkOracle,
    relayer: TransactionSender,
    bundle_circuit: FeedCircuit,
    bundle_proof: Proven,
) -> None:
    instances = list(bundle_proof.instances)
    sol = bundle_circuit.answer_index(2)
    instances[sol] += 1 << bundle_circuit.answer_scale(2)  # sol-usd answers one unit more
    call = bundle_oracle.submit_answers("majors", bundle_proof.proof_bytes, instances, MEMBERS)
    assert rejected(relayer, call) == err("ZkOracleInvalidProof", feed_key("majors"))
    assert all(bundle_oracle.latest_round_id(member) is None for member in MEMBERS)


def test_a_members_proxy_reads_only_that_member(
    bundle_oracle: ZkOracle,
    owner: TransactionSender,
    relayer: TransactionSender,
    bundle_spec: FeedSpec,
    bundle_circuit: FeedCircuit,
    bundle_proof: Proven,
) -> None:
    oracle, w3 = bundle_oracle, bundle_oracle.w3
    proxies = {member: bind(w3, PROXY, deploy_proxy(owner, oracle.address, member)) for member in MEMBERS}
    # Only btc-usd is listed: its proxy reads its answer, the others have none yet.
    call = oracle.submit_answers("majors", bundle_proof.proof_bytes, bundle_proof.instances, ["btc-usd"])
    relayer.transact(call, what="submitAnswers btc-usd")
    expected = member_answers(bundle_spec, bundle_circuit, bundle_proof)
    assert proxies["btc-usd"].functions.latestRoundData().call()[1] == expected["btc-usd"]
    assert proxies["btc-usd"].functions.decimals().call() == bundle_spec.decimals
    for member in ("eth-usd", "sol-usd"):
        assert view_error(proxies[member].functions.latestRoundData()) == err("ZkOracleNoRounds", feed_key(member))


def test_the_node_lands_a_bundle_round_through_each_members_proxy(
    w3: Web3, anvil: AnvilNode, bundle_spec: FeedSpec, bundle_circuit: FeedCircuit, tmp_path: Path
) -> None:
    store = Store.sqlite(tmp_path / "node.db")
    node = deployed_node(store, w3, anvil.rpc_url, bundle_spec, bundle_circuit, tmp_path / "proofs")
    deployment = node.deployment
    report = node.tick(now=time.time())
    assert report.landed, report.round.failure_reason
    oracle = ZkOracle(w3, deployment.oracle_address)
    receipt = w3.eth.get_transaction_receipt(report.round.tx_hash)  # type: ignore[arg-type]
    # One transaction, every member once, nothing under the bundle's own id.
    assert sorted(event.feed_key for event in oracle.round_submitted(receipt)) == sorted(map(feed_key, MEMBERS))
    posted = {answer.answer_id: answer for answer in store.round_answers(int(report.round.id))}  # type: ignore[arg-type]
    for member in store.deployment_answers(int(deployment.id)):  # type: ignore[arg-type]
        proxy = bind(w3, PROXY, member.proxy_address)
        assert str(proxy.functions.latestRoundData().call()[1]) == posted[member.answer_id].expected_answer
