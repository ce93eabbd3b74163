"""Auditors' queries by actor, object, time range, action family and outcome, and the NDJSON export."""

from __future__ import annotations

from datetime import timedelta

import orjson
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from tests.conftest import World, auth
from tests.sealing import approval, ask, ok, setup_org


def test_filters_and_export(client: TestClient, world: World, clock: FixedClock) -> None:
    org = setup_org(client, world, "A")
    req = ask(client, org)
    c = org.custodians[0]
    clock.advance(timedelta(hours=1))
    client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator))  # refused: no approvals
    ok(client.post(f"/v1/unseal-requests/{req['id']}/approvals", json=approval(req, c), headers=auth(c.token)), 201)
    aud = auth(org.auditor)

    def items(**params: str) -> list[dict[str, object]]:
        out: list[dict[str, object]] = ok(client.get("/v1/audit", params=params, headers=aud))["items"]
        return out

    assert [e["action"] for e in items(action="unseal.*")] == ["unseal.request", "unseal.open", "unseal.approve"]
    assert [e["action"] for e in items(outcome="refused")] == ["unseal.open"]
    assert {e["object_id"] for e in items(object_type="unseal_request")} == {req["id"]}
    assert [e["action"] for e in items(actor_id=c.actor_id)] == ["unseal.approve"]
    later = items(since="2026-11-25T12:30:00Z")
    assert {e["action"] for e in later} >= {"unseal.open", "unseal.approve"} and "unseal.request" not in {
        e["action"] for e in later
    }
    assert [e["action"] for e in items(until="2026-11-25T12:30:00Z", action="unseal.*")] == ["unseal.request"]
    assert items(action="unseal_*") == []  # a family is "prefix.*"; other wildcards match literally

    r = client.get("/v1/audit/export", params={"action": "unseal.*", "object_id": req["id"]}, headers=aud)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in r.content.splitlines()]
    assert [e["action"] for e in lines] == ["unseal.request", "unseal.open", "unseal.approve"]
    assert lines == items(action="unseal.*", object_id=req["id"])  # the same events as the query shows
    export = items(action="audit.export")[-1]
    assert export["detail"] == {"count": 3, "filters": {"action": "unseal.*", "object_id": True}}

    whole = client.get("/v1/audit/export", headers=aud)
    assert len(whole.content.splitlines()) > 20
    for token in (org.investigator, org.admin, c.token):
        assert client.get("/v1/audit/export", headers=auth(token)).status_code == 403
    r = client.get("/v1/audit/export", params={"since": "2026-11-25T12:00:00"}, headers=aud)
    assert r.status_code == 422 and r.json()["errors"][0]["parameter"] == "since"
