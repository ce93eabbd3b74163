"""The migrated schema equals the declared one, and each backend runs with its durability settings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from accord.model.bank import BankIn
from accord.model.identifier import Identifier
from accord.model.media import Media
from accord.model.organisation import Actor, Role
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.services import banks, reports
from accord.services.node import Node
from accord.store import migrate, schema
from accord.store.keyhash import key_hash
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
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1  # purged content leaves the file
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
    assert [r.id for r in reports.search_identifier(world.node, a, ident).items] == [ra.id]
    assert [r.id for r in reports.search_identifier(world.node, b, ident).items] == [rb.id]


def test_upgrade_to_observables_links_what_the_reports_hold(world: World) -> None:
    """0008 (observables) moved identifiers from report_identifiers (a row per report and key) to shared
    records, and derived media records from the reports' media JSON. A node at 0007 (before it) with
    reports (stored by the current code and downgraded, and one written the way the old code wrote it),
    upgraded, answers every
    search as before, with each record's times and count, and keeps the organisations apart."""
    a = world.actor(world.org("A", [Role.analyst])[1])
    b = world.actor(world.org("B", [Role.analyst])[1])
    bodies = [
        report_json("u-1", received_at="2026-11-20T10:00:00Z"),
        report_json("u-2", received_at="2026-11-18T10:00:00Z", media=[{"sha256": "ab" * 32}, {"md5": "0" * 31 + "1"}]),
        report_json(
            "u-3",
            received_at="2026-11-25T10:00:00Z",
            subjects=[
                {"role": "suspect", "identifiers": [{"kind": "email", "value": "subject.a@example.org"}]},
                {"role": "victim", "identifiers": [{"kind": "email", "value": "victim@example.org"}]},
            ],
            media=[],
        ),
    ]
    for body in bodies:
        reports.submit(world.node, a, parse_obj(ReportIn, body))
    reports.submit(world.node, b, parse_obj(ReportIn, bodies[0]))
    idents = [
        parse_obj(Identifier, i)
        for i in (
            {"kind": "email", "value": "subject.a@example.org"},
            {"kind": "phone", "value": "+49 30 901820"},
            {"kind": "account", "service": "platform-01", "value": "u-100"},
            {"kind": "email", "value": "victim@example.org"},
        )
    ]
    media = [parse_obj(Media, m) for m in ({"md5": "0" * 31 + "1"}, {"pdq": "f" * 64}, {"sha256": "ab" * 32})]

    def answers(actor: Actor) -> list[reports.Hits]:
        found = [reports.search_identifier(world.node, actor, i) for i in idents]
        return found + [reports.search_media(world.node, actor, m) for m in media]

    before_a, before_b = answers(a), answers(b)
    assert [len(h.items) for h in before_a] == [3, 2, 2, 0, 2, 1, 1]
    assert [len(h.items) for h in before_b] == [1, 1, 1, 0, 1, 1, 0]

    migrate.downgrade(world.node.db, "0007")  # just before observables
    with world.node.db.reader.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        assert "report_identifiers" in tables and not {"observables", "report_observables"} & tables
        assert conn.execute(sa.text("SELECT count(*) FROM report_identifiers")).scalar_one() == 3 + 3 + 1 + 3
    # One more report of A's, stored as 0004's code stored it: its row, and a report_identifiers row per key.
    old_id, old_at = world.node.ids("rpt"), datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    old_keys = [i.key for i in idents[:3]]
    row_table = sa.table("report_identifiers", *(sa.column(c) for c in ("report_id", "key", "org_id", "key_hash")))
    with world.node.db.write() as conn:
        u1 = sa.and_(schema.reports.c.external_id == "u-1", schema.reports.c.org_id == a.org_id)
        before_0009 = [c for c in schema.reports.c if c.name != "agreement_id"]  # 0009 added agreement_id
        row = conn.execute(sa.select(*before_0009).where(u1)).one()
        conn.execute(
            sa.insert(schema.reports).values(
                {**row._asdict(), "id": old_id, "external_id": "u-0", "received_at": old_at, "digest": "0" * 64}
            )
        )
        conn.execute(
            sa.insert(row_table),
            [{"report_id": old_id, "key": k, "org_id": a.org_id, "key_hash": key_hash(a.org_id, k)} for k in old_keys],
        )
    migrate.upgrade(world.node.db)

    assert answers(b) == before_b
    for hits, before in zip(answers(a), before_a, strict=True):
        holds = hits.key in old_keys or hits.key in ("md5:" + "0" * 31 + "1", "pdq:" + "f" * 64)
        if not holds:
            assert hits == before, hits.key
            continue
        assert [r.id for r in hits.items] == [r.id for r in before.items] + [old_id], hits.key
        assert hits.record is not None and before.record is not None
        assert hits.record.report_count == before.record.report_count + 1
        assert (hits.record.first_seen, hits.record.last_seen) == (old_at, before.record.last_seen)


def test_upgrade_to_observables_across_many_batches_of_reports(world: World) -> None:
    """More reports than 0008 reads at a time: media records met again in a later batch are updated,
    not duplicated, and their counts and times span every batch."""
    import orjson

    a = world.actor(world.org("A", [Role.analyst])[1])
    n = 1250
    lines = [
        (i, orjson.dumps(report_json(f"n-{i}", received_at=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z")))
        for i in range(n)
    ]
    assert reports.ingest_lines(world.node, a, lines).accepted == n
    pdq = parse_obj(Media, {"pdq": "f" * 64})
    before = reports.search_media(world.node, a, pdq, limit=10)
    migrate.downgrade(world.node.db, "0007")  # just before observables
    migrate.upgrade(world.node.db)
    after = reports.search_media(world.node, a, pdq, limit=10)
    assert after == before and after.record is not None and after.record.report_count == n
    with world.node.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.observables)).scalar_one() == 5
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.report_observables)).scalar_one() == 5 * n


def test_0009_keeps_unseal_requests_and_their_approvals(world: World) -> None:
    """0009 drops the foreign keys from case links and unseal requests to reports (a purged report leaves
    them behind). On SQLite that rebuilds ``unseal_requests``, which ``unseal_approvals`` refers to: with
    rows in both, down to 0008 and back up must keep every row, and leave the foreign keys checked after."""
    org_id, token = world.org("A", [Role.analyst, Role.custodian])
    a = world.actor(token)
    rid = reports.submit(world.node, a, parse_obj(ReportIn, report_json("fk-1"))).report.id
    now = world.node.clock.now()
    with world.node.db.write() as conn:
        conn.execute(
            sa.insert(schema.custodians).values(
                id="cus_1", org_id=org_id, actor_id=a.id, public_key="k" * 44, registered_by=a.id, registered_at=now
            )
        )
        conn.execute(
            sa.insert(schema.unseal_requests).values(
                id="unr_1",
                org_id=org_id,
                report_id=rid,
                fields=["/narrative"],
                nonce="n",
                requested_by=a.id,
                requested_at=now,
                status="pending",
                emergency=False,
            )
        )
        conn.execute(
            sa.insert(schema.unseal_approvals).values(
                request_id="unr_1",
                approver_id=a.id,
                custodian_id="cus_1",
                org_id=org_id,
                signature="s",
                approved_at=now,
            )
        )

    def report_fks(conn: sa.Connection) -> list[str]:
        insp = sa.inspect(conn)
        return [
            t
            for t in ("case_reports", "unseal_requests")
            for fk in insp.get_foreign_keys(t)
            if fk["referred_table"] == "reports"
        ]

    migrate.downgrade(world.node.db, "0008")
    with world.node.db.reader.connect() as conn:
        assert report_fks(conn) == ["case_reports", "unseal_requests"]
    migrate.upgrade(world.node.db)
    with world.node.db.reader.connect() as conn:
        assert report_fks(conn) == []
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.unseal_approvals)).scalar_one() == 1
        assert conn.execute(sa.select(schema.unseal_requests.c.report_id)).scalar_one() == rid
    with world.node.db.write() as conn:
        if world.node.db.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on after the migration


def test_downgrade_from_0012_folds_what_an_import_left_pending(world: World) -> None:
    """observable_pending holds what a stopped SQLite import added to earlier records; going below 0012
    drops the table, so its rows are folded into the records first and no count is lost."""
    import orjson

    a = world.actor(world.org("A", [Role.analyst])[1])
    bodies = [report_json(f"d{i}", received_at=f"2026-11-0{i + 1}T00:00:00Z") for i in range(5)]

    def stopped() -> Iterator[tuple[int, bytes]]:
        yield from enumerate((orjson.dumps(b) for b in bodies), 1)
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        reports.ingest_lines(world.node, a, stopped(), batch_size=1)
    with world.node.db.read() as conn:
        pending = conn.execute(sa.select(sa.func.count()).select_from(schema.observable_pending)).scalar_one()
    assert pending == (20 if world.node.db.is_sqlite else 0)  # five keys, four batches after the first
    migrate.downgrade(world.node.db, "0010")
    with world.node.db.reader.connect() as conn:
        assert "observable_pending" not in sa.inspect(conn).get_table_names()
        records = conn.execute(sa.text("SELECT report_count, first_seen, last_seen FROM observables")).all()
    assert len(records) == 5 and {r[0] for r in records} == {5}
    migrate.upgrade(world.node.db)
    ident = parse_obj(Identifier, {"kind": "phone", "value": "+49 30 901820"})
    hits = reports.search_identifier(world.node, a, ident)
    assert hits.record is not None and hits.record.report_count == 5
    assert (hits.record.first_seen, hits.record.last_seen) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 5, tzinfo=UTC),
    )


def test_upgrade_to_0024_gives_shares_made_before_it_an_id(world: World) -> None:
    """0024 gave bank shares and report share rules an id (what the API and ``accord peer unshare`` name):
    rows written under 0021 get a distinct one on upgrade, and a bank share is in force (not removed)."""
    node = world.node
    org, _ = world.org("A", [Role.analyst])
    bank = banks.create_local(node, org, BankIn(name="b", type="sha256"))
    migrate.downgrade(node.db, "0021")
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    with node.db.write() as conn:
        for agr in ("agr_1", "agr_2"):
            values = {"agr": agr, "org": org, "bank": bank.id, "at": at}
            conn.execute(
                sa.text(
                    "INSERT INTO sync_shares (bank_id, agreement_id, org_id, category, at) "
                    "VALUES (:bank, :agr, :org, 'csam', :at)"
                ),
                values,
            )
            conn.execute(
                sa.text(
                    "INSERT INTO sync_report_shares (agreement_id, category, org_id, marking_max, at) "
                    "VALUES (:agr, 'csam', :org, 'AMBER', :at)"
                ),
                values,
            )
    migrate.upgrade(node.db)
    with node.db.read() as conn:
        shares = conn.execute(sa.select(schema.sync_shares.c.id, schema.sync_shares.c.removed_at)).all()
        rules = conn.execute(sa.select(schema.sync_report_shares.c.id)).scalars().all()
    ids = [s.id for s in shares] + list(rules)
    assert len(set(ids)) == 4 and all(i.startswith("shr_") for i in ids), ids
    assert [s.removed_at for s in shares] == [None, None]
