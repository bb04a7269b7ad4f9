from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

from oracle.evm.zkoracle import RoundId
from oracle.exceptions import StoreError
from oracle.store import Round, RoundStatus, Store
from oracle.store.migrate import MIGRATIONS
from tests.conftest import add_deployment


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(config).get_current_head())


def test_a_new_database_is_migrated_to_head_and_matches_the_models(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir(exist_ok=True)
    store = Store(store_url)
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == _head()
        # A model change without a migration shows up here as a difference.
        assert compare_metadata(context, SQLModel.metadata) == []


def test_reopening_at_head_keeps_the_data(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir(exist_ok=True)
    store = Store(store_url)
    deployment = add_deployment(store)
    # Round ids carry the phase in bits 64..79 and answers may be wider than 64 bits.
    store.add(
        Round(
            feed_id="demo",
            deployment_id=deployment.id,  # type: ignore[arg-type]
            circuit_key="k",
            status=RoundStatus.LANDED,
            inputs_json=json.dumps([1.5]),
            onchain_round_id=str(int(RoundId(3, 7))),
            expected_answer=str(-(10**30)),
            gas_used=668_201,
        )
    )
    (row,) = Store(store_url).rounds()
    assert int(str(row.onchain_round_id)) == int(RoundId(3, 7)) and int(str(row.expected_answer)) == -(10**30)


def test_a_database_from_before_migrations_is_refused_with_the_fix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    SQLModel.metadata.create_all(create_engine(url))
    with pytest.raises(StoreError, match="predates schema migrations; move it aside"):
        Store(url)
    assert "alembic_version" not in inspect(create_engine(url)).get_table_names()
