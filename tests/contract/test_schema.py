"""The migrated schema equals the declared one, and each backend runs with its durability settings."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from accord.services.node import Node
from accord.store import migrate
from accord.store.schema import metadata


def test_migrations_build_exactly_the_declared_schema(node: Node) -> None:
    migrate.upgrade(node.db)
    assert migrate.current_revision(node.db) == migrate.head_revision()
    with node.db.reader.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_is_idempotent(node: Node) -> None:
    migrate.upgrade(node.db)
    migrate.upgrade(node.db)
    assert migrate.current_revision(node.db) == migrate.head_revision()


def test_durability_settings(node: Node) -> None:
    with node.db.write() as conn:
        if node.db.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        else:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                assert conn.execute(sa.text(f"SHOW {setting}")).scalar() == "on", setting
