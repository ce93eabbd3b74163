"""Bad input of every kind gets a problem+json answer and writes nothing (RELIABILITY A3, STYLE habit 8)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from accord.model.organisation import CredentialIn, Role
from accord.services import admin
from tests.conftest import World, auth, report_json


def assert_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert "Traceback" not in r.text and 'File "' not in r.text
    return body


def count(client: TestClient, token: str) -> int:
    return len(client.get("/v1/reports", headers=auth(token)).json()["items"])


@pytest.mark.parametrize(
    ("body", "status", "pointer"),
    [
        (b"{not json", 400, ""),
        (b"[]", 422, ""),
        (report_json(received_at=5), 422, "/received_at"),
        (report_json(received_at="2026-11-20T10:00:00"), 422, "/received_at"),
        (report_json(surprise=True), 422, "/surprise"),
        (report_json(incident_type="unknown-code"), 422, "/incident_type"),
        (report_json(urgency=["nope"]), 422, "/urgency/0"),
        (report_json(marking="PURPLE"), 422, "/marking"),
        (report_json(location={"country": "XX"}), 422, "/location/country"),
        (
            report_json(subjects=[{"identifiers": [{"kind": "phone", "value": "+1 555"}]}]),
            422,
            "/subjects/0/identifiers/0",
        ),
        (
            report_json(subjects=[{"identifiers": [{"kind": "ip", "value": "10.0.0.300"}]}]),
            422,
            "/subjects/0/identifiers/0",
        ),
        (report_json(media=[{"size": 3}]), 422, "/media/0"),
        (report_json(media=[{"md5": "xyz"}]), 422, "/media/0/md5"),
    ],
)
def test_bad_report_bodies(client: TestClient, world: World, body: Any, status: int, pointer: str) -> None:
    _, token = world.org("A", [Role.analyst])
    kw: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
    r = client.post("/v1/reports", headers=auth(token, **{"content-type": "application/json"}), **kw)
    problem = assert_problem(r, status)
    assert pointer in [e.get("pointer") for e in problem.get("errors", [])], problem
    assert count(client, token) == 0


def test_oversize_body_is_413(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    big = report_json(narrative="x" * 10, media=[{"md5": "0" * 32}] * 1) | {"pad": "y" * (2 << 20)}
    r = client.post("/v1/reports", json=big, headers=auth(token))
    assert_problem(r, 413)

    def chunks() -> Any:  # no Content-Length: the limit must hold while streaming
        for _ in range(40):
            yield b"z" * 65536

    r = client.post("/v1/reports", content=chunks(), headers=auth(token, **{"content-type": "application/json"}))
    assert_problem(r, 413)
    assert count(client, token) == 0


def test_authentication_failures(client: TestClient, world: World, clock: FixedClock) -> None:
    org, token = world.org("A", [Role.analyst])
    for headers in ({}, auth("nonsense"), auth(token[:-2] + "xx"), auth("accord_key_01ABC_secret")):
        body = assert_problem(client.get("/v1/reports", headers=headers), 401)
        assert body["detail"].startswith("a valid, unexpired API key")
    expiring = admin.create_credential_local(
        world.node, org, CredentialIn(name="temp", roles=[Role.analyst], expires_at=clock.now() + timedelta(hours=1))
    )
    assert client.get("/v1/reports", headers=auth(expiring.token)).status_code == 200
    clock.advance(timedelta(hours=2))
    assert_problem(client.get("/v1/reports", headers=auth(expiring.token)), 401)


def test_revoked_key_is_refused_at_once(client: TestClient, world: World) -> None:
    _, admin_token = world.org("A", [Role.admin])
    issued = client.post("/v1/credentials", json={"name": "x", "roles": ["analyst"]}, headers=auth(admin_token)).json()
    assert client.get("/v1/reports", headers=auth(issued["token"])).status_code == 200
    r = client.delete(f"/v1/credentials/{issued['credential']['id']}", headers=auth(admin_token))
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert_problem(client.get("/v1/reports", headers=auth(issued["token"])), 401)
    assert_problem(client.post("/v1/reports", json=report_json(), headers=auth(issued["token"])), 401)


def test_forbidden_and_unknown_routes(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.submitter])
    assert_problem(client.get("/v1/reports", headers=auth(token)), 403)
    assert_problem(client.get("/v1/nowhere", headers=auth(token)), 404)
    assert_problem(client.put("/v1/reports", headers=auth(token)), 405)


def test_bad_query_parameters(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    body = assert_problem(client.get("/v1/reports", params={"limit": 0}, headers=auth(token)), 422)
    assert body["errors"][0]["parameter"] == "limit"
    body = assert_problem(
        client.get("/v1/reports", params={"received_after": "2026-01-01T00:00:00"}, headers=auth(token)), 422
    )
    assert body["errors"][0]["parameter"] == "received_after"
