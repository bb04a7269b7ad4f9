from __future__ import annotations

import json
from pathlib import Path

import pytest

from oracle.exceptions import StoreError
from oracle.store import Deployment, Round, RoundStatus, Store


def _deployment(store: Store) -> Deployment:
    deployment = Deployment(
        feed_id="demo",
        chain_id=31337,
        rpc_url="http://127.0.0.1:8545",
        oracle_address="0x" + "11" * 20,
        verifier_address="0x" + "22" * 20,
        proxy_address="0x" + "44" * 20,
        circuit_key="k",
        model_commitment="0x" + "33" * 32,
        dev_srs=True,
    )
    store.add(deployment)
    return deployment


def test_rounds_persist_across_reopen_and_filter_by_status(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    store = Store(store_url)
    deployment = _deployment(store)
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
