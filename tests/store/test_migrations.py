from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, inspect
from sqlmodel import SQLModel

from oracle.evm.zkoracle import RoundId
from oracle.exceptions import StoreError
from oracle.store import FailureKind, Round, RoundStatus, Store
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


# What each place that failed a round wrote before failures had a kind, and the kind the migration gives it.
EARLIER_FAILURES = [
    ("SourceError: feed 'demo': source returned 2 values, the model takes 4", FailureKind.SOURCE),
    ("RemoteProverError: prover 5Fabc at http://10.0.0.2:8091: no answer in 30s", FailureKind.PROVER),
    ("abandoned: the node stopped before the round's proof was stored", FailureKind.ABANDONED),
    ("feed 'demo' round 4 would revert: ZkOracleStaleRound(7, 9)", FailureKind.REFUSED),
    ("feed 'demo' round 5: the node refused transaction 0xab (nonce 3): insufficient funds", FailureKind.REFUSED),
    ("feed 'demo' round 6: transaction 0xab reverted: ZkOracleStaleRound(7, 9)", FailureKind.REVERTED),
    ("feed 'demo' round 7: the node refused 3 fresh nonces in a row", FailureKind.NONCE),
    ("feed 'demo' round 8: its transactions were dropped or reorged away 5 times; giving up", FailureKind.DROPPED),
    ("feed 'demo' round 9: the oracle has spent this proof (ZkOracleProofReplayed) but no ...", FailureKind.SPENT),
    ("written by a hand no code knows", None),
]


def test_rounds_failed_before_failure_kinds_get_theirs_from_their_reason(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "state").mkdir(exist_ok=True)
    engine = create_engine(store_url)
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "d1fe36104a85")  # the revision before failure kinds
        tables = MetaData()
        tables.reflect(connection)
        now = datetime.now(UTC)
        connection.execute(
            tables.tables["deployment"].insert(),
            {
                "id": 1,
                "feed_id": "demo",
                "chain_id": 31337,
                "rpc_url": "http://127.0.0.1:8545",
                "oracle_address": "0x" + "11" * 20,
                "verifier_address": "0x" + "22" * 20,
                "proxy_address": "0x" + "44" * 20,
                "circuit_key": "k",
                "model_commitment": "0x" + "33" * 32,
                "dev_srs": True,
                "created_at": now,
            },
        )
        connection.execute(
            tables.tables["round"].insert(),
            [
                {
                    "feed_id": "demo",
                    "deployment_id": 1,
                    "circuit_key": "k",
                    "status": "FAILED",
                    "created_at": now,
                    "inputs_json": "[]",
                    "failure_reason": reason,
                }
                for reason, _kind in EARLIER_FAILURES
            ],
        )
    engine.dispose()

    rows = Store(store_url).rounds()
    assert [(row.failure_reason, row.failure_kind) for row in rows] == EARLIER_FAILURES
    assert all(row.failure_error is None for row in rows)
