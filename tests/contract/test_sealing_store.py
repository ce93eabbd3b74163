"""The sealing tables on both backends: migration 0005 down and up again."""

from __future__ import annotations

import sqlalchemy as sa

from accord.services.node import Node
from accord.store import migrate


def test_migration_0005_down_and_up(node: Node) -> None:
    migrate.upgrade(node.db)
    tables = {"custodians", "warrants", "unseal_requests", "unseal_approvals"}
    with node.db.reader.connect() as conn:
        assert tables <= set(sa.inspect(conn).get_table_names())
    migrate.downgrade(node.db, "0004")
    with node.db.reader.connect() as conn:
        assert not tables & set(sa.inspect(conn).get_table_names())
    migrate.upgrade(node.db)
    assert migrate.current_revision(node.db) == migrate.head_revision()
