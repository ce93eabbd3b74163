"""Case references in the sync feed, between two real nodes in one process (ASGI transport): a platform's case
shared with the hotline under their agreement arrives once, as a reference only (never the title or a report
id); a status change arrives as a new version; unsharing withdraws it; a share the agreement does not allow is
refused with its clause and audited; re-applying a batch changes nothing; the hotline node's other
organisations never see it."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.api.app import create_app
from accord.errors import Conflict, Invalid, NotFound
from accord.exchange.envelope import Refused
from accord.model.case import CaseIn, CaseStatus
from accord.model.organisation import Actor, Role
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.services import case_refs, cases, reports, sync
from accord.services.node import Node
from accord.store import schema
from accord.store import sync as sync_store
from tests.conftest import World, auth, report_json
from tests.federation.conftest import Pair

TITLE = "canary case title 5d1c"


def run(node: Node) -> list[sync.Pulled]:
    return asyncio.run(sync.sync(node))


def rows(node: Node, table: sa.Table, *where: Any) -> list[Any]:
    with node.db.read() as conn:
        return list(conn.execute(sa.select(table).where(*where)))


def payloads(node: Node) -> list[dict[str, Any]]:
    """The decoded bodies of every envelope the node keeps."""
    return [
        orjson.loads(base64.b64decode(orjson.loads(bytes(r.raw))["payload"]))
        for r in rows(node, schema.federation_envelopes)
    ]


def actor(node: Node, org: str, role: Role) -> Actor:
    world = World(node, "")
    return world.actor(world.key(org, [role]))


def a_case(pair: Pair) -> tuple[Actor, str, list[str]]:
    """An investigator of the platform and its case (with the title canary) linking two reports."""
    inv = actor(pair.a, pair.a_org, Role.investigator)
    ids = [reports.submit(pair.a, pair.a_actor, parse_obj(ReportIn, report_json(f"c-{n}"))).report.id for n in (1, 2)]
    case = cases.create(pair.a, inv, CaseIn(title=TITLE, jurisdiction="NL", report_ids=ids))  # type: ignore[arg-type]
    return inv, case.id, ids


def state(node: Node) -> tuple[Any, ...]:
    """What applying case references may change: the references, the applied objects, the audit trail."""
    refs = sorted((r.peer, r.origin_case, r.version, r.status) for r in rows(node, schema.sync_case_refs))
    return refs, len(rows(node, schema.sync_objects)), len(rows(node, schema.audit_events))


def test_a_case_reference_arrives_changes_and_is_withdrawn(pair: Pair) -> None:
    inv, case_id, report_ids = a_case(pair)
    agr = pair.agreement.id
    share, new = case_refs.share_case(pair.a, inv, pair.a_org, case_id, agr, "csam")
    assert new and (share.version, share.marking, share.category) == (1, "AMBER", "csam")
    again, new = case_refs.share_case(pair.a, inv, pair.a_org, case_id, agr, "csam")
    assert not new and again == share  # the same share again changes nothing
    assert len(rows(pair.a, schema.sync_feed)) == 1
    with pytest.raises(Conflict):
        case_refs.share_case(pair.a, inv, pair.a_org, case_id, agr, "grooming")

    (pulled,) = run(pair.b)
    assert (pulled.applied, pulled.error) == (1, None)
    (ref,) = case_refs.received(pair.b, pair.b_actor)
    assert (ref.peer, ref.origin_case, ref.org_id, ref.agreement_id) == (pair.a.me.node_id, case_id, pair.b_org, agr)
    assert (ref.status, ref.version, ref.jurisdiction, ref.linked_reports) == ("open", 1, "NL", 2)
    assert (ref.lead_org_id, ref.lead_org_name, ref.marking, ref.category) == (pair.a_org, "Platform", "AMBER", "csam")
    assert all(r.applied == 0 for r in run(pair.b))  # arrives once

    # a status change appends a new version in its own transaction; the peer keeps the latest
    cases.set_status(pair.a, inv, case_id, CaseStatus.active)
    feed = rows(pair.a, schema.sync_feed)
    assert [(f.object_id, f.version) for f in feed] == [(case_id, 1), (case_id, 2)]
    run(pair.b)
    (ref,) = case_refs.received(pair.b, pair.b_actor)
    assert (ref.status, ref.version) == ("active", 2)
    assert len(rows(pair.b, schema.sync_case_refs)) == 1

    # the receiving organisation sees it over the API; the node's other organisations do not
    other_org, other_token = World(pair.b, "").org("Other", [Role.analyst, Role.investigator])
    hotline_token = World(pair.b, "").key(pair.b_org, [Role.analyst])
    with TestClient(create_app(pair.b, run_jobs=False)) as client:
        got = client.get("/v1/federation/case-references", headers=auth(hotline_token))
        assert got.status_code == 200 and [r["origin_case"] for r in got.json()] == [case_id]
        assert got.json()[0]["org_id"] == pair.b_org and "title" not in got.json()[0]
        other = client.get("/v1/federation/case-references", headers=auth(other_token))
        assert other.status_code == 200 and other.json() == []
        assert client.get(f"/v1/cases/{case_id}", headers=auth(other_token)).status_code == 404
        assert client.get(f"/v1/cases/{case_id}", headers=auth(hotline_token)).status_code == 404
    assert case_refs.received(pair.b, None, other_org) == []

    # unsharing withdraws it at the receiver (listed only when asked for)
    withdrawn = case_refs.unshare_case(pair.a, inv, case_id, agr)
    assert withdrawn.version == 3 and withdrawn.withdrawn_at is not None
    assert case_refs.unshare_case(pair.a, inv, case_id, agr) == withdrawn  # again: nothing appended
    cases.set_status(pair.a, inv, case_id, CaseStatus.closed)  # no longer shared: nothing appended
    assert len(rows(pair.a, schema.sync_feed)) == 3
    run(pair.b)
    assert case_refs.received(pair.b, pair.b_actor) == []
    (ref,) = case_refs.received(pair.b, pair.b_actor, withdrawn=True)
    assert (ref.status, ref.version) == ("withdrawn", 3)

    # the same range applied again (a put-back cursor) changes nothing
    before = state(pair.b)
    with pair.b.db.write() as conn:
        sync_store.set_cursor(conn, sync_store.Cursor(pair.a.me.node_id, agr, 0, 0, None, None), pair.clock.now())
    (again,) = run(pair.b)
    assert (again.applied, again.skipped, again.error) == (0, 3, None)
    after = state(pair.b)
    assert after[:2] == before[:2]

    # audit on both sides
    a_events = [(e.action, e.outcome) for e in rows(pair.a, schema.audit_events) if e.object_id == case_id]
    assert ("sync.share", "success") in a_events and ("sync.unshare", "success") in a_events
    received = rows(pair.b, schema.audit_events, schema.audit_events.c.action == "case.reference.receive")
    assert [(e.org_id, e.detail["version"], e.detail["status"]) for e in received] == [
        (pair.b_org, 1, "open"),
        (pair.b_org, 2, "active"),
        (pair.b_org, 3, "withdrawn"),
    ]

    # canary: the title and the linked reports' ids are nowhere at the receiver, envelopes included
    dump = orjson.dumps(payloads(pair.b)).decode()
    assert case_id in dump  # the references did travel in these envelopes
    with pair.b.db.read() as conn:
        for table in schema.metadata.sorted_tables:
            dump += "\n".join(repr(tuple(r)) for r in conn.execute(sa.select(table)))
    assert TITLE not in dump and [r for r in report_ids if r in dump] == []


def test_a_share_outside_the_agreement_is_refused_audited_and_shares_nothing(pair: Pair) -> None:
    inv, case_id, _ = a_case(pair)
    agr = pair.agreement.id
    with pytest.raises(Refused) as refused:
        case_refs.share_case(pair.a, inv, pair.a_org, case_id, agr, "extortion")  # not in the agreement
    assert refused.value.clause == "categories"
    with pytest.raises(Refused) as refused:
        case_refs.share_case(pair.a, inv, pair.a_org, case_id, agr, "csam", "RED")  # above AMBER
    assert refused.value.clause == "max_marking"
    with pytest.raises(Invalid):
        case_refs.share_case(pair.a, inv, pair.a_org, case_id, agr, "nonsense")
    with pytest.raises(NotFound):
        case_refs.share_case(pair.a, inv, pair.a_org, case_id, "agr_01NOSUCHAGREEMENT00000000", "csam")
    with pytest.raises(NotFound):
        case_refs.unshare_case(pair.a, inv, case_id, agr)  # never shared
    assert rows(pair.a, schema.sync_case_shares) == [] and rows(pair.a, schema.sync_feed) == []
    events = rows(pair.a, schema.audit_events, schema.audit_events.c.outcome == "refused")
    assert [(e.action, e.object_id, e.detail["clause"]) for e in events] == [
        ("federation.send", case_id, "categories"),
        ("federation.send", case_id, "max_marking"),
    ]

    # over the API: the clause in the problem; an analyst may not share; another organisation's case is missing
    analyst_token = World(pair.a, "").key(pair.a_org, [Role.analyst])
    inv_token = World(pair.a, "").key(pair.a_org, [Role.investigator])
    _, stranger = World(pair.a, "").org("Stranger", [Role.investigator])
    url = f"/v1/cases/{case_id}/shares"
    with TestClient(create_app(pair.a, run_jobs=False)) as client:
        r = client.post(url, json={"agreement_id": agr, "category": "extortion"}, headers=auth(inv_token))
        assert r.status_code == 403 and r.json()["clause"] == "categories", r.text
        r = client.post(url, json={"agreement_id": agr, "category": "csam"}, headers=auth(analyst_token))
        assert r.status_code == 403 and "clause" not in r.json()
        r = client.post(url, json={"agreement_id": agr, "category": "csam"}, headers=auth(stranger))
        assert r.status_code == 404
        assert client.delete(f"{url}/{agr}", headers=auth(stranger)).status_code == 404
        assert rows(pair.a, schema.sync_feed) == []
        r = client.post(
            url, json={"agreement_id": agr, "category": "csam", "marking": "GREEN"}, headers=auth(inv_token)
        )
        assert r.status_code == 201 and (r.json()["version"], r.json()["marking"]) == (1, "GREEN")
        r = client.post(
            url, json={"agreement_id": agr, "category": "csam", "marking": "GREEN"}, headers=auth(inv_token)
        )
        assert r.status_code == 200
        r = client.delete(f"{url}/{agr}", headers=auth(inv_token))
        assert r.status_code == 200 and r.json()["withdrawn_at"] is not None
    # shared again after the withdrawal: a new version
    share, new = case_refs.share_case(pair.a, inv, pair.a_org, case_id, agr, "csam")
    assert new and share.version == 3 and share.withdrawn_at is None


def test_a_reference_with_more_than_a_reference_refuses_the_batch(pair: Pair) -> None:
    """Fail closed at the receiver: an item carrying a field a reference does not have (a title), or a case
    led by another organisation than its sender's party, refuses the whole batch; nothing is stored."""
    inv, case_id, _ = a_case(pair)
    agr = pair.agreement.id
    case_refs.share_case(pair.a, inv, pair.a_org, case_id, agr, "csam")
    (item,) = rows(pair.a, schema.sync_feed)
    body = orjson.loads(item.body)
    titled = {"case": {**body["case"], "id": "case_x", "title": "a title"}}
    with pair.a.db.write() as conn:
        item_x = sync_store.NewFeedItem(agr, case_refs.CASE_KIND, "case_x", 1, "GREEN", "csam", None, titled)
        sync_store.append_feed(conn, [item_x], pair.clock.now())
    (pulled,) = run(pair.b)
    assert pulled.error is not None and "malformed" in pulled.error
    assert rows(pair.b, schema.sync_case_refs) == [] and rows(pair.b, schema.sync_objects) == []


def test_a_reference_to_a_case_led_by_another_party_is_refused(pair: Pair) -> None:
    inv, case_id, _ = a_case(pair)
    agr = pair.agreement.id
    case_refs.share_case(pair.a, inv, pair.a_org, case_id, agr, "csam")
    (item,) = rows(pair.a, schema.sync_feed)
    body = orjson.loads(item.body)
    with pair.a.db.write() as conn:  # a case claimed to be led by the hotline itself
        forged = {"case": {**body["case"], "id": "case_y", "lead_org_id": pair.b_org}}
        sync_store.append_feed(
            conn,
            [sync_store.NewFeedItem(agr, case_refs.CASE_KIND, "case_y", 1, "GREEN", "csam", None, forged)],
            pair.clock.now(),
        )
    (pulled,) = run(pair.b)
    assert pulled.error is not None and "case case_y is not led by the party its sender speaks for" in pulled.error
    assert rows(pair.b, schema.sync_case_refs) == []
