"""Deconfliction between two real nodes over HTTP (ASGI transport): the platform's node (A) asks the
hotline's node (B) which identifiers or hashes they both hold. Each learns exactly the plain intersection,
nothing of either side's items crosses in clear or as a plain hash, both sides keep an alert with no case
content, the per-peer daily limit refuses the next query (problem+json, audited), and an organisation that
is no party to an agreement allowing deconfliction is refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.api.app import create_app
from accord.exchange.agreement import SignedAgreement
from accord.exchange.envelope import seal
from accord.exchange.psi import Initiator
from accord.model.organisation import Actor, Role
from accord.services import deconfliction, peers
from accord.services import reports as report_service
from accord.services.node import Node
from accord.store import deconfliction as dstore
from accord.store import schema
from tests.conftest import auth, report_json
from tests.federation.conftest import Pair, agreement_between

DCF_AGREEMENT = "agr_01TESTDECONFLICTION0000000"


def _emails(*names: str) -> list[dict[str, str]]:
    return [{"kind": "email", "value": f"{n}@example.org"} for n in names]


def _sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def load(node: Node, actor: Actor, reports: list[tuple[list[str], list[str]]]) -> None:
    """Reports of the actor's organisation, each with these e-mail identifiers and sha256 media hashes."""
    lines = []
    for i, (names, hashes) in enumerate(reports):
        body = report_json(
            f"dcf-{i}",
            subjects=[{"role": "suspect", "identifiers": _emails(*names)}],
            media=[{"sha256": _sha(h)} for h in hashes],
        )
        lines.append((i + 1, orjson.dumps(body)))
    result = report_service.ingest_lines(node, actor, lines)
    assert result.accepted == len(reports), result


def items(node: Node, org: str, kind: str) -> set[str]:
    with node.db.read() as conn:
        return set(dstore.own_items(conn, org, kind))


def allow_deconfliction(p: Pair, purposes: list[str] | None = None, agreement_id: str = DCF_AGREEMENT) -> None:
    agreement = agreement_between(
        {p.a_org: p.a.me.node_id, p.b_org: p.b.me.node_id},
        p.clock,
        agreement_id,
        purposes=purposes or ["deconfliction"],
    )
    signed = SignedAgreement(agreement).sign(p.a.me).sign(p.b.me).to_json()
    peers.store_agreement(p.a, None, signed)
    peers.store_agreement(p.b, None, signed)


@pytest.fixture
def loaded(pair: Pair) -> Pair:
    p = pair
    load(p.a, p.a_actor, [(["alice", "shared1"], ["a-only", "both-1"]), (["shared2", "amy"], ["both-2"])])
    load(p.b, p.b_actor, [(["shared1", "bob"], ["both-1", "b-only"]), (["shared2"], ["both-2"]), (["ben"], [])])
    allow_deconfliction(p)
    return p


def client_of(node: Node) -> TestClient:
    return TestClient(create_app(node, run_jobs=False), raise_server_exceptions=False)


def a_token(p: Pair) -> str:
    return p.a_world.key(p.a_org, [Role.analyst])


def events(node: Node, action: str) -> list[Any]:
    with node.db.read() as conn:
        t = schema.audit_events
        return list(conn.execute(sa.select(t).where(t.c.action == action).order_by(t.c.seq)))


def envelopes(node: Node) -> list[Any]:
    with node.db.read() as conn:
        return list(conn.execute(sa.select(schema.federation_envelopes)))


def runs(node: Node) -> list[Any]:
    with node.db.read() as conn:
        return list(conn.execute(sa.select(schema.deconfliction_runs)))


def forms(item: str) -> list[str]:
    """An item in clear and as plain hashes (hex and base64), as it must never appear on the wire."""
    raw = item.encode()
    digests = [hashlib.sha256(raw).digest(), hashlib.sha512(raw).digest(), hashlib.md5(raw).digest()]
    return [item, *(d.hex() for d in digests), *(base64.b64encode(d).decode() for d in digests)]


def test_both_learn_exactly_the_plain_intersection_and_nothing_else_crosses(loaded: Pair) -> None:
    p = loaded
    a_ids, b_ids = items(p.a, p.a_org, "identifiers"), items(p.b, p.b_org, "identifiers")
    plain = a_ids & b_ids
    assert plain == {"email:shared1@example.org", "email:shared2@example.org"}
    token = a_token(p)
    with client_of(p.a) as c:
        r = c.post("/v1/deconfliction/runs", json={"peer": p.b.me.node_id, "set": "identifiers"}, headers=auth(token))
        assert r.status_code == 201, r.text
        run = r.json()
        assert (run["role"], run["state"], run["org_id"], run["peer_org"]) == ("initiator", "done", p.a_org, p.b_org)
        assert set(run["members"]) == plain and run["count"] == 2
        assert (run["own_size"], run["peer_size"], run["agreement_id"]) == (len(a_ids), len(b_ids), DCF_AGREEMENT)
        assert c.get(f"/v1/deconfliction/runs/{run['id']}", headers=auth(token)).json() == run

        # hashes in count mode: the count only, no members
        r = c.post(
            "/v1/deconfliction/runs",
            json={"peer": p.b.me.node_id, "set": "hashes", "mode": "count"},
            headers=auth(token),
        )
        assert r.status_code == 201, r.text
        counted = r.json()
        a_h, b_h = items(p.a, p.a_org, "hashes"), items(p.b, p.b_org, "hashes")
        assert counted["count"] == len(a_h & b_h) == 2 and counted["members"] is None
        a_alerts = c.get("/v1/deconfliction/alerts", headers=auth(token)).json()

    # B learned its side of the same intersection under the same reference
    (b_run,) = [r for r in runs(p.b) if r.reference == run["reference"]]
    assert (b_run.role, b_run.state, b_run.org_id, b_run.peer_org) == ("responder", "done", p.b_org, p.a_org)
    assert set(b_run.members) == plain and b_run.count == 2

    # an alert on each side for each run: reference, the two organisations, the agreement, the count
    assert len(a_alerts) == 2
    fields = {"id", "org_id", "reference", "peer", "peer_org", "agreement_id", "count", "at"}
    for alert in a_alerts:
        assert set(alert) == fields and alert["org_id"] == p.a_org and alert["peer_org"] == p.b_org
    assert {a["reference"] for a in a_alerts} == {run["reference"], counted["reference"]}
    b_key = p.b_world.key(p.b_org, [Role.analyst])
    with client_of(p.b) as c:
        b_alerts = c.get("/v1/deconfliction/alerts", headers=auth(b_key)).json()
        assert c.get(f"/v1/deconfliction/runs/{run['id']}", headers=auth(b_key)).status_code == 404  # A's run
    assert {(a["reference"], a["org_id"], a["peer_org"], a["count"]) for a in b_alerts} == {
        (run["reference"], p.b_org, p.a_org, 2),
        (counted["reference"], p.b_org, p.a_org, 2),
    }
    every_item = a_ids | b_ids | a_h | b_h
    alert_text = json.dumps(a_alerts + b_alerts)
    assert not [i for i in every_item if i.split(":", 1)[1] in alert_text]  # no case content in an alert

    # every envelope both nodes stored, decoded: blinded points and tags only, no input in clear or hashed
    stored = envelopes(p.a) + envelopes(p.b)
    assert len(stored) == 12  # per run: A offer, reply, finish; B offer, reply, finish
    wire = ""
    for row in stored:
        for blob in (bytes(row.raw), bytes(row.receipt) if row.receipt is not None else b""):
            wire += blob.decode()
            if blob:
                wire += base64.b64decode(json.loads(blob)["payload"]).decode()
    leaked = [f for i in every_item for f in forms(i) + forms(i.split(":", 1)[1]) if f in wire]
    assert leaked == []

    # audited on both sides, each envelope in custody on both sides
    assert {e.outcome for e in events(p.a, "deconfliction.query")} == {"success"}
    assert len(events(p.a, "deconfliction.query")) == 4  # started and result, per run
    assert len(events(p.b, "deconfliction.answer")) == 4  # replied and result, per run
    assert len(events(p.a, "deconfliction.alert")) == len(events(p.b, "deconfliction.alert")) == 2
    with p.b.db.read() as conn:
        n_leaves = conn.execute(sa.select(sa.func.count()).select_from(schema.custody_leaves)).scalar_one()
    assert n_leaves >= 8  # B: offer in, reply out, finish in, receipt; per run


def test_the_daily_limit_refuses_the_next_query_on_either_side_and_is_audited(loaded: Pair) -> None:
    p = loaded
    p.a.settings = replace(p.a.settings, deconfliction_daily_limit=2)
    token = a_token(p)
    body = {"peer": p.b.me.node_id, "set": "identifiers", "mode": "count"}
    with client_of(p.a) as c:
        for _ in range(2):
            assert c.post("/v1/deconfliction/runs", json=body, headers=auth(token)).status_code == 201
        r = c.post("/v1/deconfliction/runs", json=body, headers=auth(token))
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 429 and "limit is 2" in r.json()["detail"]
        refused = [e for e in events(p.a, "deconfliction.query") if e.outcome == "refused"]
        assert [e.detail["reason"] for e in refused] == ["rate-limit"]
        assert len(runs(p.b)) == 2  # nothing reached B

        # B's own limit on what it answers: A may ask more, B answers two a day
        p.a.settings = replace(p.a.settings, deconfliction_daily_limit=10)
        p.b.settings = replace(p.b.settings, deconfliction_daily_limit=2)
        r = c.post("/v1/deconfliction/runs", json=body, headers=auth(token))
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json", r.text
        assert len(runs(p.b)) == 2
        (b_refused,) = [e for e in events(p.b, "deconfliction.answer") if e.outcome == "refused"]
        assert (b_refused.detail["reason"], b_refused.org_id) == ("rate-limit", p.b_org)
        failed = [r for r in runs(p.a) if r.state == "failed"]
        assert len(failed) == 1 and failed[0].detail.startswith("rate-limit")

        p.clock.advance(timedelta(days=1, seconds=1))  # a day later both limits allow it again
        assert c.post("/v1/deconfliction/runs", json=body, headers=auth(token)).status_code == 201


def test_an_organisation_without_an_agreement_allowing_it_is_refused(pair: Pair) -> None:
    p = pair  # the pair's own agreement lists takedown only
    load(p.a, p.a_actor, [(["shared1"], [])])
    load(p.b, p.b_actor, [(["shared1"], [])])
    token = a_token(p)
    body = {"peer": p.b.me.node_id, "set": "identifiers"}
    with client_of(p.a) as c:
        r = c.post("/v1/deconfliction/runs", json=body, headers=auth(token))
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        assert "allows deconfliction" in r.json()["detail"]
        allow_deconfliction(p)
        other_org, other_token = p.a_world.org("Other platform", [Role.analyst], jurisdiction="NL")
        r = c.post("/v1/deconfliction/runs", json=body, headers=auth(other_token))
        assert r.status_code == 404  # a party to no agreement with B
        assert c.post("/v1/deconfliction/runs", json=body, headers=auth(token)).status_code == 201
    refused = [e for e in events(p.a, "deconfliction.query") if e.outcome == "refused"]
    assert [(e.org_id, e.detail["reason"]) for e in refused] == [(p.a_org, "agreement"), (other_org, "agreement")]

    # an offer sealed by A under the takedown-only agreement, sent straight to B: refused there, stored nowhere
    offer = Initiator(["email:shared1@example.org"], kind="identifiers").offer()
    raw = seal(
        p.a.me,
        recipient=p.b.me.node_id,
        agreement_id=p.agreement.id,
        purpose="deconfliction",
        marking="GREEN",
        category="csam",
        obj={"offer": offer.to_json(), "reference": "dcr_forged", "type": "psi-offer"},
        now=p.clock.now(),
    )
    before = (len(runs(p.b)), len(envelopes(p.b)))

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=p.a.peer_transport, base_url="http://node-b.test") as client:
            return await client.post(deconfliction.PATH, content=raw)

    r = asyncio.run(post())
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert (r.json()["reason"], r.json()["clause"]) == ("agreement", "purposes")
    assert json.loads(r.json()["receipt"])["payloadType"] == "application/vnd.accord.receipt.v1+json"
    assert (len(runs(p.b)), len(envelopes(p.b))) == before
    assert [e.detail["clause"] for e in events(p.b, "deconfliction.answer") if e.outcome == "refused"] == ["purposes"]
