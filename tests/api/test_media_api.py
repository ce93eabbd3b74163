"""/v1/media over HTTP: exact search by one hash, the record's times and count, audit, roles, errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accord.model.organisation import Role
from tests.api.test_audit_api import trail
from tests.conftest import World, auth, report_json

MD5, SHA256, PDQ = "0" * 31 + "1", "ab" * 32, "f" * 64


def test_found_by_each_hash_in_any_case(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    body = report_json("m1", received_at="2026-11-20T10:00:00Z", media=[{"md5": MD5, "sha256": SHA256, "pdq": PDQ}])
    rid = client.post("/v1/reports", json=body, headers=auth(token)).json()["id"]
    later = report_json("m2", received_at="2026-11-22T10:00:00Z", media=[{"pdq": PDQ}])
    rid2 = client.post("/v1/reports", json=later, headers=auth(token)).json()["id"]
    for name, value, ids in (("md5", MD5, [rid]), ("sha256", SHA256.upper(), [rid]), ("pdq", PDQ.upper(), [rid, rid2])):
        r = client.get("/v1/media", params={name: value}, headers=auth(token))
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["key"] == f"{name}:{value.lower()}"
        assert [x["id"] for x in out["items"]] == ids
        assert out["report_count"] == len(ids) and out["first_seen"] == "2026-11-20T10:00:00Z"
        assert out["last_seen"] == ("2026-11-22T10:00:00Z" if name == "pdq" else "2026-11-20T10:00:00Z")
    limited = client.get("/v1/media", params={"pdq": PDQ, "limit": 1}, headers=auth(token)).json()
    assert [x["id"] for x in limited["items"]] == [rid] and limited["report_count"] == 2


def test_a_hash_never_seen_is_an_empty_answer(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    r = client.get("/v1/media", params={"sha256": "12" * 32}, headers=auth(token))
    assert r.status_code == 200
    assert r.json() == {
        "key": "sha256:" + "12" * 32,
        "items": [],
        "first_seen": None,
        "last_seen": None,
        "report_count": 0,
    }


def test_exactly_one_well_formed_hash(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    for params, where in (
        ({}, {"md5", "sha256", "pdq"}),
        ({"md5": MD5, "pdq": PDQ}, {"md5", "pdq"}),
        ({"md5": "xyz"}, {"md5"}),
        ({"sha256": MD5}, {"sha256"}),  # an md5 is not a sha256
    ):
        r = client.get("/v1/media", params=params, headers=auth(token))
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert {e["parameter"] for e in r.json()["errors"]} == where, params


def test_audited_as_media_search_without_the_hash(client: TestClient, world: World) -> None:
    org, token = world.org("A", [Role.analyst])
    auditor = world.key(org, [Role.auditor])
    client.post("/v1/reports", json=report_json("m1"), headers=auth(token))
    client.get("/v1/media", params={"pdq": PDQ}, headers=auth(token, **{"X-Request-Id": "rq-media"}))
    events = [e for e in trail(client, auditor, action="media.search") if e["outcome"] == "success"]
    assert len(events) == 1
    e = events[0]
    assert e["request_id"] == "rq-media" and e["object_type"] == "media"
    assert e["detail"]["kind"] == "pdq" and e["detail"]["hits"] == 1 and len(e["detail"]["ids"]) == 1
    assert PDQ not in str(e)


def test_roles(client: TestClient, world: World) -> None:
    org, _ = world.org("A", [Role.analyst])
    for role, status in ((Role.investigator, 200), (Role.submitter, 403), (Role.auditor, 403), (Role.admin, 403)):
        r = client.get("/v1/media", params={"md5": MD5}, headers=auth(world.key(org, [role])))
        assert r.status_code == status, role
