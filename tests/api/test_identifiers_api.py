"""/v1/identifiers over HTTP: the answer carries the organisation's record of the identifier."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accord.model.organisation import Role
from tests.conftest import World, auth, report_json


def test_answer_has_first_seen_last_seen_and_count(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    _, other = world.org("B", [Role.analyst])
    ids = [
        client.post("/v1/reports", json=report_json(f"r{i}", received_at=t), headers=auth(token)).json()["id"]
        for i, t in enumerate(("2026-11-20T10:00:00Z", "2026-11-02T08:00:00Z", "2026-11-21T10:00:00Z"))
    ]
    client.post("/v1/reports", json=report_json("r0", received_at="2020-01-01T00:00:00Z"), headers=auth(other))
    phone = {"kind": "phone", "value": "+49 30 901820", "limit": "2"}
    r = client.get("/v1/identifiers", params=phone, headers=auth(token))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["key"] == "phone:+4930901820"
    assert [x["id"] for x in out["items"]] == ids[:2]  # the limit cuts the list, not the count
    assert (out["first_seen"], out["last_seen"], out["report_count"]) == (
        "2026-11-02T08:00:00Z",
        "2026-11-21T10:00:00Z",
        3,
    )
    none = client.get("/v1/identifiers", params={"kind": "email", "value": "nobody@example.org"}, headers=auth(token))
    assert none.json() == {
        "key": "email:nobody@example.org",
        "items": [],
        "first_seen": None,
        "last_seen": None,
        "report_count": 0,
    }
