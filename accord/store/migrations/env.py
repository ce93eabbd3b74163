"""Alembic environment: always run from ``accord.store.migrate`` with a connection handed in."""

from __future__ import annotations

from alembic import context

from accord.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the alembic CLI, which we do not use
    raise RuntimeError("run migrations with `accord init` or accord.store.migrate.upgrade()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
