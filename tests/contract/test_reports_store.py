"""Report storage through the services, on both backends: intake, dedupe, idempotency, paging, search, scoping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from accord.errors import Conflict, Forbidden, Invalid, NotFound
from accord.model.identifier import Identifier
from accord.model.organisation import Role
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.services import reports
from accord.store.reports import ReportFilter
from tests.conftest import World, report_json


def rin(ext: str, **kw: object) -> ReportIn:
    return parse_obj(ReportIn, report_json(ext, **kw))


def test_submit_get_roundtrip_keeps_normalised_identifiers(world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    a = world.actor(token)
    sub = reports.submit(world.node, a, rin("r1"))
    assert sub.created
    got = reports.get(world.node, a, sub.report.id)
    assert got == sub.report
    keys = {i.key for s in got.subjects for i in s.identifiers}
    assert "email:subject.a@example.org" in keys and "phone:+4930901820" in keys


def test_external_id_dedupes_and_conflicts(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    first = reports.submit(world.node, a, rin("r1"))
    again = reports.submit(world.node, a, rin("r1"))
    assert not again.created and again.report.id == first.report.id
    with pytest.raises(Conflict):
        reports.submit(world.node, a, rin("r1", incident_type="grooming"))


def test_idempotency_key_replays_and_refuses_other_body(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    first = reports.submit(world.node, a, rin("r1"), idempotency_key="k")
    assert reports.submit(world.node, a, rin("r1"), idempotency_key="k").report.id == first.report.id
    with pytest.raises(Conflict):
        reports.submit(world.node, a, rin("r2"), idempotency_key="k")


def test_concurrent_identical_submissions_store_one(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    ids: list[str] = []
    errors: list[Exception] = []

    def send() -> None:
        try:
            ids.append(reports.submit(world.node, a, rin("same"), idempotency_key="one").report.id)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(ids)) == 1 and len(ids) == 16
    page = reports.list_page(world.node, a, ReportFilter(), None, 100)
    assert len(page.items) == 1


def test_other_organisation_sees_404_never_403(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    b = world.actor(world.org("B", [Role.analyst])[1])
    r = reports.submit(world.node, a, rin("r1")).report
    with pytest.raises(NotFound):
        reports.get(world.node, b, r.id)
    assert reports.list_page(world.node, b, ReportFilter(), None, 100).items == []
    ident = parse_obj(Identifier, {"kind": "email", "value": "subject.a@example.org"})
    assert reports.search_identifier(world.node, b, ident).items == []
    assert [x.id for x in reports.search_identifier(world.node, a, ident).items] == [r.id]


def test_same_external_id_in_two_organisations_is_two_reports(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    b = world.actor(world.org("B", [Role.analyst])[1])
    assert reports.submit(world.node, a, rin("r1")).created
    assert reports.submit(world.node, b, rin("r1")).created


def test_paging_and_filters(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    for i in range(7):
        reports.submit(
            world.node,
            a,
            rin(
                f"r{i}",
                received_at=f"2026-11-0{i + 1}T00:00:00Z",
                incident_type="grooming" if i % 2 else "csam",
                urgency=["imminent-danger"] if i == 3 else [],
                source="hotline" if i == 5 else "platform",
            ),
        )
    seen: list[str] = []
    cursor = None
    while True:
        page = reports.list_page(world.node, a, ReportFilter(), cursor, 3)
        seen += [r.external_id or "" for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"r{i}" for i in range(7)]

    def ext(f: ReportFilter) -> list[str]:
        return [r.external_id or "" for r in reports.list_page(world.node, a, f, None, 100).items]

    assert ext(ReportFilter(incident_type="grooming")) == ["r1", "r3", "r5"]
    assert ext(ReportFilter(urgent=True)) == ["r3"]
    assert ext(ReportFilter(urgency="imminent-danger")) == ["r3"]
    assert ext(ReportFilter(source="hotline")) == ["r5"]
    assert ext(
        ReportFilter(
            received_after=datetime(2026, 11, 3, tzinfo=UTC), received_before=datetime(2026, 11, 5, tzinfo=UTC)
        )
    ) == ["r2", "r3"]


def test_unknown_vocabulary_codes_write_nothing(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    with pytest.raises(Invalid) as exc:
        reports.submit(world.node, a, rin("r1", incident_type="no-such", urgency=["recent", "nope"]))
    assert set(exc.value.errors) == {"/incident_type", "/urgency/1"}
    assert reports.list_page(world.node, a, ReportFilter(), None, 10).items == []


def test_roles_are_enforced(world: World) -> None:
    org, sub_token = world.org("A", [Role.submitter])
    submitter = world.actor(sub_token)
    r = reports.submit(world.node, submitter, rin("r1")).report
    with pytest.raises(Forbidden):
        reports.get(world.node, submitter, r.id)
    auditor = world.actor(world.key(org, [Role.auditor]))
    with pytest.raises(Forbidden):
        reports.submit(world.node, auditor, rin("r2"))


@pytest.mark.parametrize("parse_workers", [0, 1], ids=["in-process", "parse-helper"])
def test_bulk_ingest_reports_bad_lines_and_keeps_good_ones(world: World, parse_workers: int) -> None:
    import orjson

    a = world.actor(world.org("A", [Role.analyst])[1])
    lines = [orjson.dumps(report_json(f"b{i}")) for i in range(5)]
    lines.insert(2, b'{"not json')
    lines.insert(
        4,
        orjson.dumps(
            report_json("bad-phone", subjects=[{"role": "suspect", "identifiers": [{"kind": "phone", "value": "12"}]}])
        ),
    )
    lines.append(orjson.dumps(report_json("b0")))  # duplicate of line 1
    lines.insert(6, b"   ")  # blank: skipped, but still counts for numbering
    acks: list[int] = []
    result = reports.ingest_lines(
        world.node,
        a,
        enumerate(lines, 1),
        batch_size=2,
        parse_workers=parse_workers,
        on_batch=lambda r: acks.append(r.accepted + r.duplicates),
    )
    assert result.accepted == 5 and result.duplicates == 1 and result.lines == 8
    assert [(r.line, r.pointer) for r in result.rejected] == [(3, ""), (5, "/subjects/0/identifiers/0")]
    assert acks == sorted(acks) and acks[-1] == 6
    assert len(reports.list_page(world.node, a, ReportFilter(), None, 100).items) == 5


def test_identifier_search_survives_key_hash_collisions(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index is a 64-bit hash; force every key to collide and search must still be exact and scoped."""
    import accord.store.observables as store_observables

    monkeypatch.setattr(store_observables, "key_hash", lambda org_id, key: 7)
    a = world.actor(world.org("A", [Role.analyst])[1])
    b = world.actor(world.org("B", [Role.analyst])[1])
    ra = reports.submit(world.node, a, rin("c-1")).report
    reports.submit(world.node, b, rin("c-1"))
    reports.submit(
        world.node,
        a,
        rin("c-2", subjects=[{"role": "suspect", "identifiers": [{"kind": "email", "value": "other@example.org"}]}]),
    )
    ident = parse_obj(Identifier, {"kind": "email", "value": "subject.a@example.org"})
    hits = reports.search_identifier(world.node, a, ident)
    assert [x.id for x in hits.items] == [ra.id]
    assert hits.record is not None and hits.record.report_count == 1


def test_reports_without_external_id_are_known_by_content(world: World) -> None:
    """No external id: the same content again (single or bulk, in one batch or across batches) is the first report."""
    import orjson

    a = world.actor(world.org("A", [Role.analyst])[1])
    b = world.actor(world.org("B", [Role.analyst])[1])
    body = report_json("x")
    del body["external_id"]
    first = reports.submit(world.node, a, parse_obj(ReportIn, body))
    again = reports.submit(world.node, a, parse_obj(ReportIn, {**body, "media": body["media"]}))
    assert first.created and not again.created and again.report.id == first.report.id
    assert reports.submit(world.node, b, parse_obj(ReportIn, body)).created  # another organisation: its own
    other = {**body, "incident_type": "grooming"}
    lines = [orjson.dumps(d) for d in (body, other, other, body)]
    result = reports.ingest_lines(world.node, a, enumerate(lines, 1), batch_size=2)
    assert (result.accepted, result.duplicates) == (1, 3)
    assert len(reports.list_page(world.node, a, ReportFilter(), None, 100).items) == 2


def test_a_bulk_batch_is_stamped_once_and_its_trail_verifies(world: World) -> None:
    """Bulk intake reads the clock once per batch: a report, its "received" leaf and its "report.create"
    event carry the same time; the events (written through the driver on SQLite) hash-verify as read back,
    so what was stored is what was hashed; and every leaf is the canonical entry of its stored row."""
    import orjson

    from accord.custody.entry import parse_leaf
    from accord.services import audit
    from accord.store import audit as audit_store
    from accord.store import custody as custody_store

    a = world.actor(world.org("A", [Role.analyst])[1])
    bodies = [report_json(f"b{i}") for i in range(5)] + [report_json("b0"), report_json(None)]
    lines = enumerate((orjson.dumps(b) for b in bodies), 1)
    result = reports.ingest_lines(world.node, a, lines, batch_size=3)
    assert (result.accepted, result.duplicates, result.rejected_lines) == (6, 1, 0)
    verification = audit.verify(world.node)
    assert verification.breaks == [] and verification.checked >= 6
    stored = reports.list_page(world.node, a, ReportFilter(), None, 10).items
    assert len(stored) == 6
    with world.node.db.read() as conn:
        query = audit_store.AuditQuery(action="report.create")
        events = {e.object_id: e for e in audit_store.query(conn, a.org_id, query, None, 50)}
        every = custody_store.leaves_for_objects(conn, a, "report", [r.id for r in stored], 1 << 40)
    leaves = [leaf for leaf in every if leaf.action == "received"]  # listing them added "viewed" leaves
    assert len(events) == 6 and len(leaves) == 6
    by_report = {leaf.object_id: leaf for leaf in leaves}
    for r in stored:
        assert events[r.id].at == r.ingested_at
        assert events[r.id].detail == {"incident_type": r.incident_type, "urgent": r.urgent}
        entry = parse_leaf(by_report[r.id].leaf)
        assert (entry.action.value, entry.object_id, entry.digest) == ("received", r.id, r.digest)
        assert entry.at == r.ingested_at
        assert by_report[r.id].at == r.ingested_at and entry.detail == {"source": r.source}
