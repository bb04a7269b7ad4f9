"""A feed with [[answers]] through the read API, the dashboard and `zkoracle verify`: each answer read like a feed,
its rounds listed under its own id, and each answer re-derived from the verified proof at its own offset."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from web3 import Web3

from oracle.circuits.feed import FeedCircuit
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.evm.zkoracle import RoundId, ZkOracle
from oracle.exceptions import VerificationError
from oracle.feeds.schema import FeedSpec
from oracle.node import FeedNode
from oracle.provers import LocalProver
from oracle.store import Round, RoundAnswer, RoundStatus, Store
from oracle.verify_remote import verify_round
from tests.answer_feeds import with_thresholds
from tests.api.conftest import FixedSource, serve

MOVING = {"multi-asset-sol", "multi-asset-bnb"}


@dataclass
class AnswerFeed:
    store: Store
    spec: FeedSpec
    oracle: ZkOracle
    rounds: list[Round]  # the first (every answer) and the second (only MOVING)
    build_root: Path


@pytest.fixture(scope="module")
def answer_feed(
    tmp_path_factory: pytest.TempPathFactory,
    anvil: AnvilNode,
    w3: Web3,
    multi_asset_spec: FeedSpec,
    multi_asset_circuit: FeedCircuit,
    build_root: Path,
) -> AnswerFeed:
    home = tmp_path_factory.mktemp("api-answers")
    store = Store.sqlite(home / "node.db")
    spec = with_thresholds(multi_asset_spec, MOVING)
    deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, multi_asset_circuit)
    samples = spec.load_samples()
    source = FixedSource(samples[6])
    node = FeedNode(
        spec,
        multi_asset_circuit,
        store=store,
        w3=w3,
        deployment=deployment,
        prover=LocalProver(),
        proofs_dir=home / "proofs",
        source=source,
    )
    start = time.time() - 10
    first = node.tick(now=start).round
    source.values = samples[7]
    second = node.tick(now=start + 1).round
    assert first.status is second.status is RoundStatus.LANDED, (first.failure_reason, second.failure_reason)
    return AnswerFeed(store, spec, ZkOracle(w3, deployment.oracle_address), [first, second], build_root)


@pytest.fixture(scope="module")
def api(answer_feed: AnswerFeed) -> Iterator[httpx.Client]:
    with (
        serve(answer_feed.store, build_root=answer_feed.build_root) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        yield http


def test_a_feed_lists_its_answers_each_with_proxy_and_latest_value(api: httpx.Client, answer_feed: AnswerFeed) -> None:
    feed = api.get("/api/feeds/multi-asset").json()
    answers = {answer["id"]: answer for answer in feed["answers"]}
    assert list(answers) == [answer.id for answer in answer_feed.spec.answers]
    for answer in answer_feed.spec.answers:
        listed = answers[answer.id]
        assert listed["description"] == answer.description and listed["decimals"] == 4
        onchain = answer_feed.oracle.latest_round_data(answer.id)
        assert listed["latest"]["answer"] == str(onchain.answer)
        assert listed["latest"]["value"] == pytest.approx(onchain.answer / 10**4)
        assert listed["latest"]["onchain_round_id"] == str(int(onchain.round_id))
        assert Web3.is_checksum_address(listed["proxy_address"])


def test_an_answer_reads_like_a_feed_with_its_own_rounds(api: httpx.Client, answer_feed: AnswerFeed) -> None:
    first, second = answer_feed.rounds
    moved, held = api.get("/api/feeds/multi-asset-sol").json(), api.get("/api/feeds/multi-asset-btc").json()
    assert moved["answer_of"] == held["answer_of"] == "multi-asset"
    assert moved["description"] == "SOL momentum score (synthetic)" and moved["rounds"]["landed"] == 2
    assert held["rounds"]["landed"] == 1 and held["latest"]["id"] == first.id
    assert moved["latest"]["id"] == second.id and moved["latest"]["answer_id"] == "multi-asset-sol"
    assert moved["latest"]["onchain_round_id"] == str(int(RoundId(1, 2)))
    assert moved["latest"]["answer"] == str(answer_feed.oracle.latest_round_data("multi-asset-sol").answer)

    listed = api.get("/api/feeds/multi-asset-sol/rounds").json()["rounds"]
    assert [r["id"] for r in listed] == [second.id, first.id]
    assert [r["onchain_round_id"] for r in listed] == [str(int(RoundId(1, 2))), str(int(RoundId(1, 1)))]
    assert [r["id"] for r in api.get("/api/feeds/multi-asset-btc/rounds").json()["rounds"]] == [first.id]
    # The round itself names every answer it posted.
    posted = api.get(f"/api/rounds/{second.id}").json()["answers"]
    assert {answer["answer_id"] for answer in posted} == MOVING
    assert api.get("/api/feeds/multi-asset-nope").status_code == 404


def test_the_dashboard_shows_each_answer(api: httpx.Client) -> None:
    page = api.get("/").text
    assert 'data-answers="8"' in page
    assert all(f'data-answer-id="multi-asset-{asset}"' in page for asset in ("btc", "eth", "link"))


def test_verify_re_derives_each_answer_from_the_proof(api: httpx.Client, answer_feed: AnswerFeed) -> None:
    url = str(api.base_url)
    verified = verify_round(f"{url}/api/feeds/multi-asset-bnb/rounds/latest")
    assert verified.round_id == answer_feed.rounds[1].id and verified.feed_id == "multi-asset-bnb"
    assert verified.answer == answer_feed.oracle.latest_round_data("multi-asset-bnb").answer
    assert any("ezkl.verify accepts" in check for check in verified.checks)
    assert sum(check.startswith("answer '") for check in verified.checks) == 2
    whole = verify_round(str(answer_feed.rounds[0].id), api=url)
    assert sum(check.startswith("answer '") for check in whole.checks) == 8
    assert any("answer 'multi-asset-link'" in check and "offset 7" in check for check in whole.checks)


def test_verify_refuses_an_answer_the_proof_does_not_give(answer_feed: AnswerFeed, tmp_path: Path) -> None:
    first = answer_feed.rounds[0]
    with answer_feed.store.session() as session:
        posted = [a for a in answer_feed.store.round_answers(int(first.id)) if a.answer_id == "multi-asset-eth"][0]  # type: ignore[arg-type]
        honest = posted.onchain_answer
        stored = session.get(RoundAnswer, posted.id)
        assert stored is not None
        stored.onchain_answer = str(int(str(honest)) + 1)
        session.add(stored)
        session.commit()
    try:
        with serve(answer_feed.store, build_root=answer_feed.build_root) as url:
            with pytest.raises(VerificationError, match="answer 'multi-asset-eth' is .*instance 12 gives"):
                verify_round(str(first.id), api=url)
    finally:
        with answer_feed.store.session() as session:
            stored = session.get(RoundAnswer, posted.id)
            assert stored is not None
            stored.onchain_answer = honest
            session.add(stored)
            session.commit()
