"""/v1/audit over HTTP: what the trail records, who may read it, filters, paging, and the hash chain."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from accord.model.organisation import Role
from accord.safeguards import apikeys
from accord.services import audit
from accord.store import audit as audit_store
from accord.store.schema import audit_events
from tests.conftest import World, auth, report_json

FIELDS = {"seq", "at", "actor_id", "org_id", "action", "object_type", "object_id", "request_id", "outcome", "detail"}
NARRATIVE_CANARY = "CANARY-NARRATIVE-5519"
VICTIM_CANARY = "canary-victim-5519@example.org"


def trail(client: TestClient, token: str, **params: Any) -> list[dict[str, Any]]:
    """Every event the auditor may see with these filters, following the cursor."""
    items: list[dict[str, Any]] = []
    after = None
    while True:
        q = {**params, **({"after": after} if after is not None else {})}
        r = client.get("/v1/audit", params=q, headers=auth(token))
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        after = page["next_cursor"]
        if after is None:
            return items


def wrong_secret(token: str) -> str:
    parsed = apikeys.parse_key(token)
    assert parsed is not None
    return apikeys.format_key(parsed.key_id, parsed.secret + "x")


def test_the_auditor_sees_what_happened(client: TestClient, world: World) -> None:
    org_id, analyst = world.org("A", [Role.analyst])
    auditor = world.key(org_id, [Role.auditor])
    submitter = world.key(org_id, [Role.submitter])
    _, stranger = world.org("B", [Role.analyst])
    analyst_id, submitter_id = world.actor(analyst).id, world.actor(submitter).id

    created = client.post(
        "/v1/reports", json=report_json("r1"), headers=auth(analyst, **{"X-Request-Id": "rq-create-1"})
    )
    assert created.status_code == 201 and created.headers["X-Request-Id"] == "rq-create-1"
    rid = created.json()["id"]
    assert client.get(f"/v1/reports/{rid}", headers=auth(analyst, **{"X-Request-Id": "rq-read-1"})).status_code == 200
    assert client.get("/v1/reports", headers=auth(analyst)).status_code == 200
    assert client.get("/v1/reports", headers=auth(submitter, **{"X-Request-Id": "rq-denied-1"})).status_code == 403
    bad = client.get("/v1/reports", headers=auth(wrong_secret(analyst), **{"X-Request-Id": "rq-badkey-1"}))
    assert bad.status_code == 401
    assert client.post("/v1/reports", json=report_json("s1"), headers=auth(stranger)).status_code == 201

    events = trail(client, auditor)
    for ev in events:
        assert set(ev) >= FIELDS, ev
        assert ev["org_id"] == org_id  # never another organisation's events
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    by_rq = {e["request_id"]: e for e in events if e["request_id"]}
    create = by_rq["rq-create-1"]
    assert (create["action"], create["actor_id"], create["object_id"], create["outcome"]) == (
        "report.create",
        analyst_id,
        rid,
        "success",
    )
    assert create["object_type"] == "report" and create["at"].startswith("2026-11-25T12:00:00")
    read = by_rq["rq-read-1"]
    assert (read["action"], read["actor_id"], read["object_id"]) == ("report.read", analyst_id, rid)
    listed = [e for e in events if e["action"] == "report.list"]
    assert len(listed) == 1 and listed[0]["detail"]["ids"] == [rid]
    denied = by_rq["rq-denied-1"]
    assert (denied["action"], denied["actor_id"], denied["outcome"]) == ("report.read", submitter_id, "denied")
    failure = by_rq["rq-badkey-1"]
    assert failure["action"] == "auth.failure" and failure["outcome"] == "failure"
    assert failure["actor_id"] is None
    assert failure["object_id"] == apikeys.parse_key(analyst).key_id  # type: ignore[union-attr]
    assert failure["detail"] == {"reason": "wrong secret"}


def test_filters(client: TestClient, world: World, clock: FixedClock) -> None:
    org_id, analyst = world.org("A", [Role.analyst])
    other_analyst = world.key(org_id, [Role.analyst])
    auditor = world.key(org_id, [Role.auditor])
    analyst_id, other_id = world.actor(analyst).id, world.actor(other_analyst).id
    t0 = clock.now()
    r1 = client.post("/v1/reports", json=report_json("r1"), headers=auth(analyst)).json()["id"]
    clock.advance(timedelta(hours=1))
    r2 = client.post("/v1/reports", json=report_json("r2"), headers=auth(other_analyst)).json()["id"]
    client.get(f"/v1/reports/{r1}", headers=auth(other_analyst))
    clock.advance(timedelta(hours=1))
    client.get(f"/v1/reports/{r2}", headers=auth(analyst))
    clock.advance(timedelta(hours=1))

    creates = trail(client, auditor, action="report.create")
    assert [e["object_id"] for e in creates] == [r1, r2]
    assert {e["action"] for e in creates} == {"report.create"}

    on_r1 = trail(client, auditor, object_id=r1)
    assert [(e["action"], e["actor_id"]) for e in on_r1] == [("report.create", analyst_id), ("report.read", other_id)]

    by_other = trail(client, auditor, actor_id=other_id)
    assert [(e["action"], e["object_id"]) for e in by_other] == [("report.create", r2), ("report.read", r1)]

    iso = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    second_hour = trail(
        client, auditor, since=iso(t0 + timedelta(hours=1)), until=iso(t0 + timedelta(hours=2)), action="report.read"
    )
    assert [e["object_id"] for e in second_hour] == [r1]
    window = trail(client, auditor, since=iso(t0 + timedelta(hours=1)), until=iso(t0 + timedelta(hours=2)))
    # the same window written with another offset selects the same events
    shifted = trail(client, auditor, since="2026-11-25T14:00:00+01:00", until="2026-11-25T08:00:00-06:00")
    assert [e["seq"] for e in shifted] == [e["seq"] for e in window]
    assert {e["object_id"] for e in window} == {r1, r2}
    assert all(e["at"].startswith("2026-11-25T13:") for e in window)
    later = trail(client, auditor, since=iso(t0 + timedelta(hours=2)), action="report.read")
    assert [e["object_id"] for e in later] == [r2]
    assert trail(client, auditor, until=iso(t0), action="report.create") == []
    combined = trail(client, auditor, actor_id=analyst_id, action="report.read")
    assert [e["object_id"] for e in combined] == [r2]

    naive = client.get("/v1/audit", params={"since": "2026-11-25T12:00:00"}, headers=auth(auditor))
    assert naive.status_code == 422 and naive.json()["errors"][0]["parameter"] == "since"


def test_paging(client: TestClient, world: World) -> None:
    org_id, analyst = world.org("A", [Role.analyst])
    auditor = world.key(org_id, [Role.auditor])
    ids = [client.post("/v1/reports", json=report_json(f"r{i}"), headers=auth(analyst)).json()["id"] for i in range(5)]
    pages, after = [], None
    while True:
        params: dict[str, Any] = {"action": "report.create", "limit": 2}
        if after is not None:
            params["after"] = after
        page = client.get("/v1/audit", params=params, headers=auth(auditor)).json()
        pages.append([e["object_id"] for e in page["items"]])
        if page["next_cursor"] is None:
            break
        assert page["next_cursor"] == page["items"][-1]["seq"]
        after = page["next_cursor"]
    assert pages == [ids[0:2], ids[2:4], ids[4:5]]
    first = client.get("/v1/audit", params={"action": "report.create", "limit": 5}, headers=auth(auditor)).json()
    assert first["next_cursor"] is None and len(first["items"]) == 5
    beyond = client.get("/v1/audit", params={"after": 10**9}, headers=auth(auditor)).json()
    assert beyond == {"items": [], "next_cursor": None}
    assert client.get("/v1/audit", params={"limit": 0}, headers=auth(auditor)).status_code == 422
    assert client.get("/v1/audit", params={"after": -1}, headers=auth(auditor)).status_code == 422


def test_only_auditors_read_the_trail(client: TestClient, world: World) -> None:
    org_id, analyst = world.org("A", [Role.analyst])
    auditor = world.key(org_id, [Role.auditor])
    for token in (analyst, world.key(org_id, [Role.admin]), world.key(org_id, [Role.supervisor]), world.operator_token):
        r = client.get("/v1/audit", headers=auth(token, **{"X-Request-Id": "rq-peek"}))
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/audit").status_code == 401
    peeks = trail(client, auditor, action="audit.read")
    denied = [e for e in peeks if e["outcome"] == "denied"]
    assert len(denied) == 3 and all(e["request_id"] == "rq-peek" for e in denied)  # the operator's is in its own org


def test_no_sealed_content_in_the_trail(client: TestClient, world: World) -> None:
    org_id, analyst = world.org("A", [Role.analyst])
    auditor = world.key(org_id, [Role.auditor])
    body = report_json(
        "r1",
        narrative=NARRATIVE_CANARY,
        subjects=[
            {"role": "suspect", "identifiers": [{"kind": "email", "value": "s@example.org"}]},
            {"role": "victim", "identifiers": [{"kind": "email", "value": VICTIM_CANARY}]},
        ],
    )
    r = client.post("/v1/reports", json=body, headers=auth(analyst))
    assert r.status_code == 201
    rid = r.json()["id"]
    client.get(f"/v1/reports/{rid}", headers=auth(analyst))
    client.get("/v1/reports", headers=auth(analyst))
    client.get("/v1/identifiers", params={"kind": "email", "value": VICTIM_CANARY}, headers=auth(analyst))
    client.post("/v1/reports", json=report_json("r1", narrative=NARRATIVE_CANARY + "-changed"), headers=auth(analyst))
    client.post("/v1/reports", json={**body, "received_at": "yesterday"}, headers=auth(analyst))
    events = trail(client, auditor)
    assert {"report.create", "report.read", "report.list", "identifier.search"} <= {e["action"] for e in events}
    with world.node.db.read() as conn:
        everything = list(audit_store.iterate(conn))
    assert len(everything) > len(events)
    for text in (json.dumps(events), json.dumps(everything, default=str)):
        assert NARRATIVE_CANARY not in text and "CANARY" not in text
        assert VICTIM_CANARY not in text and "canary-victim" not in text.lower()


def test_chain_verifies_and_a_direct_update_breaks_it(client: TestClient, world: World) -> None:
    org_id, analyst = world.org("A", [Role.analyst])
    auditor = world.key(org_id, [Role.auditor])
    rid = client.post("/v1/reports", json=report_json("r1"), headers=auth(analyst)).json()["id"]
    client.get(f"/v1/reports/{rid}", headers=auth(analyst))
    client.get("/v1/reports", headers=auth(wrong_secret(analyst)))
    client.get("/v1/audit", headers=auth(auditor))
    clean = audit.verify(world.node)
    assert clean.ok and clean.breaks == []
    assert clean.checked >= 8
    head = audit.head(world.node)
    assert head is not None and head[0] == clean.checked

    target = next(e for e in trail(client, auditor, action="report.read") if e["object_id"] == rid)["seq"]
    with world.node.db.write() as conn:
        changed = conn.execute(
            sa.update(audit_events).where(audit_events.c.seq == target).values(outcome="denied")
        ).rowcount
    assert changed == 1
    broken = audit.verify(world.node)
    assert not broken.ok
    assert {b.seq for b in broken.breaks} == {target}
    assert broken.checked >= clean.checked
