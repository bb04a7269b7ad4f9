"""A feed posted to two chains, through the read API and the metrics: each round per chain, each proof once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from oracle.api import create_app
from oracle.evm.contracts import project_contracts
from oracle.store import Store
from tests.multichain import FIRST_CHAIN, SECOND_CHAIN, TwoChains, add_two_chain_feed
from tests.serving import serving


@dataclass(frozen=True)
class Served:
    feed: TwoChains
    client: httpx.Client


@pytest.fixture
def served(store_url: str, tmp_path: Path) -> Iterator[Served]:
    (tmp_path / "state").mkdir()
    # On a fresh clone these may be the suite's first tests: compile the contracts here, not inside
    # the first request, which would otherwise spend the client's timeout on solc.
    project_contracts()
    store = Store(store_url)
    feed = add_two_chain_feed(store)
    app = create_app(store, build_root=tmp_path / "build", refresh_seconds=0, rpc_timeout=2.0)
    with serving(app, what="the API server") as url, httpx.Client(base_url=url, timeout=60) as client:
        yield Served(feed=feed, client=client)


def test_each_round_names_its_chain_and_the_round_whose_proof_it_posts(served: Served) -> None:
    rounds, client = served.feed.rounds, served.client
    listed = {r["id"]: r for r in client.get("/api/feeds/demo/rounds").json()["rounds"]}
    assert len(listed) == len(rounds)
    for name, row in rounds.items():
        out = listed[row.id]
        chain, oracle = (FIRST_CHAIN, "0x" + "11" * 20) if name.startswith("p") else (SECOND_CHAIN, "0x" + "55" * 20)
        assert (out["chain_id"], out["oracle_address"], out["proof_round_id"]) == (chain, oracle, row.proof_round_id)
    assert listed[rounds["c1"].id]["proof_round_id"] == rounds["p1"].id
    assert listed[rounds["c2"].id]["failure_kind"] == "superseded"

    second = client.get("/api/feeds/demo/rounds", params={"chain_id": SECOND_CHAIN, "limit": 2}).json()
    assert [r["id"] for r in second["rounds"]] == [rounds["c3"].id, rounds["c2"].id]
    assert second["next"] == f"/api/feeds/demo/rounds?limit=2&before={rounds['c2'].id}&chain_id={SECOND_CHAIN}"
    assert [r["id"] for r in client.get(second["next"]).json()["rounds"]] == [rounds["c1"].id]


def test_a_feed_shows_the_latest_landed_round_on_each_chain(served: Served) -> None:
    rounds, client = served.feed.rounds, served.client
    feed = client.get("/api/feeds/demo").json()
    assert feed["rounds"] == {"landed": 3, "failed": 1, "in_flight": 2}  # every chain's rounds
    assert feed["latest"]["id"] == rounds["p2"].id
    first, second = feed["chains"]
    assert (first["chain_id"], first["oracle_address"]) == (FIRST_CHAIN, "0x" + "11" * 20)
    assert (second["chain_id"], second["proxy_address"]) == (SECOND_CHAIN, "0x" + "56" * 20)
    assert first["rounds"] == {"landed": 2, "failed": 0, "in_flight": 1}
    assert second["rounds"] == {"landed": 1, "failed": 1, "in_flight": 1}
    for chain, name in ((first, "p2"), (second, "c1")):
        row = rounds[name]
        latest = chain["latest"]
        assert (latest["id"], latest["chain_id"]) == (row.id, chain["chain_id"])
        assert (latest["onchain_round_id"], latest["tx_hash"], latest["gas_used"]) == (
            row.onchain_round_id,
            row.tx_hash,
            row.gas_used,
        )

    missing = client.get("/api/feeds/demo/rounds/latest", params={"chain_id": 1})
    assert missing.status_code == 404 and missing.json()["detail"] == "feed 'demo' has no landed round on chain 1"


def _samples(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
    }


def test_metrics_are_per_chain_and_prove_time_is_per_proof(served: Served) -> None:
    samples = _samples(served.client)
    first, second = (("chain", str(FIRST_CHAIN)), ("feed", "demo")), (("chain", str(SECOND_CHAIN)), ("feed", "demo"))
    assert samples[("zkoracle_rounds", (*first, ("status", "landed")))] == 2
    assert samples[("zkoracle_rounds", (*second, ("status", "landed")))] == 1
    assert samples[("zkoracle_rounds", (*second, ("status", "failed")))] == 1
    assert samples[("zkoracle_rounds_landed_total", first)] == 2
    assert samples[("zkoracle_rounds_landed_total", second)] == 1
    assert samples[("zkoracle_round_failures_total", (*second, ("reason", "superseded")))] == 1
    assert ("zkoracle_round_failures_total", (*first, ("reason", "superseded"))) not in samples
    assert samples[("zkoracle_submit_gas_count", first)] == 2
    assert samples[("zkoracle_submit_gas_sum", second)] == 350_000
    assert samples[("zkoracle_relayer_queue_depth", first)] == 1
    assert samples[("zkoracle_relayer_queue_depth", second)] == 1

    proofs = served.feed.proofs
    assert len(proofs) == 3  # six rounds, three proofs
    feed = (("feed", "demo"),)
    assert samples[("zkoracle_prove_seconds_count", feed)] == len(proofs)
    assert samples[("zkoracle_prove_seconds_sum", feed)] == pytest.approx(sum(proofs))
    assert samples[("zkoracle_prove_seconds_bucket", (("feed", "demo"), ("le", "5.0")))] == 2
