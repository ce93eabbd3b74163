"""Retention (``accord/services/retention.py``) on both backends: rules and their validation, a purge run by
an injected clock (exact boundaries, dry runs, second runs), what a purge removes and what it leaves, its
custody leaves, 410 Gone, re-submission, evidence bundles, agreements, and a crash between batches."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from accord.clock import FixedClock
from accord.custody.bundle import verify_bundle
from accord.custody.entry import parse_leaf
from accord.errors import Forbidden, Gone, Invalid, NotFound
from accord.model.bank import BankIn, EntriesIn
from accord.model.case import CaseIn
from accord.model.identifier import Identifier
from accord.model.media import Media
from accord.model.organisation import Actor, Role
from accord.model.parse import parse_obj
from accord.model.report import Report, ReportIn
from accord.model.retention import RetentionRulesIn
from accord.model.unseal import UnsealRequestIn
from accord.model.verdict import VerdictIn, VerdictKind
from accord.services import banks, cases, custody, exports, reports, retention, reviews, unsealing, verdicts
from accord.services.node import Node
from accord.store import schema
from accord.store import verdicts as verdict_store
from accord.store.reports import ReportFilter
from tests.conftest import World, report_json
from tests.sealing import sealed_report

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CANARY = "retention-canary-7f3a@example.org"
NOT_RECORDED = "the item is marked purged, but no verified custody entry records its purge"


def submit(node: Node, actor: Actor, *bodies: dict[str, object], idem: str | None = None) -> list[Report]:
    """Reports stored through the service (intake records each one's "received" leaf)."""
    return [reports.submit(node, actor, parse_obj(ReportIn, b), idempotency_key=idem).report for b in bodies]


def people(world: World, name: str = "A") -> tuple[str, Actor, Actor]:
    org_id, token = world.org(name, [Role.analyst, Role.investigator])
    return org_id, world.actor(token), world.actor(world.key(org_id, [Role.admin]))


def rows(node: Node, table: sa.Table, where: sa.ColumnElement[bool]) -> int:
    with node.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one())


def purged_leaves(node: Node) -> list[tuple[int, dict[str, object]]]:
    with node.db.read() as conn:
        got = conn.execute(
            sa.select(schema.custody_leaves.c.seq, schema.custody_leaves.c.leaf)
            .where(schema.custody_leaves.c.action == "purged")
            .order_by(schema.custody_leaves.c.seq)
        ).all()
    return [(seq, parse_leaf(leaf).to_json()) for seq, leaf in got]


def agreement(node: Node, retention_days: int, *org_ids: str) -> str:
    """An agreement between organisations (no API records them yet: the federation work will)."""
    agr = node.ids("agr")
    with node.db.write() as conn:
        conn.execute(
            sa.insert(schema.agreements).values(
                id=agr,
                parties=list(org_ids),
                purposes=["investigation"],
                legal_bases=["consent"],
                max_marking="AMBER",
                retention_days=retention_days,
                onward_sharing=False,
                valid_from=T0,
                created_at=T0,
            )
        )
        conn.execute(sa.insert(schema.agreement_parties), [{"agreement_id": agr, "org_id": o} for o in org_ids])
    return agr


# ----------------------------------------------------------------------------- rules


def test_rules_are_replaced_as_a_set_and_audited(world: World) -> None:
    node = world.node
    org_id, _, admin = people(world)
    rin = parse_obj(
        RetentionRulesIn, {"rules": [{"category": "report", "days": 30}, {"category": "sealed", "days": 7}]}
    )
    first = retention.set_rules(node, admin, rin)
    assert [(r.category, r.days, r.set_by) for r in first.rules] == [("report", 30, admin.id), ("sealed", 7, admin.id)]
    second = retention.set_rules(
        node, admin, parse_obj(RetentionRulesIn, {"rules": [{"category": "report", "days": 60}]})
    )
    assert [(r.id, r.days) for r in second.rules] == [(first.rules[0].id, 60)]  # the rule kept its id
    assert retention.get_rules(node, admin) == second
    with node.db.read() as conn:
        events = conn.execute(
            sa.select(schema.audit_events.c.action, schema.audit_events.c.detail)
            .where(schema.audit_events.c.org_id == org_id, schema.audit_events.c.action.like("retention.%"))
            .order_by(schema.audit_events.c.seq)
        ).all()
    assert [e.action for e in events] == ["retention.rules.set", "retention.rules.set", "retention.rules.read"]
    assert {k: events[1].detail[k] for k in ("added", "changed", "removed")} == {"added": 0, "changed": 1, "removed": 1}


def test_rules_are_validated_field_by_field(world: World) -> None:
    node = world.node
    org_id, analyst, admin = people(world)
    other, _ = world.org("B", [Role.analyst])
    foreign = agreement(node, 30, other, world.org("C", [Role.analyst])[0])
    mine = agreement(node, 30, org_id, other)
    with pytest.raises(Invalid) as bad:
        retention.set_rules(
            node,
            admin,
            parse_obj(RetentionRulesIn, {"rules": [{"category": "report", "days": 1}, {"category": "x", "days": 1}]}),
        )
    assert list(bad.value.errors) == ["/rules/1/category"]
    for agr in (foreign, node.ids("agr")):  # another organisations' agreement reads as none at all
        body = {
            "rules": [
                {"category": "report", "days": 1, "agreement_id": mine},
                {"category": "sealed", "days": 1, "agreement_id": agr},
            ]
        }
        with pytest.raises(NotFound, match=r"^/rules/1/agreement_id: no agreement"):
            retention.set_rules(node, admin, parse_obj(RetentionRulesIn, body))
    with pytest.raises(Invalid) as dup:
        parse_obj(RetentionRulesIn, {"rules": [{"category": "report", "days": 1}, {"category": "report", "days": 2}]})
    assert "rules 0 and 1" in dup.value.detail
    with pytest.raises(Invalid) as days:
        parse_obj(RetentionRulesIn, {"rules": [{"category": "report", "days": 0}]})
    assert list(days.value.errors) == ["/rules/0/days"]
    with pytest.raises(Forbidden, match=r"retention\.manage"):
        retention.set_rules(node, analyst, parse_obj(RetentionRulesIn, {"rules": []}))
    assert retention.get_rules(node, admin).rules == []  # nothing half-written
    with node.db.read() as conn:
        refused = (
            conn.execute(
                sa.select(schema.audit_events.c.detail).where(
                    schema.audit_events.c.org_id == org_id, schema.audit_events.c.outcome == "refused"
                )
            )
            .scalars()
            .all()
        )
    assert [d["reason"] for d in refused] == ["invalid", "not-found", "not-found", "forbidden"]
    # the operator's console edits one rule at a time, with the same checks
    assert [r.days for r in retention.set_rule_local(node, org_id, "sealed", 5).rules] == [5]
    with pytest.raises(Invalid):
        retention.set_rule_local(node, org_id, "narrative", 5)
    assert retention.unset_rule_local(node, org_id, "sealed").rules == []


# ----------------------------------------------------------------------------- runs


def test_a_run_purges_exactly_what_expired_by_the_clock(world: World, clock: FixedClock) -> None:
    node = world.node
    org_id, a, _ = people(world)
    (old,) = submit(node, a, report_json("old"))
    clock.advance(timedelta(hours=1))
    (new,) = submit(node, a, report_json("new"))
    retention.set_rule_local(node, org_id, "report", 30)
    expiry = old.ingested_at + timedelta(days=30)

    clock._now = expiry - timedelta(seconds=1)
    assert retention.run(node).total == 0
    assert reports.get(node, a, old.id).id == old.id
    clock._now = expiry + timedelta(seconds=1)
    dry = retention.run(node, dry_run=True)
    assert dry.counts == {(org_id, "report"): 1} and dry.dry_run
    assert reports.get(node, a, old.id).id == old.id  # a dry run changes nothing
    done = retention.run(node)
    assert done.counts == {(org_id, "report"): 1} and done.batches == 1
    assert done.wal_cleared is True
    with pytest.raises(Gone, match=f"report {old.id} was purged on"):
        reports.get(node, a, old.id)
    assert reports.get(node, a, new.id).id == new.id
    assert retention.run(node).total == 0  # a second run finds nothing more
    assert custody.verify_log(node).ok


def test_a_dry_run_changes_nothing_and_counts_what_a_run_purges(world: World, clock: FixedClock) -> None:
    node = world.node
    org_id, a, _ = people(world)
    submit(node, a, report_json("plain-1"), report_json("plain-2"), sealed_report("sealed-1"))
    clock.advance(timedelta(days=5))
    (younger,) = submit(node, a, sealed_report("sealed-2"))
    retention.set_rule_local(node, org_id, "report", 10)
    retention.set_rule_local(node, org_id, "sealed", 3)
    clock.advance(timedelta(days=6))  # the first three are 11 days old (whole reports), the last 6 (sealed part)

    def state() -> dict[str, int]:
        with node.db.read() as conn:
            return {
                t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in schema.metadata.sorted_tables
            }

    before = state()
    planned: list[int] = []
    dry = retention.run(node, dry_run=True, on_plan=planned.append)
    assert state() == before
    assert dry.counts == {(org_id, "report"): 3, (org_id, "sealed"): 1} and planned == [4]
    batches: list[tuple[str, str, int]] = []
    done = retention.run(node, batch_size=2, on_batch=lambda *b: batches.append(b))
    assert done.counts == dry.counts and done.batches == 3
    assert batches == [(org_id, "report", 2), (org_id, "report", 1), (org_id, "sealed", 1)]
    assert reports.get(node, a, younger.id).sealed == ["/subjects/1", "/narrative"]
    with node.db.read() as conn:
        purge_events = conn.execute(
            sa.select(schema.audit_events.c.actor_id, schema.audit_events.c.detail).where(
                schema.audit_events.c.action == "retention.purge"
            )
        ).all()
    assert [(e.actor_id, e.detail["category"], e.detail["count"]) for e in purge_events] == [
        (None, "report", 2),
        (None, "report", 1),
        (None, "sealed", 1),
    ]


def test_a_purged_report_is_gone_everywhere(world: World, clock: FixedClock) -> None:
    node = world.node
    org_id, a, _ = people(world)
    shared = report_json("kept")
    doomed_body = report_json(
        "doomed",
        subjects=[
            {"role": "suspect", "identifiers": [{"kind": "email", "value": "subject.a@example.org"}]},
            {"role": "suspect", "identifiers": [{"kind": "email", "value": CANARY}]},
        ],
        media=[{"md5": "0" * 31 + "1"}, {"sha256": "cd" * 32}],
    )
    (doomed,) = submit(node, a, doomed_body, idem="idem-doomed")
    clock.advance(timedelta(days=2))
    (kept,) = submit(node, a, shared)
    retention.set_rule_local(node, org_id, "report", 3)
    clock.advance(timedelta(days=2))
    email = parse_obj(Identifier, {"kind": "email", "value": "subject.a@example.org"})
    assert reports.search_identifier(node, a, email).record.report_count == 2  # type: ignore[union-attr]

    assert retention.run(node).total == 1
    # lists, searches and exports no longer know it
    assert [r.id for r in reports.list_page(node, a, ReportFilter(), None, 100).items] == [kept.id]
    hits = reports.search_identifier(node, a, email)
    assert [r.id for r in hits.items] == [kept.id] and hits.record is not None and hits.record.report_count == 1
    assert hits.record.first_seen == kept.received_at  # the purged report's sighting no longer counts
    canary = reports.search_identifier(node, a, parse_obj(Identifier, {"kind": "email", "value": CANARY}))
    assert (canary.record, canary.items) == (None, [])  # a record no report holds any more is gone
    md5 = reports.search_media(node, a, parse_obj(Media, {"md5": "0" * 31 + "1"}))
    assert [r.id for r in md5.items] == [kept.id] and md5.record is not None and md5.record.report_count == 1
    assert reports.search_media(node, a, parse_obj(Media, {"sha256": "cd" * 32})).record is None
    out = io.BytesIO()
    assert exports.export(node, a, "native", ReportFilter(), out) == 1
    text = out.getvalue().decode()
    assert '"external_id":"doomed"' not in text and CANARY not in text and '"external_id":"kept"' in text
    # the rows holding its content are gone; the tombstone holds the digest only
    assert rows(node, schema.reports, schema.reports.c.id == doomed.id) == 0
    assert rows(node, schema.report_observables, schema.report_observables.c.report_id == doomed.id) == 0
    assert rows(node, schema.idempotency_keys, schema.idempotency_keys.c.report_id == doomed.id) == 0
    assert rows(node, schema.observables, schema.observables.c.key.contains(CANARY)) == 0
    with node.db.read() as conn:
        tomb = conn.execute(sa.select(schema.report_purges)).one()
    assert (tomb.report_id, tomb.category, tomb.org_id, tomb.digest, tomb.days) == (
        doomed.id,
        "report",
        org_id,
        doomed.digest,
        3,
    )
    # its custody leaf: the content's digest, the rule; never content
    ((seq, leaf),) = purged_leaves(node)
    assert seq == tomb.custody_seq
    assert (leaf["object_id"], leaf["digest"], leaf["actor_id"]) == (doomed.id, doomed.digest, "accord:retention")
    rule = retention.rules_local(node, org_id).rules[0]
    assert leaf["detail"] == {"category": "report", "days": 3, "rule_id": rule.id}
    assert custody.verify_log(node).ok
    # sent again, it is a new report: the tombstone is not "seen", nor is the idempotency key any more
    (again,) = submit(node, a, doomed_body, idem="idem-doomed")
    assert again.id != doomed.id and again.digest == doomed.digest
    with pytest.raises(Gone):
        reports.get(node, a, doomed.id)


def test_another_organisations_purged_report_is_not_found(world: World, clock: FixedClock) -> None:
    node = world.node
    org_id, a, _ = people(world)
    _, b, _ = people(world, "B")
    (r,) = submit(node, a, report_json("x"))
    retention.set_rule_local(node, org_id, "report", 1)
    clock.advance(timedelta(days=2))
    assert retention.run(node, org_id=org_id).total == 1
    with pytest.raises(NotFound):
        reports.get(node, b, r.id)
    with pytest.raises(Gone):
        reports.get(node, a, r.id)


def test_the_deleted_content_leaves_the_sqlite_file(world: World, clock: FixedClock, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL keeps dead tuples until VACUUM; the rows are checked gone in the test above")
    node = world.node
    org_id, a, _ = people(world)
    body = report_json(
        f"ext-{CANARY}", subjects=[{"role": "suspect", "identifiers": [{"kind": "email", "value": CANARY}]}]
    )
    submit(node, a, body, report_json("other"))
    db_file = Path(str(node.db.url.database))
    files = [db_file, db_file.with_name(db_file.name + "-wal")]

    def hits() -> int:
        return sum(f.read_bytes().count(CANARY.encode()) for f in files if f.exists())

    node.db.checkpoint_wal()
    assert hits() > 0  # the grep does see the canary while it is stored (and where)
    retention.set_rule_local(node, org_id, "report", 1)
    clock.advance(timedelta(days=2))
    result = retention.run(node)
    assert result.total == 2 and result.wal_cleared
    assert hits() == 0
    assert not files[1].exists() or files[1].stat().st_size == 0


def test_a_purged_sealed_part_is_gone_and_its_fields_cannot_be_opened(world: World, clock: FixedClock) -> None:
    node = world.node
    org_id, a, _ = people(world)
    (r,) = submit(node, a, sealed_report("s-1"))
    with node.db.read() as conn:
        blob = conn.execute(sa.select(schema.reports.c.sealed).where(schema.reports.c.id == r.id)).scalar_one()
    retention.set_rule_local(node, org_id, "sealed", 1)
    clock.advance(timedelta(days=1))
    assert retention.run(node).counts == {(org_id, "sealed"): 1}
    kept = reports.get(node, a, r.id)
    assert kept.sealed == ["/subjects/1", "/narrative"] and kept.digest == r.digest  # the rest stays
    assert rows(node, schema.reports, sa.and_(schema.reports.c.id == r.id, schema.reports.c.sealed.is_(None))) == 1
    ((_, leaf),) = purged_leaves(node)
    assert leaf["digest"] == hashlib.sha256(blob).hexdigest()
    assert leaf["detail"]["part"] == "sealed" and leaf["detail"]["category"] == "sealed"  # type: ignore[index]
    inv = world.actor(world.key(org_id, [Role.supervisor]))
    with pytest.raises(Gone, match=f"the sealed fields of report {r.id} were purged|the sealed fields of report"):
        unsealing.create(node, inv, parse_obj(UnsealRequestIn, {"report_id": r.id, "fields": ["/narrative"]}))
    assert retention.run(node).total == 0


def test_an_evidence_bundle_marks_purged_items_and_still_verifies(world: World, clock: FixedClock) -> None:
    node = world.node
    org_id, a, _ = people(world)
    (whole,) = submit(node, a, report_json("w"))
    clock.advance(timedelta(days=3))
    (part, live) = submit(node, a, sealed_report("p"), report_json("l"))
    case = cases.create(
        node, a, parse_obj(CaseIn, {"title": "c", "jurisdiction": "DE", "report_ids": [whole.id, part.id, live.id]})
    )
    retention.set_rule_local(node, org_id, "report", 4)
    retention.set_rule_local(node, org_id, "sealed", 1)
    clock.advance(timedelta(days=2))
    assert retention.run(node).counts == {(org_id, "report"): 1, (org_id, "sealed"): 1}
    assert cases.get(node, a, case.id).report_ids == sorted([whole.id, part.id, live.id])  # the case still says so
    bundle = custody.export_case(node, a, case.id)
    result = verify_bundle(bundle)
    assert result.ok, [str(f) for f in result.failures]
    items = {i["id"]: i for i in orjson.loads(bundle)["items"]}
    assert items[whole.id]["digest"] == whole.digest and set(items[whole.id]["metadata"]["purged"]) == {"report"}
    assert set(items[part.id]["metadata"]["purged"]) == {"sealed"} and "purged" not in items[live.id]["metadata"]
    # a bundle that claims a purge custody does not record is refused
    doc = orjson.loads(bundle)
    for i in doc["items"]:
        if i["id"] == live.id:
            i["metadata"]["purged"] = {"report": "2026-01-01T00:00:00.000000Z"}
    failures = [str(f) for f in verify_bundle(orjson.dumps(doc)).failures]
    assert failures == [f"items[2] (report {live.id}): custody: {NOT_RECORDED}"]


def test_agreements_cap_what_is_held_under_them(world: World, clock: FixedClock) -> None:
    node = world.node
    org_id, a, admin = people(world)
    partner, _ = world.org("P", [Role.analyst])
    short, ruled = agreement(node, 5, org_id, partner), agreement(node, 100, org_id, partner)
    capped, by_rule, plain = submit(node, a, report_json("c"), report_json("r"), report_json("p"))
    with node.db.write() as conn:  # federated intake will set this; nothing else does yet
        for report_id, agr in ((capped.id, short), (by_rule.id, ruled)):
            conn.execute(sa.update(schema.reports).where(schema.reports.c.id == report_id).values(agreement_id=agr))
    body = {"rules": [{"category": "report", "days": 30}, {"category": "report", "days": 7, "agreement_id": ruled}]}
    view = retention.set_rules(node, admin, parse_obj(RetentionRulesIn, body))
    assert {(c.agreement_id, c.retention_days) for c in view.agreement_caps} == {(short, 5), (ruled, 100)}
    clock.advance(timedelta(days=6))
    assert retention.run(node).total == 1
    clock.advance(timedelta(days=2))
    assert retention.run(node).total == 1
    clock.advance(timedelta(days=30))
    assert retention.run(node).total == 1
    details = {leaf["object_id"]: leaf["detail"] for _, leaf in purged_leaves(node)}
    rule_ids = {r.agreement_id: r.id for r in view.rules}
    assert details == {
        capped.id: {"category": "report", "days": 5, "agreement_id": short},
        by_rule.id: {"category": "report", "days": 7, "agreement_id": ruled, "rule_id": rule_ids[ruled]},
        plain.id: {"category": "report", "days": 30, "rule_id": rule_ids[None]},
    }


def test_a_purge_while_an_import_is_pending_leaves_exact_records(world: World, clock: FixedClock, backend: str) -> None:
    """An import stopped before its fold leaves what its batches added to earlier records pending (SQLite;
    store.observables). A purge then still takes exactly the purged reports off the records, keeps what
    the pending rows added, and deletes a record only when no report holds it."""
    node = world.node
    org_id, a, _ = people(world)
    email = parse_obj(Identifier, {"kind": "email", "value": "subject.a@example.org"})
    canary = {"kind": "email", "value": CANARY}
    old = report_json("old-1", received_at="2026-11-01T00:00:00Z")
    old_only = report_json("old-2", received_at="2026-11-02T00:00:00Z", subjects=[{"identifiers": [canary]}])
    assert reports.ingest_lines(node, a, enumerate([orjson.dumps(old), orjson.dumps(old_only)], 1)).accepted == 2
    clock.advance(timedelta(days=2))
    later = [report_json(f"new-{i}", received_at=f"2026-11-1{i}T00:00:00Z") for i in range(1, 5)]
    later[1]["subjects"] = [{"identifiers": [canary]}]

    def stopped() -> Iterator[tuple[int, bytes]]:
        yield from enumerate((orjson.dumps(b) for b in later), 1)
        raise RuntimeError("stopped")  # the import ends between batches, before its fold

    with pytest.raises(RuntimeError, match="stopped"):
        reports.ingest_lines(node, a, stopped(), batch_size=2)
    if backend == "sqlite":
        assert rows(node, schema.observable_pending, sa.true()) > 0
    retention.set_rule_local(node, org_id, "report", 3)
    clock.advance(timedelta(days=2))  # the first import's two reports are 4 days old, the second's 2
    assert retention.run(node).total == 2
    assert rows(node, schema.observable_pending, sa.true()) == 0

    def seen_at(b: dict[str, object]) -> datetime:
        return datetime.fromisoformat(str(b["received_at"]).replace("Z", "+00:00"))

    hits = reports.search_identifier(node, a, email)  # in old-1 and three of the four later reports
    assert hits.record is not None and hits.record.report_count == 3 == len(hits.items)
    assert (hits.record.first_seen, hits.record.last_seen) == (seen_at(later[0]), seen_at(later[3]))
    held = reports.search_identifier(node, a, parse_obj(Identifier, canary))  # old-2 went; new-2 holds it
    assert held.record is not None and held.record.report_count == 1
    assert held.record.first_seen == held.record.last_seen == seen_at(later[1])
    # a record only the purged reports held is gone, pending rows or not
    with node.db.read() as conn:
        counts = dict(conn.execute(sa.select(schema.observables.c.key, schema.observables.c.report_count)).all())
        linked = dict(
            conn.execute(
                sa.select(schema.observables.c.key, sa.func.count())
                .join_from(
                    schema.observables,
                    schema.report_observables,
                    schema.report_observables.c.observable_id == schema.observables.c.id,
                )
                .group_by(schema.observables.c.key)
            ).all()
        )
    assert counts == linked  # each record's own count, with nothing pending, is its links' count


def test_a_crash_in_a_batch_leaves_whole_batches_only(world: World, clock: FixedClock) -> None:
    node = world.node
    org_id, a, _ = people(world)
    stored = submit(node, a, *(report_json(f"k-{i}") for i in range(5)))
    retention.set_rule_local(node, org_id, "report", 1)
    clock.advance(timedelta(days=2))
    seen = {"statements": 0}

    def fail_in_second_batch(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM REPORTS"):
            seen["statements"] += 1
            if seen["statements"] == 2:
                raise RuntimeError("simulated crash half-way through the second batch")

    sa.event.listen(node.db.writer, "before_cursor_execute", fail_in_second_batch)
    try:
        with pytest.raises(RuntimeError, match="simulated crash"):
            retention.run(node, batch_size=2)
    finally:
        sa.event.remove(node.db.writer, "before_cursor_execute", fail_in_second_batch)
    gone = {r.id for r in stored[:2]}  # the first batch, oldest first
    for r in stored:
        present = rows(node, schema.reports, schema.reports.c.id == r.id)
        links = rows(node, schema.report_observables, schema.report_observables.c.report_id == r.id)
        tomb = rows(node, schema.report_purges, schema.report_purges.c.report_id == r.id)
        assert (present, bool(links), tomb) == ((0, False, 1) if r.id in gone else (1, True, 0)), r.id
    assert {leaf["object_id"] for _, leaf in purged_leaves(node)} == gone
    assert rows(node, schema.audit_events, schema.audit_events.c.action == "retention.purge") == 1
    assert custody.verify_log(node).ok
    assert retention.run(node, batch_size=2).total == 3  # the next run finishes the job
    assert rows(node, schema.reports, schema.reports.c.org_id == org_id) == 0


def test_the_server_runner_purges_on_its_interval(world: World, clock: FixedClock) -> None:
    node = world.node
    org_id, a, _ = people(world)
    submit(node, a, report_json("bg"))
    retention.set_rule_local(node, org_id, "report", 1)
    clock.advance(timedelta(days=2))
    runner = retention.RetentionRunner(node, interval=0.05)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while rows(node, schema.reports, schema.reports.c.org_id == org_id) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
    assert rows(node, schema.reports, schema.reports.c.org_id == org_id) == 0 and runner.runs >= 1


def test_a_purge_takes_the_reports_matches_and_verdicts(world: World, clock: FixedClock) -> None:
    """A purged report's matches name it and its keys: they go with it, with the verdicts on them (the
    entry's counts lose them) and the reviews it owed; the kept report's stay."""
    node = world.node
    org_id, a, _ = people(world)
    pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    bank = banks.create_local(node, org_id, BankIn(name="b", type="pdq"))
    added = banks.add_entries_local(node, org_id, bank.id, EntriesIn.model_validate({"entries": [{"value": pdq}]}))
    entry = added.added[0].id
    (doomed,) = submit(node, a, report_json("doomed", media=[{"pdq": pdq}]))
    clock.advance(timedelta(days=2))
    (kept,) = submit(node, a, report_json("kept", media=[{"pdq": pdq}]))
    for r in (doomed, kept):
        (m,) = verdicts.report_matches(node, a, r.id)
        verdicts.record_verdict(node, a, m.id, VerdictIn(verdict=VerdictKind.false_positive))
    banks.retract_entry_local(node, org_id, bank.id, entry, "wrong")
    assert {r.object_id for r in reviews.list_local(node, org_id)} == {doomed.id, kept.id}
    retention.set_rule_local(node, org_id, "report", 3)
    clock.advance(timedelta(days=2))

    assert retention.run(node).total == 1
    m, v = schema.matches.c, schema.match_verdicts.c
    assert rows(node, schema.matches, m.report_id == doomed.id) == 0
    assert rows(node, schema.matches, m.report_id == kept.id) == 1
    assert rows(node, schema.match_verdicts, v.entry_id == entry) == 1  # the kept report's
    assert {r.object_id for r in reviews.list_local(node, org_id)} == {kept.id}
    with node.db.read() as conn:
        counts = verdict_store.entry_counts(conn, [entry])[entry]
    assert (counts.matches, counts.false_positive) == (1, 1)
