"""The migrated schema equals the declared one, and each backend runs with its durability settings."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from accord.model.identifier import Identifier
from accord.model.organisation import Role
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.services import reports
from accord.services.node import Node
from accord.store import migrate
from accord.store.schema import metadata
from tests.conftest import World, report_json


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
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 20000
        else:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                assert conn.execute(sa.text(f"SHOW {setting}")).scalar() == "on", setting


def test_upgrade_from_0001_keeps_identifier_search_working(world: World) -> None:
    """0002 moved identifier search to a key hash; rows written under 0001 get their hash on upgrade."""
    a = world.actor(world.org("A", [Role.analyst])[1])
    b = world.actor(world.org("B", [Role.analyst])[1])
    ra = reports.submit(world.node, a, parse_obj(ReportIn, report_json("m-1"))).report
    rb = reports.submit(world.node, b, parse_obj(ReportIn, report_json("m-1"))).report
    migrate.downgrade(world.node.db, "0001")
    with world.node.db.reader.connect() as conn:
        assert "key_hash" not in {c["name"] for c in sa.inspect(conn).get_columns("report_identifiers")}
    migrate.upgrade(world.node.db)
    ident = parse_obj(Identifier, {"kind": "phone", "value": "+49 30 901820"})
    assert [r.id for r in reports.search_identifier(world.node, a, ident)] == [ra.id]
    assert [r.id for r in reports.search_identifier(world.node, b, ident)] == [rb.id]
