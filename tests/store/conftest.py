"""Every store test runs against SQLite and against a real PostgreSQL server.

PostgreSQL comes from ``ZKORACLE_TEST_POSTGRES_URL`` (default: the server `.ci/run`
starts). Locally the PostgreSQL variant is skipped, saying so, when no server answers;
with ``ZKORACLE_REQUIRE_POSTGRES=1`` (as in CI) an unreachable server fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

DEFAULT_POSTGRES = "postgresql+psycopg://zkoracle:zkoracle@127.0.0.1:5432/postgres"


def _postgres_database() -> Iterator[str]:
    admin_url = make_url(os.environ.get("ZKORACLE_TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"zkoracle_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("ZKORACLE_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"no PostgreSQL server at {admin_url.render_as_string(hide_password=True)} ({exc.orig})")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'zkoracle.db'}"
    else:
        yield from _postgres_database()
