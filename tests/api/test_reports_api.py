"""/v1/reports over HTTP: status codes, headers, idempotency, bulk NDJSON, filters and paging."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient

from accord.model.organisation import Role
from tests.conftest import World, auth, report_json


def test_create_then_read(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    r = client.post("/v1/reports", json=report_json("r1"), headers=auth(token))
    assert r.status_code == 201
    body = r.json()
    assert r.headers["Location"] == f"/v1/reports/{body['id']}"
    assert body["urgent"] is False and body["score"] == 20
    got = client.get(f"/v1/reports/{body['id']}", headers=auth(token))
    assert got.status_code == 200 and got.json() == body


def test_idempotency_key(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    h = auth(token, **{"Idempotency-Key": "abc-1"})
    first = client.post("/v1/reports", json=report_json("r1"), headers=h)
    replay = client.post("/v1/reports", json=report_json("r1"), headers=h)
    assert first.status_code == 201 and replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json()["id"] == first.json()["id"]
    other = client.post("/v1/reports", json=report_json("r2"), headers=h)
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    listed = client.get("/v1/reports", headers=auth(token)).json()["items"]
    assert [x["external_id"] for x in listed] == ["r1"]


def test_sealed_fields_are_never_returned(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    body = report_json(
        "r1",
        narrative="CANARY-NARRATIVE-7731",
        subjects=[
            {"role": "suspect", "identifiers": [{"kind": "email", "value": "s@example.org"}]},
            {"role": "victim", "identifiers": [{"kind": "email", "value": "canary-victim@example.org"}]},
        ],
    )
    r = client.post("/v1/reports", json=body, headers=auth(token))
    assert r.status_code == 201
    assert r.json()["sealed"] == ["/subjects/1", "/narrative"]
    text = client.get(f"/v1/reports/{r.json()['id']}", headers=auth(token)).text
    assert "CANARY" not in text and "canary-victim" not in text
    hits = client.get(
        "/v1/identifiers", params={"kind": "email", "value": "canary-victim@example.org"}, headers=auth(token)
    )
    assert hits.status_code == 200 and hits.json()["items"] == []


def test_bulk_ndjson(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    lines = [orjson.dumps(report_json(f"b{i}")) for i in range(4)]
    lines.insert(1, b'{"source": 5}')
    lines.append(orjson.dumps(report_json("b0")))
    body = b"\n".join(lines) + b"\n"
    r = client.post("/v1/reports:bulk", content=body, headers=auth(token, **{"content-type": "application/x-ndjson"}))
    assert r.status_code == 200
    out = r.json()
    assert (out["lines"], out["accepted"], out["duplicates"]) == (6, 4, 1)
    assert {x["line"] for x in out["rejected"]} == {2}
    assert any(x["pointer"] == "/source" for x in out["rejected"])


def test_filters_and_cursor(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    for i in range(5):
        client.post(
            "/v1/reports",
            json=report_json(f"r{i}", urgency=["imminent-danger"] if i == 2 else []),
            headers=auth(token),
        )
    urgent = client.get("/v1/reports", params={"urgent": "true"}, headers=auth(token)).json()
    assert [x["external_id"] for x in urgent["items"]] == ["r2"]
    seen, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/reports", params=params, headers=auth(token)).json()
        seen += [x["external_id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"r{i}" for i in range(5)]
    bad = client.get("/v1/reports", params={"incident_type": "nope"}, headers=auth(token))
    assert bad.status_code == 422 and bad.json()["errors"] == [
        {"parameter": "incident_type", "detail": "unknown code 'nope'"}
    ]


def test_identifier_search_normalises_the_query(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    rid = client.post("/v1/reports", json=report_json("r1"), headers=auth(token)).json()["id"]
    for params in (
        {"kind": "email", "value": "SUBJECT.a@example.ORG"},
        {"kind": "phone", "value": "030 901820", "region": "DE"},
        {"kind": "account", "service": "PLATFORM-01", "value": "u-100"},
    ):
        r = client.get("/v1/identifiers", params=params, headers=auth(token))
        assert r.status_code == 200, r.text
        assert [x["id"] for x in r.json()["items"]] == [rid], params
    bad = client.get("/v1/identifiers", params={"kind": "ip", "value": "300.1.1.1"}, headers=auth(token))
    assert bad.status_code == 422 and bad.json()["errors"][0]["parameter"] == "value"
