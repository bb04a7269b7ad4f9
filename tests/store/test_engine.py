from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from oracle.exceptions import StoreError
from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.store import Round, RoundStatus, Store
from tests.conftest import DEMO_FEED, add_deployment


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
    first = store.save_feed(load_feed(folder))
    assert (first.id, first.decimals, first.schedule, first.folder) == ("demo", 8, "every 10s", str(folder))
    assert FeedSpec.model_validate({**json.loads(first.spec_json), "folder": folder}) == load_feed(folder)

    toml = folder / "feed.toml"
    toml.write_text(
        toml.read_text()
        .replace("decimals = 8", "decimals = 6")
        .replace("interval_seconds = 10", 'cron = "*/5 * * * *"')
    )
    Store(store_url).save_feed(load_feed(folder))
    (row,) = Store(store_url).feeds()
    assert (row.decimals, row.schedule) == (6, "cron */5 * * * *")
    assert row.created_at == first.created_at and row.updated_at > first.updated_at
    assert Store(store_url).feed_ids() == ["demo"]
