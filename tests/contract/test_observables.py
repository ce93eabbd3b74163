"""Identifiers and media seen before are linked, not copied (store.observables), on both backends.

One record per distinct key and organisation, shared by every report that holds it, with when it was
first and last seen and how many reports hold it; reports link to it. Checked through the services
(search by identifier and by media hash) and by counting rows.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from accord.errors import Invalid
from accord.model.identifier import Identifier
from accord.model.media import Media
from accord.model.observable import ObservableKind
from accord.model.organisation import Actor, Role
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.services import reports
from accord.store.schema import metadata, observable_pending, observables, report_observables
from tests.conftest import World, report_json

EMAIL = {"kind": "email", "value": "Shared.Person@Example.org"}
EMAIL_KEY = "email:shared.person@example.org"
MD5, SHA256, PDQ = "ab" * 16, "cd" * 32, "ef" * 32


def body(ext: str | None, received_at: str, **kw: Any) -> dict[str, Any]:
    b = report_json(
        ext or "unused",
        received_at=received_at,
        subjects=kw.pop("subjects", [{"role": "suspect", "identifiers": [EMAIL]}]),
        media=kw.pop("media", [{"md5": MD5, "sha256": SHA256, "pdq": PDQ}]),
        **kw,
    )
    if ext is None:
        del b["external_id"]
    return b


def submit(world: World, actor: Actor, b: dict[str, Any]) -> reports.Submission:
    return reports.submit(world.node, actor, parse_obj(ReportIn, b))


def email_hits(world: World, actor: Actor, value: str = EMAIL["value"]) -> reports.Hits:
    return reports.search_identifier(world.node, actor, parse_obj(Identifier, {"kind": "email", "value": value}))


def media_hits(world: World, actor: Actor, **hash_: str) -> reports.Hits:
    return reports.search_media(world.node, actor, parse_obj(Media, hash_))


def rows(world: World, org_id: str) -> list[Any]:
    with world.node.db.read() as conn:
        return list(conn.execute(sa.select(observables).where(observables.c.org_id == org_id)))


def links_of(world: World, org_id: str) -> int:
    q = (
        sa.select(sa.func.count())
        .select_from(report_observables.join(observables, observables.c.id == report_observables.c.observable_id))
        .where(observables.c.org_id == org_id)
    )
    with world.node.db.read() as conn:
        return int(conn.execute(q).scalar_one())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_same_identifier_in_three_reports_is_one_record(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    times = ["2026-11-20T10:00:00Z", "2026-11-18T09:30:00Z", "2026-11-22T23:59:59Z"]  # not in order
    ids = [submit(world, a, body(f"r{i}", t)).report.id for i, t in enumerate(times)]
    hits = email_hits(world, a, "shared.PERSON@example.ORG")
    assert hits.key == EMAIL_KEY
    assert [r.id for r in hits.items] == ids  # oldest stored first
    assert hits.record is not None and hits.record.kind is ObservableKind.identifier
    assert (hits.record.first_seen, hits.record.last_seen) == (at(times[1]), at(times[2]))
    assert hits.record.report_count == 3
    assert len([r for r in rows(world, a.org_id) if r.key == EMAIL_KEY]) == 1


def test_first_and_last_seen_and_count_across_one_bulk_batch(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    times = ["2026-03-02T00:00:00Z", "2026-01-05T00:00:00Z", "2026-07-09T00:00:00Z", "2026-02-01T00:00:00Z"]
    lines = [(i, orjson.dumps(body(f"b{i}", t))) for i, t in enumerate(times, 1)]
    assert reports.ingest_lines(world.node, a, lines, batch_size=10).accepted == 4
    # a later batch with a later report and an older one moves both ends
    later, older = body("b9", "2026-08-01T00:00:00Z"), body("b0", "2025-12-31T00:00:00Z")
    reports.ingest_lines(world.node, a, [(1, orjson.dumps(later)), (2, orjson.dumps(older))], batch_size=10)
    for hits in (email_hits(world, a), media_hits(world, a, md5=MD5)):
        assert hits.record is not None
        assert hits.record.first_seen == at("2025-12-31T00:00:00Z")
        assert hits.record.last_seen == at("2026-08-01T00:00:00Z")
        assert hits.record.report_count == 6 == len(hits.items)


def test_a_report_stored_again_does_not_count_again(world: World) -> None:
    """External id, Idempotency-Key, content without external id, single and bulk: each replay is the
    stored report, and the records count it once."""
    a = world.actor(world.org("A", [Role.analyst])[1])
    first = submit(world, a, body("r1", "2026-11-20T10:00:00Z"))
    assert not submit(world, a, body("r1", "2026-11-20T10:00:00Z")).created
    reports.submit(world.node, a, parse_obj(ReportIn, body("r2", "2026-11-21T10:00:00Z")), idempotency_key="k")
    reports.submit(world.node, a, parse_obj(ReportIn, body("r2", "2026-11-21T10:00:00Z")), idempotency_key="k")
    anonymous = body(None, "2026-11-22T10:00:00Z")
    assert submit(world, a, anonymous).created and not submit(world, a, anonymous).created
    lines = [orjson.dumps(b) for b in (body("r1", "2026-11-20T10:00:00Z"), anonymous, anonymous)]
    lines += [orjson.dumps(body("r3", "2026-11-23T10:00:00Z"))] * 2  # the same new report twice in one batch
    result = reports.ingest_lines(world.node, a, enumerate(lines, 1))
    assert (result.accepted, result.duplicates) == (1, 4)
    for hits in (email_hits(world, a), media_hits(world, a, sha256=SHA256)):
        assert hits.record is not None and hits.record.report_count == 4 == len(hits.items)
        assert hits.items[0].id == first.report.id
    assert links_of(world, a.org_id) == 4 * 4  # e-mail, md5, sha256, pdq for each of the four reports


def test_media_are_found_by_each_of_their_hashes(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    r = submit(world, a, body("m1", "2026-11-20T10:00:00Z", media=[{"md5": MD5, "sha256": SHA256, "pdq": PDQ}]))
    other = submit(world, a, body("m2", "2026-11-21T10:00:00Z", media=[{"md5": "12" * 16, "pdq": PDQ}]))
    for name, value, expected in (("md5", MD5, [r]), ("sha256", SHA256, [r]), ("pdq", PDQ, [r, other])):
        hits = media_hits(world, a, **{name: value.upper()})  # hex in any case
        assert hits.key == f"{name}:{value}"
        assert [x.id for x in hits.items] == [s.report.id for s in expected], name
        assert hits.record is not None and hits.record.kind is ObservableKind.media
        assert hits.record.report_count == len(expected)
    assert media_hits(world, a, md5="99" * 16).record is None
    with pytest.raises(Invalid):  # one hash a search
        media_hits(world, a, md5=MD5, pdq=PDQ)


def test_a_key_held_twice_in_one_report_is_one_link(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    subjects = [{"role": "suspect", "identifiers": [EMAIL]}, {"role": "unknown", "identifiers": [EMAIL]}]
    media = [{"md5": MD5, "pdq": PDQ}, {"sha256": SHA256, "pdq": PDQ}]  # one PDQ, two files
    submit(world, a, body("d1", "2026-11-20T10:00:00Z", subjects=subjects, media=media))
    for hits in (email_hits(world, a), media_hits(world, a, pdq=PDQ)):
        assert hits.record is not None and hits.record.report_count == 1 and len(hits.items) == 1
    assert links_of(world, a.org_id) == 4


def test_victims_identifiers_are_not_linked(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    victim = {"kind": "email", "value": "victim@example.org"}
    submit(world, a, body("v1", "2026-11-20T10:00:00Z", subjects=[{"role": "victim", "identifiers": [victim]}]))
    assert email_hits(world, a, "victim@example.org").record is None
    assert not [r for r in rows(world, a.org_id) if "victim" in r.key]


def test_records_belong_to_one_organisation(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    b = world.actor(world.org("B", [Role.analyst])[1])
    submit(world, a, body("s1", "2026-11-20T10:00:00Z"))
    submit(world, a, body("s2", "2026-11-21T10:00:00Z"))
    rb = submit(world, b, body("s1", "2026-10-01T10:00:00Z")).report
    only_b = body("s2", "2026-10-02T10:00:00Z", subjects=[{"role": "suspect", "identifiers": [EMAIL]}])
    only_b["media"] = [{"sha256": "77" * 32}]
    submit(world, b, only_b)
    hits = email_hits(world, a)
    assert hits.record is not None and hits.record.report_count == 2
    assert hits.record.first_seen == at("2026-11-20T10:00:00Z")  # B's earlier sighting is B's
    assert {r.org_id for r in hits.items} == {a.org_id}
    hb = media_hits(world, b, md5=MD5)
    assert hb.record is not None and hb.record.report_count == 1 and [r.id for r in hb.items] == [rb.id]
    nothing = media_hits(world, a, sha256="77" * 32)  # B holds it; for A it was never seen
    assert nothing.record is None and nothing.items == []
    assert (len(rows(world, a.org_id)), len(rows(world, b.org_id))) == (4, 5)


def test_keys_are_stored_once_however_many_reports_hold_them(world: World) -> None:
    """Would fail if keys were copied per report: 40 reports with the same three identifiers and one
    medium (md5 and PDQ) are five records and 200 links, and no other table holds the key strings."""
    a = world.actor(world.org("A", [Role.analyst])[1])
    lines = [(i, orjson.dumps(report_json(f"k{i}"))) for i in range(40)]
    assert reports.ingest_lines(world.node, a, lines, batch_size=15).accepted == 40
    records = rows(world, a.org_id)
    assert len(records) == 5 and {r.report_count for r in records} == {40}
    assert links_of(world, a.org_id) == 200
    assert "report_identifiers" not in metadata.tables
    with world.node.db.read() as conn:
        assert "report_identifiers" not in sa.inspect(conn).get_table_names()
        for table in metadata.sorted_tables:
            for column in table.c:
                if isinstance(column.type, sa.String) and table is not observables:
                    hit = conn.execute(sa.select(sa.func.count()).where(column == "email:subject.a@example.org"))
                    assert hit.scalar_one() == 0, f"{table.name}.{column.name} holds a key"


def test_concurrent_writers_of_the_same_new_key_share_one_record(world: World) -> None:
    """On PostgreSQL the writers really overlap: the first stores the record, the others' upserts wait on
    it and count into it. SQLite serialises them. Either way: one record, every report counted."""
    a = world.actor(world.org("A", [Role.analyst])[1])
    errors: list[Exception] = []
    fresh = {"kind": "phone", "value": "+49 30 9018277"}
    start = threading.Barrier(10)

    def single(i: int) -> None:
        try:
            start.wait()
            submit(world, a, body(f"c{i}", f"2026-11-{10 + i:02d}T00:00:00Z", subjects=[{"identifiers": [fresh]}]))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    def bulk(i: int) -> None:
        try:
            start.wait()
            lines = [
                (j, orjson.dumps(body(f"c{i}-{j}", "2026-10-01T00:00:00Z", subjects=[{"identifiers": [fresh]}])))
                for j in range(30)
            ]
            reports.ingest_lines(world.node, a, lines, batch_size=7)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=single, args=(i,)) for i in range(8)]
    threads += [threading.Thread(target=bulk, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    hits = reports.search_identifier(world.node, a, parse_obj(Identifier, fresh), limit=500)
    assert hits.record is not None and hits.record.report_count == 8 + 60 == len(hits.items)
    assert hits.record.first_seen == at("2026-10-01T00:00:00Z")
    assert hits.record.last_seen == at("2026-11-17T00:00:00Z")
    media = media_hits(world, a, md5=MD5)
    assert media.record is not None and media.record.report_count == 68
    assert len(rows(world, a.org_id)) == 4  # the phone number and the medium's three hashes


def test_two_batches_in_one_transaction_each_count_once(world: World) -> None:
    """The store links whatever it is given in the caller's transaction; a second call in the same
    transaction counts its own reports only (PostgreSQL stages keys in a per-session table)."""
    from accord.ids import ReportId
    from accord.intake.prepare import prepare
    from accord.intake.record import flatten
    from accord.store import reports as report_store

    a = world.actor(world.org("A", [Role.analyst])[1])
    node = world.node
    items = []
    for i, t in enumerate(("2026-11-20T10:00:00Z", "2026-11-21T10:00:00Z")):
        p = prepare(parse_obj(ReportIn, body(f"t{i}", t)), node.vocab)
        items.append(
            report_store.NewReport(ReportId(node.ids("rpt")), a.org_id, a.id, node.clock.now(), None, flatten(p))
        )
    with node.db.write() as conn:
        report_store.insert_many(conn, items[:1])
        report_store.insert_many(conn, items[1:])
    for hits in (email_hits(world, a), media_hits(world, a, pdq=PDQ)):
        assert hits.record is not None and hits.record.report_count == 2
        assert [r.id for r in hits.items] == [i.id for i in items]


class Stop(Exception):
    """Raised by a line source to end an import between batches, as a killed ingest would."""


def stopping(bodies: list[dict[str, Any]]) -> Any:
    yield from ((i, orjson.dumps(b)) for i, b in enumerate(bodies, 1))
    raise Stop


def pending_rows(world: World) -> int:
    with world.node.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(observable_pending)).scalar_one())


def seen(hits: reports.Hits) -> tuple[datetime, datetime, int, int]:
    assert hits.record is not None
    return hits.record.first_seen, hits.record.last_seen, hits.record.report_count, len(hits.items)


def test_an_import_stopped_before_its_fold_reads_the_same(world: World, backend: str) -> None:
    """An import's batches add to records stored before them as pending rows (SQLite), folded in at its end.
    Stopped after its batches committed but before that fold, a search still counts every stored report;
    the next import's fold changes nothing a search sees, and leaves nothing pending."""
    a = world.actor(world.org("A", [Role.analyst])[1])
    times = [f"2026-0{m}-1{d}T00:00:00Z" for m, d in ((5, 1), (3, 2), (8, 3), (1, 4), (6, 5), (2, 6), (9, 7))]
    assert reports.ingest_lines(world.node, a, [(1, orjson.dumps(body("p0", times[0])))]).accepted == 1
    with pytest.raises(Stop):
        later = [body(f"p{i}", t) for i, t in enumerate(times[1:], 1)]
        reports.ingest_lines(world.node, a, stopping(later), batch_size=2)
    # the six reports after the first are stored: three batches, each adding to the four existing records
    expected = (at("2026-01-14T00:00:00Z"), at("2026-09-17T00:00:00Z"), 7, 7)
    if backend == "sqlite":
        assert pending_rows(world) == 3 * 4  # what makes this test mean something there
    assert seen(email_hits(world, a)) == expected
    assert seen(media_hits(world, a, pdq=PDQ)) == expected
    phone = {"kind": "phone", "value": "+31 20 5550100"}
    late = body("p9", "2026-10-01T00:00:00Z", subjects=[{"identifiers": [phone]}])
    assert reports.ingest_lines(world.node, a, [(1, orjson.dumps(late))]).accepted == 1
    assert pending_rows(world) == 0
    assert seen(email_hits(world, a)) == expected  # folded: the same answer from the record alone
    assert seen(media_hits(world, a, pdq=PDQ)) == (expected[0], at("2026-10-01T00:00:00Z"), 8, 8)
    assert {r.key: r.report_count for r in rows(world, a.org_id)}[EMAIL_KEY] == 7


def test_pending_rows_past_the_bound_are_folded_during_the_import(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accord.store import observables as observable_store

    monkeypatch.setattr(observable_store, "PENDING_BOUND", 8)
    a = world.actor(world.org("A", [Role.analyst])[1])
    bodies = [body(f"q{i}", f"2026-04-{10 + i:02d}T00:00:00Z") for i in range(9)]
    with pytest.raises(Stop):
        reports.ingest_lines(world.node, a, stopping(bodies), batch_size=1)
    # eight batches after the first add 4 pending rows each; each time they reach 8 they are folded
    assert pending_rows(world) == 0
    assert seen(email_hits(world, a)) == (at("2026-04-10T00:00:00Z"), at("2026-04-18T00:00:00Z"), 9, 9)
    assert {r.report_count for r in rows(world, a.org_id)} == {9}  # the records alone are exact


def test_fold_adds_each_records_pending_rows_once(world: World) -> None:
    """The fold statement on either backend (PostgreSQL's intake never writes pending rows, but the
    statement must still be right there): sums, earliest and latest per record, then an empty table."""
    from accord.store import observables as observable_store

    a = world.actor(world.org("A", [Role.analyst])[1])
    submit(world, a, body("f1", "2026-05-01T00:00:00Z"))
    ids = {r.key: r.id for r in rows(world, a.org_id)}
    pending = [
        (ids[EMAIL_KEY], "2026-04-01T00:00:00Z", "2026-05-02T00:00:00Z", 2),
        (ids[EMAIL_KEY], "2026-04-15T00:00:00Z", "2026-06-01T00:00:00Z", 3),
        (ids[f"md5:{MD5}"], "2026-05-01T00:00:00Z", "2026-05-01T00:00:00Z", 1),
    ]
    with world.node.db.write() as conn:
        conn.execute(
            sa.insert(observable_pending),
            [
                {"observable_id": i, "first_seen": at(f), "last_seen": at(la), "report_count": n}
                for i, f, la, n in pending
            ],
        )
        observable_store.fold(conn)
    assert pending_rows(world) == 0
    got = {r.key: (r.first_seen, r.last_seen, r.report_count) for r in rows(world, a.org_id)}
    assert got[EMAIL_KEY] == (at("2026-04-01T00:00:00Z"), at("2026-06-01T00:00:00Z"), 6)
    assert got[f"md5:{MD5}"] == (at("2026-05-01T00:00:00Z"), at("2026-05-01T00:00:00Z"), 2)
    assert got[f"pdq:{PDQ}"] == (at("2026-05-01T00:00:00Z"), at("2026-05-01T00:00:00Z"), 1)
