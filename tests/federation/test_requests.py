"""Cross-border requests between two real nodes in one process (ASGI transport): a preservation request from
the hotline's node (B, the requester here) to the platform (A) arrives once; the platform acknowledges and
answers, and the requester sees each status after its pull; an illegal step is refused with the state; a
request under an agreement whose purposes do not allow it is refused with the clause and audited; expiry and
escalation at a fixed clock; re-applying a batch changes nothing; another organisation cannot see it; the
identifier keys travel only inside request items."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import ValidationError

from accord.api.app import create_app
from accord.errors import Conflict, Invalid, NotFound
from accord.exchange.agreement import SignedAgreement
from accord.exchange.envelope import Refused
from accord.model.case import CaseIn
from accord.model.organisation import Actor, Role
from accord.model.request import RequestIn, TransitionIn
from accord.services import cases, peers, requests, sync
from accord.services.node import Node
from accord.store import schema
from accord.store import sync as sync_store
from tests.conftest import World, auth
from tests.federation.conftest import Pair, agreement_between

KEY = "account:chatsvc/canary-handle-7f3e"
MLA = "agr_01TESTREQUESTSMLA00000000"


def run(node: Node) -> list[sync.Pulled]:
    return asyncio.run(sync.sync(node))


def rows(node: Node, table: sa.Table, *where: Any) -> list[Any]:
    with node.db.read() as conn:
        return list(conn.execute(sa.select(table).where(*where)))


def actor(node: Node, org: str, role: Role) -> Actor:
    world = World(node, "")
    return world.actor(world.key(org, [role]))


def mla(pair: Pair, purposes: list[str], agreement_id: str = MLA) -> str:
    """A second agreement between the two, with the purposes given, signed and stored at both."""
    terms = agreement_between(
        {pair.a_org: pair.a.me.node_id, pair.b_org: pair.b.me.node_id},
        pair.clock,
        agreement_id,
        purposes=purposes,
        legal_bases=["coe-budapest-29", "coe-budapest-31", "mou"],
        valid_from=pair.clock.now() - timedelta(minutes=30),
    )
    signed = SignedAgreement(terms).sign(pair.a.me).sign(pair.b.me).to_json()
    peers.store_agreement(pair.a, None, signed)
    peers.store_agreement(pair.b, None, signed)
    return terms.id


def requester(pair: Pair) -> tuple[Actor, str]:
    """An investigator of the requesting organisation (B) and its case."""
    inv = actor(pair.b, pair.b_org, Role.investigator)
    case = cases.create(pair.b, inv, CaseIn(title="requesting case", jurisdiction="DE"))  # type: ignore[arg-type]
    return inv, case.id


def preservation(agreement_id: str, case_id: str, **more: object) -> RequestIn:
    fields: dict[str, object] = {
        "agreement_id": agreement_id,
        "kind": "preservation",
        "legal_basis": "coe-budapest-29",
        "case_id": case_id,
        "keys": [KEY],
        "reference": "DE-2026-0042",
    }
    return RequestIn.model_validate(fields | more)


def payloads(node: Node) -> list[dict[str, Any]]:
    return [
        orjson.loads(base64.b64decode(orjson.loads(bytes(r.raw))["payload"]))
        for r in rows(node, schema.federation_envelopes)
    ]


def state(node: Node) -> tuple[Any, ...]:
    reqs = sorted((r.id, r.state, r.answer_code) for r in rows(node, schema.requests))
    return reqs, len(rows(node, schema.request_events)), len(rows(node, schema.sync_objects))


def test_a_preservation_request_travels_and_both_ends_see_each_status(pair: Pair) -> None:
    agr = mla(pair, ["preservation", "mutual-legal-assistance"])
    inv, case_id = requester(pair)
    made = requests.create(pair.b, inv, preservation(agr, case_id))
    assert (made.state, made.role, made.to_org, made.peer) == ("draft", "requester", pair.a_org, pair.a.me.node_id)
    assert made.deadline == pair.clock.now() + timedelta(days=90)  # the default period
    assert rows(pair.b, schema.sync_feed) == []  # a draft stays here
    assert all(r.applied == 0 for r in run(pair.a))

    sent = requests.step(pair.b, inv, made.id, "send")
    assert sent.state == "sent" and [e.transition for e in sent.events] == ["create", "send"]
    pulled = run(pair.a)
    assert sum(r.applied for r in pulled) == 1 and all(r.error is None for r in pulled)
    platform = actor(pair.a, pair.a_org, Role.investigator)
    (got,) = requests.list_requests(pair.a, platform)
    assert (got.id, got.role, got.state, got.keys, got.from_org) == (made.id, "addressee", "sent", [KEY], pair.b_org)
    assert got.deadline == made.deadline and got.origin_node == pair.b.me.node_id
    assert all(r.applied == 0 for r in run(pair.a))  # arrives once

    # the addressee acknowledges: the requester sees it after its pull
    requests.step(pair.a, platform, made.id, "acknowledge")
    run(pair.b)
    assert requests.get(pair.b, inv, made.id).state == "acknowledged"
    # an illegal step is refused with the state and changes nothing
    with pytest.raises(Conflict, match="acknowledged"):
        requests.step(pair.a, platform, made.id, "acknowledge")
    with pytest.raises(Conflict, match="only the addressee"):
        requests.step(pair.b, inv, made.id, "answer", TransitionIn(code="preserved"))
    with pytest.raises(Invalid, match="code"):
        requests.step(pair.a, platform, made.id, "answer", TransitionIn(code="disclosed"))  # not for preservation
    # answered: both ends hold the same state and history
    requests.step(pair.a, platform, made.id, "answer", TransitionIn(code="preserved"))
    run(pair.b)
    mine, theirs = requests.get(pair.b, inv, made.id), requests.get(pair.a, platform, made.id)
    assert (mine.state, mine.answer_code) == ("answered", "preserved")
    strip = [(e.side, e.n, e.transition, e.code, e.at) for e in mine.events]
    assert strip == [(e.side, e.n, e.transition, e.code, e.at) for e in theirs.events]
    assert [t for _, _, t, _, _ in strip] == ["create", "send", "acknowledge", "answer"]

    # the requester extends the preservation (Art. 29): the addressee sees the new deadline
    later = mine.deadline + timedelta(days=90)
    with pytest.raises(Invalid, match="deadline"):
        requests.step(pair.b, inv, made.id, "extend", TransitionIn(deadline=mine.deadline - timedelta(days=1)))
    requests.step(pair.b, inv, made.id, "extend", TransitionIn(deadline=later))
    run(pair.a)
    assert requests.get(pair.a, platform, made.id).deadline == later

    # the same range applied again (a put-back cursor) changes nothing
    before = state(pair.a)
    with pair.a.db.write() as conn:
        sync_store.set_cursor(conn, sync_store.Cursor(pair.b.me.node_id, agr, 0, 0, None, None), pair.clock.now())
    pulled = run(pair.a)
    assert sum(r.applied for r in pulled) == 0 and sum(r.skipped for r in pulled) >= 1
    assert state(pair.a) == before

    # over the API: the addressee sees it; another organisation of its node does not
    _, stranger = World(pair.a, "").org("Stranger", [Role.investigator, Role.supervisor])
    token = World(pair.a, "").key(pair.a_org, [Role.supervisor])
    analyst = World(pair.a, "").key(pair.a_org, [Role.analyst])
    with TestClient(create_app(pair.a, run_jobs=False)) as client:
        r = client.get(f"/v1/requests/{made.id}", headers=auth(token))
        assert r.status_code == 200 and r.json()["state"] == "answered" and r.json()["keys"] == [KEY]
        assert client.get(f"/v1/requests/{made.id}", headers=auth(stranger)).status_code == 404
        assert client.get("/v1/requests", headers=auth(stranger)).json() == []
        assert client.get("/v1/requests", headers=auth(analyst)).status_code == 403
        r = client.post(f"/v1/requests/{made.id}:refuse", json={"code": "refused-legal"}, headers=auth(token))
        assert r.status_code == 409 and "answered" in r.json()["detail"]
        assert client.post(f"/v1/requests/{made.id}:acknowledge", headers=auth(stranger)).status_code == 404
    with pytest.raises(NotFound):
        requests.get(
            pair.b, actor(pair.b, World(pair.b, "").org("Other", [Role.analyst])[0], Role.investigator), made.id
        )

    # audit on both sides; the key is never in an audit event
    b_actions = [e.action for e in rows(pair.b, schema.audit_events) if e.object_id == made.id]
    assert {"request.create", "request.send", "request.extend", "request.receive"} <= set(b_actions)
    received = rows(pair.a, schema.audit_events, schema.audit_events.c.action == "request.receive")
    assert [e.detail["state"] for e in received] == ["sent", "answered"]  # sent, then extended
    assert KEY not in "\n".join(
        repr(tuple(e)) for e in rows(pair.a, schema.audit_events) + rows(pair.b, schema.audit_events)
    )

    # the key travelled only inside request items (and only in the requester's), nowhere else in an envelope
    carried = []
    for side in (pair.a, pair.b):
        for p in payloads(side):
            obj = p.get("object") or {}
            items = obj.get("items", []) if isinstance(obj, dict) else []
            carried += [i for i in items if KEY in orjson.dumps(i).decode()]
            rest = {**p, "object": {k: v for k, v in obj.items() if k != "items"} if isinstance(obj, dict) else obj}
            assert KEY not in orjson.dumps(rest).decode()
    assert carried and all(i["kind"] == "request" and i["request"]["side"] == "requester" for i in carried)


def test_a_request_the_agreement_does_not_allow_is_refused_and_audited(pair: Pair) -> None:
    inv, case_id = requester(pair)
    # the pair's agreement lists takedown only: no preservation or mutual legal assistance
    with pytest.raises(Refused) as refused:
        requests.create(pair.b, inv, preservation(pair.agreement.id, case_id, legal_basis="mou"))
    assert refused.value.clause == "purposes"
    assert rows(pair.b, schema.requests) == [] and rows(pair.b, schema.sync_feed) == []
    events = rows(pair.b, schema.audit_events, schema.audit_events.c.outcome == "refused")
    assert [(e.action, e.detail["clause"], e.detail["kind"]) for e in events] == [
        ("federation.send", "purposes", "preservation")
    ]
    # a disclosure needs mutual-legal-assistance, which an agreement for preservation only does not list
    agr = mla(pair, ["preservation"])
    body = preservation(agr, case_id, kind="disclosure", legal_basis="coe-budapest-31")
    with pytest.raises(Invalid, match="due date"):
        requests.create(pair.b, inv, body)
    due = pair.clock.now() + timedelta(days=30)
    with pytest.raises(Refused):
        requests.create(pair.b, inv, body.model_copy(update={"deadline": due}))
    with pytest.raises(Invalid, match="60 days"):
        requests.create(pair.b, inv, preservation(agr, case_id, deadline=pair.clock.now() + timedelta(days=59)))
    with pytest.raises(NotFound):
        requests.create(pair.b, inv, preservation(agr, "case_01NOSUCHCASE"))
    for keys in (["a narrative sentence"], ["account:svc/a narrative sentence"], ["colour:blue"]):
        with pytest.raises(ValidationError):
            RequestIn.model_validate({**preservation(agr, case_id).model_dump(), "keys": keys})
    # over the API: the clause in the problem; an analyst may not create one
    token = World(pair.b, "").key(pair.b_org, [Role.investigator])
    analyst = World(pair.b, "").key(pair.b_org, [Role.analyst])
    raw = preservation(pair.agreement.id, case_id, legal_basis="mou").model_dump(mode="json", exclude_none=True)
    with TestClient(create_app(pair.b, run_jobs=False)) as client:
        r = client.post("/v1/requests", json=raw, headers=auth(token))
        assert r.status_code == 403 and r.json()["clause"] == "purposes", r.text
        assert client.post("/v1/requests", json=raw, headers=auth(analyst)).status_code == 403
        ok = {**raw, "agreement_id": agr, "legal_basis": "coe-budapest-29"}
        r = client.post("/v1/requests", json=ok, headers=auth(token))
        assert r.status_code == 201 and r.json()["state"] == "draft", r.text
        r2 = client.post(f"/v1/requests/{r.json()['id']}:withdraw", headers=auth(token))
        assert r2.status_code == 200 and r2.json()["state"] == "withdrawn"
        r3 = client.post(f"/v1/requests/{r.json()['id']}:send", headers=auth(token))
        assert r3.status_code == 409 and "withdrawn" in r3.json()["detail"]
    assert rows(pair.b, schema.sync_feed) == []  # a draft withdrawn never travelled


def test_expiry_and_escalation_at_a_fixed_clock(pair: Pair) -> None:
    agr = mla(pair, ["mutual-legal-assistance"])
    inv, case_id = requester(pair)
    urgent = requests.create(
        pair.b, inv, preservation(agr, case_id, kind="urgent-disclosure", legal_basis="coe-budapest-31")
    )
    assert urgent.deadline == pair.clock.now() + timedelta(hours=24)
    requests.step(pair.b, inv, urgent.id, "send")
    run(pair.a)
    # within the 48-hour warning window from the start: escalated once at each end, listed every tick
    first = requests.tick(pair.b)
    assert [r.id for r in first.due] == [urgent.id] and first.escalated == [urgent.id] and first.expired == []
    again = requests.tick(pair.b)
    assert [r.id for r in again.due] == [urgent.id] and again.escalated == []
    assert requests.tick(pair.a).escalated == [urgent.id]
    escalations = rows(pair.b, schema.audit_events, schema.audit_events.c.action == "request.escalate")
    assert len(escalations) == 1
    # the deadline passes unanswered: expired at the requester, and the addressee sees it after its pull
    pair.clock.advance(timedelta(hours=25))
    assert requests.tick(pair.a).expired == []  # never on the addressee's side
    done = requests.tick(pair.b)
    assert [r.id for r in done.expired] == [urgent.id] and done.expired[0].state == "expired"
    run(pair.a)
    platform = actor(pair.a, pair.a_org, Role.investigator)
    assert requests.get(pair.a, platform, urgent.id).state == "expired"
    with pytest.raises(Conflict, match="expired"):
        requests.step(pair.a, platform, urgent.id, "answer", TransitionIn(code="disclosed"))
    assert requests.tick(pair.b).expired == []  # once
    assert rows(pair.b, schema.audit_events, schema.audit_events.c.action == "request.expire")


def test_an_answer_and_an_expiry_crossing_settle_the_same_at_both_ends(pair: Pair) -> None:
    agr = mla(pair, ["mutual-legal-assistance"])
    inv, case_id = requester(pair)
    body = preservation(agr, case_id, kind="urgent-disclosure", legal_basis="coe-budapest-31")
    req = requests.step(pair.b, inv, requests.create(pair.b, inv, body).id, "send")
    run(pair.a)
    platform = actor(pair.a, pair.a_org, Role.investigator)
    pair.clock.advance(timedelta(hours=23))
    requests.step(pair.a, platform, req.id, "answer", TransitionIn(code="no-data"))  # in time, not yet pulled
    pair.clock.advance(timedelta(hours=2))
    assert [r.id for r in requests.tick(pair.b).expired] == [req.id]  # the requester has not seen the answer
    run(pair.a)
    run(pair.b)
    mine, theirs = requests.get(pair.b, inv, req.id), requests.get(pair.a, platform, req.id)
    assert (mine.state, mine.answer_code) == (theirs.state, theirs.answer_code) == ("answered", "no-data")
    assert [(e.transition, e.applied) for e in mine.events][-2:] == [("answer", True), ("expire", False)]
