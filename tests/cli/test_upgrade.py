"""``accord upgrade``: a node whose database is behind this code's schema is refused with what to do, and
``accord upgrade`` brings it to the head, audited; a current node is left as it is."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from accord.services.node import open_node
from accord.settings import Settings
from accord.store import migrate, schema
from tests.cli.helpers import run


def test_a_node_behind_is_refused_until_upgraded(tmp_path: Path) -> None:
    base = ["--data-dir", str(tmp_path)]
    code, out, err = run([*base, "init", "--org-name", "Ops", "--jurisdiction", "NL"])
    assert code == 0, err
    head = migrate.head_revision()
    node = open_node(Settings(data_dir=tmp_path))
    try:
        migrate.downgrade(node.db, "0021")  # as a database left by an older version of Accord
    finally:
        node.close()

    for command in (
        ["org", "add", "--name", "Later", "--kind", "hotline", "--jurisdiction", "DE"],
        ["peer", "list"],
    ):  # main's and context's node opening
        code, _, err = run([*base, *command])
        assert code == 2 and "schema revision 0021" in err and f"needs {head}" in err and "accord upgrade" in err, err

    code, out, err = run([*base, "upgrade"])
    assert code == 0 and f"from schema revision 0021 to {head}" in out, err
    code, out, err = run([*base, "upgrade"])
    assert code == 0 and f"already at schema revision {head}" in out, err

    node = open_node(Settings(data_dir=tmp_path))
    try:
        assert migrate.current_revision(node.db) == head
        with node.db.read() as conn:
            events = conn.execute(
                sa.select(schema.audit_events.c.detail).where(schema.audit_events.c.action == "node.upgrade")
            ).all()
            orgs = conn.execute(sa.select(sa.func.count()).select_from(schema.organisations)).scalar_one()
    finally:
        node.close()
    assert len(events) == 1  # the second, empty upgrade records nothing
    assert orgs == 1  # the refused `org add` made nothing
