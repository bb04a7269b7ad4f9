"""Alembic migrations of the node's database, applied by :class:`oracle.store.Store` on open."""
