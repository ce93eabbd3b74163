"""Sightings and verdict counts in the sync feed, across three real nodes in one process (ASGI transport): a
platform's report travels platform -> hotline -> police once each, as a report of each receiving
organisation with its provenance and custody; an onward share the first agreement forbids is refused and
audited; re-syncing changes nothing; sealed fields and the narrative never travel. A verdict on a match
against a mirror entry goes back to the origin as counts only, and flags the entry there."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from accord.errors import Conflict, Invalid
from accord.exchange.envelope import Refused
from accord.model.bank import BankIn, EntriesIn, EntryIn
from accord.model.identifier import Identifier
from accord.model.organisation import Actor, Role
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.model.verdict import VerdictIn, VerdictKind
from accord.services import banks, reports, sightings, sync, verdicts
from accord.services.node import Node
from accord.store import schema
from accord.store import sync as sync_store
from tests.conftest import World, report_json
from tests.federation.conftest import Chain

NARRATIVE = "canary narrative 7f3e"
VICTIM = "victim.canary.7f3e@example.org"


def run(node: Node) -> list[sync.Pulled]:
    return asyncio.run(sync.sync(node))


def rows(node: Node, table: sa.Table, *where: Any) -> list[Any]:
    with node.db.read() as conn:
        return list(conn.execute(sa.select(table).where(*where)))


def analyst(node: Node, org: str) -> Actor:
    world = World(node, "")
    return world.actor(world.key(org, [Role.analyst]))


def submit(node: Node, actor: Actor, ext: str, **overrides: object) -> str:
    return reports.submit(node, actor, parse_obj(ReportIn, report_json(ext, **overrides))).report.id


def state(node: Node) -> tuple[Any, ...]:
    """What sync may change on a node: reports, provenance, custody leaves, feed, remote counts."""
    return tuple(
        len(rows(node, t))
        for t in (
            schema.reports,
            schema.sync_sightings,
            schema.custody_leaves,
            schema.sync_feed,
            schema.sync_remote_verdicts,
            schema.matches,
        )
    )


def payloads(node: Node) -> list[dict[str, Any]]:
    """The decoded bodies of every envelope the node keeps."""
    return [
        orjson.loads(base64.b64decode(orjson.loads(bytes(r.raw))["payload"]))
        for r in rows(node, schema.federation_envelopes)
    ]


def test_a_sighting_travels_down_the_chain_once_and_onward_sharing_follows_the_agreement(chain: Chain) -> None:
    ch = chain
    p_actor, h_actor = analyst(ch.p, ch.p_org), analyst(ch.h, ch.h_org)
    early = submit(ch.p, p_actor, "p-0")  # stored before the rule: shared when the rule is made
    sightings.share_reports(ch.p, None, ch.p_org, ch.ph.id, "csam")
    sightings.share_reports(ch.p, None, ch.p_org, ch.ph_closed.id, "grooming")
    victim = {"role": "victim", "identifiers": [{"kind": "email", "value": VICTIM}]}
    late = submit(ch.p, p_actor, "p-1", narrative=NARRATIVE, subjects=[*report_json()["subjects"], victim])  # type: ignore[list-item]
    submit(ch.p, p_actor, "p-2", incident_type="grooming", media=[{"md5": "0" * 31 + "2"}])
    submit(ch.p, p_actor, "p-3", marking="RED", media=[{"md5": "0" * 31 + "3"}])  # above the rule: stays home
    submit(ch.p, p_actor, "p-4", incident_type="extortion", media=[{"md5": "0" * 31 + "4"}])  # no rule
    # the hotline shares both categories on toward the police, before it has received anything
    sightings.share_reports(ch.h, None, ch.h_org, ch.hc.id, "csam")
    sightings.share_reports(ch.h, None, ch.h_org, ch.hc.id, "grooming")
    watch = banks.create_local(ch.h, ch.h_org, BankIn(name="hotline md5", type="md5"))
    banks.add_entries_local(ch.h, ch.h_org, watch.id, EntriesIn(entries=[EntryIn(value="0" * 31 + "1")]))

    done = run(ch.h)
    assert sorted((r.agreement_id, r.applied, r.error) for r in done) == [
        (ch.hc.id, 0, None),
        (ch.ph.id, 2, None),
        (ch.ph_closed.id, 1, None),
    ]
    got = {r.origin_report: r for r in rows(ch.h, schema.sync_sightings)}
    assert set(got) == {early, late} | {r.origin_report for r in got.values() if r.agreement_id == ch.ph_closed.id}
    assert len(got) == 3 and {r.peer for r in got.values()} == {ch.p.me.node_id}
    assert {r.org_id for r in got.values()} == {ch.h_org}
    mine = got[late]
    stored = reports.get(ch.h, h_actor, mine.report_id)
    assert (stored.org_id, stored.source, stored.incident_type, stored.sealed) == (ch.h_org, "partner", "csam", [])
    assert stored.external_id == f"{ch.p.me.node_id}/{late}"
    assert VICTIM not in stored.model_dump_json()
    # its custody "received" leaf, as any intake's
    leaves = rows(ch.h, schema.custody_leaves, schema.custody_leaves.c.object_id == mine.report_id)
    assert [leaf.action for leaf in leaves] == ["received", "matched", "viewed"]  # viewed: the get above
    # search and matching see it
    hits = reports.search_identifier(ch.h, h_actor, Identifier(kind="email", value="subject.a@example.org"))
    assert {mine.report_id, got[early].report_id} <= {r.id for r in hits.items}
    matched = rows(ch.h, schema.matches, schema.matches.c.report_id == mine.report_id)
    assert [m.bank_id for m in matched] == [watch.id]
    # never the narrative, the sealed fields or the victim
    sent = orjson.dumps(payloads(ch.h)).decode()
    assert NARRATIVE not in sent and VICTIM.lower() not in sent.lower() and '"sealed' not in sent

    # onward: ph allows it, ph_closed does not (refused at the hotline, audited, not appended)
    feed = rows(ch.h, schema.sync_feed, schema.sync_feed.c.agreement_id == ch.hc.id)
    assert sorted(f.object_id for f in feed) == sorted([got[early].report_id, mine.report_id])
    refused = rows(ch.h, schema.audit_events, schema.audit_events.c.outcome == "refused")
    assert [(e.action, e.detail["clause"]) for e in refused] == [("federation.send", "onward_sharing")]

    run(ch.c)
    police = rows(ch.c, schema.sync_sightings)
    assert sorted(r.origin_report for r in police) == sorted(f.object_id for f in feed)
    assert {(r.peer, r.agreement_id) for r in police} == {(ch.h.me.node_id, ch.hc.id)}
    assert len(rows(ch.c, schema.reports)) == 2

    # re-syncing changes nothing anywhere
    before = state(ch.p), state(ch.h), state(ch.c)
    again = run(ch.h) + run(ch.c)
    assert all(r.applied == 0 and r.error is None for r in again)
    after_leaves = state(ch.p), state(ch.h), state(ch.c)
    # (only the empty batches' envelopes and receipts are new in custody)
    assert [s[:2] + s[3:] for s in after_leaves] == [s[:2] + s[3:] for s in before]
    # the same range applied again (a crash between applying and the cursor) changes nothing either
    with ch.h.db.write() as conn:
        sync_store.set_cursor(conn, sync_store.Cursor(ch.p.me.node_id, ch.ph.id, 0, 0, None, None), ch.clock.now())
    (again,) = [r for r in run(ch.h) if r.agreement_id == ch.ph.id]
    assert (again.applied, again.skipped) == (0, 2)
    assert state(ch.h)[:2] + state(ch.h)[3:] == before[1][:2] + before[1][3:]


def test_a_share_rule_is_checked_and_refused_rules_share_nothing(chain: Chain) -> None:
    ch = chain
    with pytest.raises(Refused) as refused:
        sightings.share_reports(ch.p, None, ch.p_org, ch.ph.id, "extortion")  # not in the agreement
    assert refused.value.clause == "categories"
    with pytest.raises(Refused) as refused:
        sightings.share_reports(ch.p, None, ch.p_org, ch.ph.id, "csam", "RED")  # above AMBER
    assert refused.value.clause == "max_marking"
    with pytest.raises(Invalid):
        sightings.share_reports(ch.p, None, ch.p_org, ch.ph.id, "nonsense")
    assert rows(ch.p, schema.sync_report_shares) == [] and rows(ch.p, schema.sync_feed) == []
    events = rows(ch.p, schema.audit_events, schema.audit_events.c.outcome == "refused")
    assert [e.detail["clause"] for e in events] == ["categories", "max_marking"]
    sightings.share_reports(ch.p, None, ch.p_org, ch.ph.id, "csam", "GREEN")
    with pytest.raises(Conflict):
        sightings.share_reports(ch.p, None, ch.p_org, ch.ph.id, "csam")
    submit(ch.p, analyst(ch.p, ch.p_org), "amber")  # AMBER is above the rule's GREEN: not shared
    assert rows(ch.p, schema.sync_feed) == []


def md5(n: int) -> str:
    return hashlib.md5(f"synthetic {n}".encode()).hexdigest()


def test_verdicts_on_a_mirror_entry_flag_it_at_the_origin_as_counts_only(chain: Chain) -> None:
    ch = chain
    bank = banks.create_local(
        ch.p, ch.p_org, BankIn(name="platform md5", type="md5", fp_flag_count=2, fp_flag_share=50)
    )
    banks.add_entries_local(ch.p, ch.p_org, bank.id, EntriesIn(entries=[EntryIn(value=md5(1))]))
    (entry,) = banks.export_local(ch.p, ch.p_org, bank.id).entries
    sync.share_bank(ch.p, None, ch.p_org, bank.id, ch.ph.id, "csam")
    run(ch.h)
    h_actor = analyst(ch.h, ch.h_org)
    ids = [submit(ch.h, h_actor, f"h-{n}", media=[{"md5": md5(1)}]) for n in range(3)]
    found = [m for r in ids for m in verdicts.report_matches(ch.h, h_actor, r)]
    assert len(found) == 3
    verdicts.record_verdict(ch.h, h_actor, found[0].id, VerdictIn(verdict=VerdictKind.false_positive))
    run(ch.p)
    (remote,) = rows(ch.p, schema.sync_remote_verdicts)
    assert (remote.peer, remote.entry_id, remote.false_positive, remote.confirmed) == (
        ch.h.me.node_id,
        entry.id,
        1,
        0,
    )
    assert banks.flags_local(ch.p, ch.p_org, bank.id) == []  # one false positive: below the count
    verdicts.record_verdict(ch.h, h_actor, found[1].id, VerdictIn(verdict=VerdictKind.false_positive))
    verdicts.record_verdict(ch.h, h_actor, found[2].id, VerdictIn(verdict=VerdictKind.confirmed))
    run(ch.p)
    (remote,) = rows(ch.p, schema.sync_remote_verdicts)
    assert (remote.false_positive, remote.confirmed, remote.not_actionable) == (2, 1, 0)
    # the platform holds no match and no verdict of its own: the flag comes from the remote counts alone
    assert rows(ch.p, schema.matches) == [] and rows(ch.p, schema.match_verdicts) == []
    (flag,) = banks.flags_local(ch.p, ch.p_org, bank.id)
    assert (flag.entry_id, flag.false_positives, flag.verdicts) == (entry.id, 2, 3)
    (event,) = rows(ch.p, schema.audit_events, schema.audit_events.c.action == "bank.entry.flag")
    assert event.org_id == ch.p_org

    # pulling again changes nothing
    before = state(ch.p)
    assert all(r.applied == 0 for r in run(ch.p))
    assert state(ch.p)[:2] + state(ch.p)[3:] == before[:2] + before[3:]

    # canary: no report id of the hotline's (nor its organisation) reaches the platform, anywhere
    hotline_ids = {r.id for r in rows(ch.h, schema.reports)} | {str(m.id) for m in found}
    assert hotline_ids
    dump = orjson.dumps(payloads(ch.p)).decode()
    with ch.p.db.read() as conn:
        for table in schema.metadata.sorted_tables:
            dump += "\n".join(repr(tuple(r)) for r in conn.execute(sa.select(table)))
    leaked = [i for i in hotline_ids if len(i) > 3 and i in dump]
    assert leaked == []
    assert ch.h_org not in orjson.dumps([p for p in payloads(ch.p) if p.get("object", {}).get("items")]).decode()
