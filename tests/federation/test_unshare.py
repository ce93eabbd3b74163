"""Removing a share (``shares.unshare``, ``accord peer unshare``) between two real nodes in one process (ASGI
transport): a removed bank share stops new adds and removals entering the feed, what was shared stays at the
receiver, a retraction of an entry it shared still reaches it and verdict counts on it still come back; a
removed report share rule stops new reports. An unknown id (or another organisation's) is refused, audited,
and changes nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import sqlalchemy as sa

from accord.errors import NotFound
from accord.model.bank import BankIn, EntriesIn, EntryIn
from accord.model.organisation import Actor, Role
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.model.verdict import VerdictIn, VerdictKind
from accord.services import banks, reports, shares, sightings, sync, verdicts
from accord.services.node import Node
from accord.store import schema
from tests.conftest import World, report_json
from tests.federation.conftest import Pair
from tests.federation.test_sync import h


def run(node: Node) -> list[sync.Pulled]:
    return asyncio.run(sync.sync(node))


def rows(node: Node, table: sa.Table, *where: Any) -> list[Any]:
    with node.db.read() as conn:
        return list(conn.execute(sa.select(table).where(*where)))


def analyst(node: Node, org: str) -> Actor:
    world = World(node, "")
    return world.actor(world.key(org, [Role.analyst]))


def mirror(node: Node) -> dict[str, tuple[bool, bool]]:
    """{value: (removed, retracted)} of every entry of the node's mirror banks."""
    e, m = schema.bank_entries.c, schema.sync_mirrors.c
    with node.db.read() as conn:
        q = sa.select(e.value, e.removed_in_version, e.retracted).where(e.bank_id.in_(sa.select(m.bank_id)))
        return {r.value: (r.removed_in_version is not None, bool(r.retracted)) for r in conn.execute(q)}


def events(node: Node, action: str) -> list[Any]:
    t = schema.audit_events.c
    return rows(node, schema.audit_events, t.action == action)


def test_a_removed_bank_share_stops_new_changes_and_still_carries_retractions(pair: Pair) -> None:
    p = pair
    bank = banks.create_local(p.a, p.a_org, BankIn(name="platform hashes", type="sha256"))
    banks.add_entries_local(p.a, p.a_org, bank.id, EntriesIn(entries=[EntryIn(value=h(n)) for n in (1, 2, 3)]))
    share = sync.share_bank(p.a, None, p.a_org, bank.id, p.agreement.id, "csam")
    assert share.id.startswith("shr_")
    run(p.b)
    assert mirror(p.b) == {h(1): (False, False), h(2): (False, False), h(3): (False, False)}

    removed = shares.unshare(p.a, None, p.a_org, share.id)
    assert (removed.kind, removed.bank_id, removed.agreement_id) == ("bank", bank.id, p.agreement.id)
    assert shares.list_shares(p.a, None, p.a_org) == []
    (event,) = events(p.a, "sync.unshare")
    assert (event.outcome, event.object_id, event.org_id, event.actor_id) == ("success", share.id, p.a_org, None)
    assert event.detail == {"kind": "bank", "agreement": p.agreement.id, "category": "csam", "bank_id": bank.id}

    feed_before = len(rows(p.a, schema.sync_feed))
    ids = {e.value: e.id for e in banks.export_local(p.a, p.a_org, bank.id).entries}
    banks.add_entries_local(p.a, p.a_org, bank.id, EntriesIn(entries=[EntryIn(value=h(4))]))
    banks.remove_entry_local(p.a, p.a_org, bank.id, ids[h(1)])  # stopping is not a retraction: not sent
    banks.retract_entry_local(p.a, p.a_org, bank.id, ids[h(2)], "synthetic: wrong hash")  # a correction: sent
    new = {e.value: e.id for e in banks.export_local(p.a, p.a_org, bank.id).entries}
    banks.retract_entry_local(p.a, p.a_org, bank.id, new[h(4)], "never shared")  # never shared: not sent
    fresh = rows(p.a, schema.sync_feed)[feed_before:]
    assert [(f.object_id, json.loads(f.body)["op"]) for f in fresh] == [(f"{bank.id}/{ids[h(2)]}", "retract")]

    (pulled,) = run(p.b)
    assert (pulled.applied, pulled.error) == (1, None)
    assert mirror(p.b) == {h(1): (False, False), h(2): (True, True), h(3): (False, False)}  # retracted: out

    # verdict counts on an entry the removed share put there still come back to the origin
    b_actor = analyst(p.b, p.b_org)
    body = report_json("b-1", media=[{"sha256": h(3)}])
    report = reports.submit(p.b, b_actor, parse_obj(ReportIn, body)).report.id
    (match,) = verdicts.report_matches(p.b, b_actor, report)
    verdicts.record_verdict(p.b, b_actor, match.id, VerdictIn(verdict=VerdictKind.false_positive))
    run(p.a)
    (remote,) = rows(p.a, schema.sync_remote_verdicts)
    assert (remote.entry_id, remote.false_positive) == (ids[h(3)], 1)

    # again: refused as unknown, audited, nothing changes
    with pytest.raises(NotFound):
        shares.unshare(p.a, None, p.a_org, share.id)
    refused = [e for e in events(p.a, "sync.unshare") if e.outcome == "refused"]
    assert len(refused) == 1 and refused[0].object_id is None and refused[0].detail["reason"] == "not-found"

    # sharing the bank again puts the share back in force under a new id; what the receiver holds is skipped
    again = sync.share_bank(p.a, None, p.a_org, bank.id, p.agreement.id, "csam")
    assert again.id != share.id and [s.id for s in shares.list_shares(p.a, None, p.a_org)] == [again.id]
    (pulled,) = [r for r in run(p.b) if r.agreement_id == p.agreement.id]
    assert (pulled.applied, pulled.error) == (0, None)


def test_a_removed_report_rule_stops_new_reports_and_another_organisation_cannot_remove_it(pair: Pair) -> None:
    p = pair
    a_actor = analyst(p.a, p.a_org)
    rule = sightings.share_reports(p.a, None, p.a_org, p.agreement.id, "csam")
    first = reports.submit(p.a, a_actor, parse_obj(ReportIn, report_json("a-1"))).report.id
    other_org, _ = World(p.a, "").org("Other platform", [Role.analyst])
    with pytest.raises(NotFound):
        shares.unshare(p.a, None, other_org, rule.id)  # not the other organisation's
    assert [s.id for s in shares.list_shares(p.a, None, p.a_org)] == [rule.id]
    assert shares.list_shares(p.a, None, other_org) == []

    removed = shares.unshare(p.a, None, p.a_org, rule.id)
    assert (removed.kind, removed.category, removed.marking_max) == ("reports", "csam", "AMBER")
    reports.submit(p.a, a_actor, parse_obj(ReportIn, report_json("a-2")))
    assert [f.object_id for f in rows(p.a, schema.sync_feed)] == [first]
    run(p.b)
    assert [s.origin_report for s in rows(p.b, schema.sync_sightings)] == [first]  # what was shared stays
    assert rows(p.a, schema.sync_report_shares) == []
    assert [e.outcome for e in events(p.a, "sync.unshare")] == ["refused", "success"]
