from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from oracle.deployments.lifecycle import feed_record
from oracle.exceptions import StoreError
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.store import Deployment, FailureKind, Round, RoundStatus, Store
from tests.conftest import DEMO_FEED, add_deployment
from tests.multichain import FIRST_CHAIN, SECOND_CHAIN, add_two_chain_feed


def test_rounds_persist_across_reopen_and_filter_by_status(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    store = Store(store_url)
    deployment = add_deployment(store)
    for status in (RoundStatus.LANDED, RoundStatus.FAILED, RoundStatus.LANDED):
        store.add(
            Round(
                feed_id="demo",
                deployment_id=deployment.id,
                circuit_key="k",
                status=status,
                inputs_json=json.dumps([1.0, 2.0]),
            )
        )
    reopened = Store(store_url)
    assert [r.status for r in reopened.rounds(feed_id="demo")] == [
        RoundStatus.LANDED,
        RoundStatus.FAILED,
        RoundStatus.LANDED,
    ]
    assert len(reopened.rounds(status=RoundStatus.LANDED)) == 2
    assert reopened.rounds(feed_id="other") == []
    assert reopened.feed_ids() == ["demo"]
    assert reopened.rounds()[0].inputs == [1.0, 2.0]
    assert reopened.deployment(deployment.id).oracle_address == deployment.oracle_address  # type: ignore[arg-type]


def test_unknown_deployment_and_bad_url_are_store_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no deployment with id 7"):
        Store.sqlite(tmp_path / "db.sqlite").deployment(7)
    with pytest.raises(StoreError, match="cannot open the database"):
        Store("sqlite:////nonexistent-dir/deeper/db.sqlite")


def test_a_feed_definition_is_inserted_then_updated_in_place(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir(exist_ok=True)
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_FEED, folder)
    store = Store(store_url)
    first = store.save_feed(feed_record(load_feed(folder)))
    assert (first.id, first.decimals, first.schedule, first.folder) == ("demo", 8, "every 10s", str(folder))
    assert FeedSpec.model_validate({**json.loads(first.spec_json), "folder": folder}) == load_feed(folder)

    toml = folder / "feed.toml"
    toml.write_text(
        toml.read_text()
        .replace("decimals = 8", "decimals = 6")
        .replace("interval_seconds = 10", 'cron = "*/5 * * * *"')
    )
    Store(store_url).save_feed(feed_record(load_feed(folder)))
    (row,) = Store(store_url).feeds()
    assert (row.decimals, row.schedule) == (6, "cron */5 * * * *")
    assert row.created_at == first.created_at and row.updated_at > first.updated_at
    assert Store(store_url).feed_ids() == ["demo"]


def test_deployments_come_newest_first_and_by_chain(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    store = Store(store_url)
    first, second = add_deployment(store), add_deployment(store)
    elsewhere = Deployment(**{**second.model_dump(exclude={"id"}), "chain_id": 1})
    store.add(elsewhere)
    add_deployment(store, feed_id="other")
    assert [d.id for d in store.deployments("demo")] == [elsewhere.id, second.id, first.id]
    assert [d.id for d in store.deployments("demo", chain_id=31337)] == [second.id, first.id]
    assert store.deployments("demo", chain_id=5) == []


def test_recent_rounds_page_backwards_and_figures_carry_the_failure(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    store = Store(store_url)
    deployment = add_deployment(store)
    statuses = [RoundStatus.LANDED, RoundStatus.FAILED, RoundStatus.LANDED, RoundStatus.PROVEN]
    for status in statuses:
        failed = status is RoundStatus.FAILED
        store.add(
            Round(
                feed_id="demo",
                deployment_id=deployment.id,  # type: ignore[arg-type]
                circuit_key="k",
                status=status,
                inputs_json="[]",
                failure_kind=FailureKind.REVERTED if failed else None,
                failure_error="ZkOracleStaleRound" if failed else None,
            )
        )
    ids = [r.id for r in store.rounds()]
    assert [r.id for r in store.recent_rounds("demo", limit=2)] == ids[:1:-1]
    assert [r.id for r in store.recent_rounds("demo", limit=5, before_id=ids[2])] == ids[1::-1]
    assert store.latest_landed("demo").id == ids[2]  # type: ignore[union-attr]
    assert store.status_counts()[("demo", 31337, RoundStatus.LANDED)] == 2
    (failed,) = [f for f in store.round_figures() if f.status is RoundStatus.FAILED]
    assert (failed.feed_id, failed.failure_kind, failed.failure_error) == (
        "demo",
        FailureKind.REVERTED,
        "ZkOracleStaleRound",
    )


def test_datetimes_come_back_aware_in_utc(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    store = Store(store_url)
    deployment = add_deployment(store)
    landed_at = datetime(2026, 11, 25, 14, 0, tzinfo=UTC) + timedelta(microseconds=7)
    store.add(
        Round(
            feed_id="demo",
            deployment_id=deployment.id,  # type: ignore[arg-type]
            circuit_key="k",
            status=RoundStatus.LANDED,
            inputs_json="[]",
            landed_at=landed_at,
        )
    )
    (row,) = Store(store_url).rounds()
    assert row.landed_at == landed_at and row.landed_at.tzinfo is not None  # type: ignore[union-attr]
    assert row.created_at.utcoffset() == timedelta(0)
    assert store.deployment(deployment.id).created_at.utcoffset() == timedelta(0)  # type: ignore[arg-type]


def test_figures_and_counts_carry_each_rounds_chain(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    store = Store(store_url)
    feed = add_two_chain_feed(store)
    rounds = feed.rounds

    assert store.status_counts() == {
        ("demo", FIRST_CHAIN, RoundStatus.LANDED): 2,
        ("demo", FIRST_CHAIN, RoundStatus.PROVEN): 1,
        ("demo", SECOND_CHAIN, RoundStatus.LANDED): 1,
        ("demo", SECOND_CHAIN, RoundStatus.FAILED): 1,
        ("demo", SECOND_CHAIN, RoundStatus.PROVEN): 1,
    }
    figures = {f.gas_used: f for f in store.round_figures() if f.gas_used is not None}
    assert figures[350_000].chain_id == SECOND_CHAIN and figures[350_000].proof_round_id == rounds["p1"].id
    assert figures[410_000].chain_id == FIRST_CHAIN and figures[410_000].proof_round_id is None

    latest = store.latest_landed_per_chain("demo")
    assert {chain: row.id for chain, row in latest.items()} == {
        FIRST_CHAIN: rounds["p2"].id,
        SECOND_CHAIN: rounds["c1"].id,
    }
    assert store.latest_landed("demo", chain_id=SECOND_CHAIN).id == rounds["c1"].id  # type: ignore[union-attr]
    assert store.latest_landed("demo").id == rounds["p2"].id  # type: ignore[union-attr]
    assert store.latest_landed_per_chain("other") == {}
    on_second = [r.id for r in store.recent_rounds("demo", limit=10, chain_id=SECOND_CHAIN)]
    assert on_second == [rounds[name].id for name in ("c3", "c2", "c1")]
    assert [r.id for r in store.recent_rounds("demo", limit=1, before_id=rounds["c3"].id, chain_id=FIRST_CHAIN)] == [
        rounds["p3"].id
    ]
