"""Alembic environment: the node's SQLModel metadata, run on the connection the Store hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import oracle.store  # noqa: F401  (registers every table on SQLModel.metadata)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
