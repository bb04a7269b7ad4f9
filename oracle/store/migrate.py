"""Bringing a database to the current schema with Alembic, on every open."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect

from oracle.exceptions import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Apply every migration the database has not seen yet."""
    with engine.begin() as connection:
        tables = set(inspect(connection).get_table_names())
        if "round" in tables and "alembic_version" not in tables:
            raise StoreError(
                f"the database at {engine.url!r} predates schema migrations; move it aside (a new one is "
                "created on the next start) or point --db at another database"
            )
        command.upgrade(_config(connection), "head")


def new_revision(engine: Engine, message: str) -> None:
    """Write a migration for the difference between the models and a database at head (a developer tool)."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), "head")
        command.revision(_config(connection), message=message, autogenerate=True)
