"""identifiers and media seen before are linked, not copied: observables and report_observables

Revision ID: 0008
Revises: 0007

report_identifiers held each identifier key once per report that named it. Now each distinct key of an
organisation (identifiers as before, and media hashes, which were only in each report's JSON) is one
row of `observables`, and `report_observables` links reports to them. The reports themselves are not
touched: their subjects and media stay as submitted (evidence; custody hashes their digest).

The identifier records and links are moved in SQL that both backends run. The media records come from
each report's media JSON, read in Python in batches of reports (JSON functions differ too much between
SQLite and PostgreSQL to do it in SQL), with the same statements on both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import accord.store.types
from accord.store.keyhash import key_hash

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 1000
HASHES = ("md5", "sha256", "pdq")  # as accord.model.media.HASHES when this was written

_reports = sa.table(
    "reports",
    sa.column("id", sa.String),
    sa.column("org_id", sa.String),
    sa.column("received_at", accord.store.types.UtcDateTime()),
    sa.column("media", sa.JSON),
)
_observables = sa.table(
    "observables",
    sa.column("id", SERIAL),
    sa.column("org_id", sa.String),
    sa.column("kind", sa.String),
    sa.column("key", sa.String),
    sa.column("key_hash", sa.BigInteger),
    sa.column("first_seen", accord.store.types.UtcDateTime()),
    sa.column("last_seen", accord.store.types.UtcDateTime()),
    sa.column("report_count", sa.Integer),
)
_links = sa.table("report_observables", sa.column("report_id", sa.String), sa.column("observable_id", SERIAL))


def upgrade() -> None:
    op.create_table(
        "observables",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=2100), nullable=False),
        sa.Column("key_hash", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_observables_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observables")),
        sa.UniqueConstraint("key_hash", "org_id", "key", name=op.f("uq_observables_key_hash_org_id_key")),
    )
    op.create_table(
        "report_observables",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("report_id", sa.String(length=40), nullable=False),
        sa.Column("observable_id", SERIAL, nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_report_observables_report_id_reports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_observables")),
        sa.UniqueConstraint(
            "report_id", "observable_id", name=op.f("uq_report_observables_report_id_observable_id")
        ),
    )
    with op.batch_alter_table("report_observables") as batch_op:
        batch_op.create_index("ix_report_observables_observable_id_id", ["observable_id", "id"], unique=False)
    conn = op.get_bind()
    # Identifiers: one record per (org_id, key) already indexed, its times from the reports holding it.
    conn.execute(
        sa.text(
            "INSERT INTO observables (org_id, kind, key, key_hash, first_seen, last_seen, report_count) "
            "SELECT i.org_id, 'identifier', i.key, i.key_hash, MIN(r.received_at), MAX(r.received_at), COUNT(*) "
            "FROM report_identifiers i JOIN reports r ON r.id = i.report_id "
            "GROUP BY i.org_id, i.key, i.key_hash "
            "ORDER BY MIN(r.received_at), i.org_id, i.key"
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO report_observables (report_id, observable_id) "
            "SELECT i.report_id, o.id FROM report_identifiers i "
            "JOIN observables o ON o.key_hash = i.key_hash AND o.org_id = i.org_id AND o.key = i.key "
            "ORDER BY i.report_id, o.id"
        )
    )
    for page in _report_pages(conn):
        _link_media(conn, page)
    with op.batch_alter_table("report_identifiers") as batch_op:
        batch_op.drop_index("ix_report_identifiers_key_hash")
    op.drop_table("report_identifiers")


def _report_pages(conn: sa.Connection) -> Iterator[list[Any]]:
    """The reports that have media, BATCH at a time, in id order (keyset paging: no OFFSET rescans)."""
    after = ""
    while True:
        page = conn.execute(
            sa.select(_reports.c.id, _reports.c.org_id, _reports.c.received_at, _reports.c.media)
            .where(_reports.c.id > after)
            .order_by(_reports.c.id)
            .limit(BATCH)
        ).all()
        if not page:
            return
        yield [r for r in page if r.media]
        after = page[-1].id


class _Seen:
    def __init__(self, at: datetime) -> None:
        self.first, self.last, self.count = at, at, 0

    def add(self, at: datetime) -> None:
        self.first, self.last, self.count = min(self.first, at), max(self.last, at), self.count + 1


def _link_media(conn: sa.Connection, page: list[Any]) -> None:
    seen: dict[tuple[str, str], _Seen] = {}  # (org_id, key) -> when and how often
    pairs: list[tuple[tuple[str, str], str]] = []
    for r in page:
        for k in {f"{name}:{m[name]}" for m in r.media for name in HASHES if m.get(name)}:
            seen.setdefault((r.org_id, k), _Seen(r.received_at)).add(r.received_at)
            pairs.append(((r.org_id, k), r.id))
    if not seen:
        return
    hashes = {ok: key_hash(*ok) for ok in seen}
    existing = _ids(conn, hashes)
    new = sorted((ok for ok in seen if ok not in existing), key=lambda ok: (seen[ok].first, ok))
    if new:
        conn.execute(
            sa.insert(_observables),
            [
                {
                    "org_id": ok[0],
                    "kind": "media",
                    "key": ok[1],
                    "key_hash": hashes[ok],
                    "first_seen": seen[ok].first,
                    "last_seen": seen[ok].last,
                    "report_count": seen[ok].count,
                }
                for ok in new
            ],
        )
    old = [ok for ok in seen if ok in existing]
    if old:
        o = _observables.c
        first = sa.bindparam("f", type_=accord.store.types.UtcDateTime())
        last = sa.bindparam("l", type_=accord.store.types.UtcDateTime())
        conn.execute(
            sa.update(_observables)
            .where(o.id == sa.bindparam("oid"))
            .values(
                first_seen=sa.case((o.first_seen > first, first), else_=o.first_seen),
                last_seen=sa.case((o.last_seen < last, last), else_=o.last_seen),
                report_count=o.report_count + sa.bindparam("n", type_=sa.Integer()),
            ),
            [{"oid": existing[ok], "f": seen[ok].first, "l": seen[ok].last, "n": seen[ok].count} for ok in old],
        )
    ids = {**existing, **_ids(conn, {ok: hashes[ok] for ok in new})}
    conn.execute(sa.insert(_links), [{"report_id": rid, "observable_id": ids[ok]} for ok, rid in pairs])


def _ids(conn: sa.Connection, hashes: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Ids of the media records among these (org_id, key) pairs, found by hash and checked on org and key."""
    out: dict[tuple[str, str], int] = {}
    values = sorted(set(hashes.values()))
    o = _observables.c
    for start in range(0, len(values), 500):
        q = sa.select(o.id, o.org_id, o.key).where(o.key_hash.in_(values[start : start + 500]), o.kind == "media")
        out.update(((r.org_id, r.key), r.id) for r in conn.execute(q) if (r.org_id, r.key) in hashes)
    return out


def downgrade() -> None:
    op.create_table(
        "report_identifiers",
        sa.Column("report_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=2100), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("key_hash", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_report_identifiers_report_id_reports")),
        sa.PrimaryKeyConstraint("report_id", "key", name=op.f("pk_report_identifiers")),
    )
    with op.batch_alter_table("report_identifiers") as batch_op:
        batch_op.create_index("ix_report_identifiers_key_hash", ["key_hash"], unique=False)
    op.get_bind().execute(
        sa.text(
            "INSERT INTO report_identifiers (report_id, key, org_id, key_hash) "
            "SELECT l.report_id, o.key, o.org_id, o.key_hash FROM report_observables l "
            "JOIN observables o ON o.id = l.observable_id WHERE o.kind = 'identifier' "
            "ORDER BY l.report_id, o.key"
        )
    )
    # Media records go with no table to hold them: they were derived from the reports' media JSON, which
    # is untouched, and the next upgrade derives them again.
    with op.batch_alter_table("report_observables") as batch_op:
        batch_op.drop_index("ix_report_observables_observable_id_id")
    op.drop_table("report_observables")
    op.drop_table("observables")
