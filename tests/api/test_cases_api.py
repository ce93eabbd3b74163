"""/v1/cases over HTTP: create, read, list with filter and cursor, status transitions, linking, roles."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accord.model.organisation import Role
from tests.conftest import World, auth, report_json

LEAD = [Role.analyst, Role.investigator]


def reports(client: TestClient, token: str, *exts: str) -> list[str]:
    ids = []
    for ext in exts:
        r = client.post("/v1/reports", json=report_json(ext), headers=auth(token))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def new_case(client: TestClient, token: str, title: str = "op-1", **extra: object) -> dict[str, object]:
    r = client.post("/v1/cases", json={"title": title, "jurisdiction": "DE", **extra}, headers=auth(token))
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_create_get_and_location(client: TestClient, world: World) -> None:
    org_id, token = world.org("A", LEAD)
    r1, r2 = reports(client, token, "r1", "r2")
    r = client.post(
        "/v1/cases", json={"title": "op-1", "jurisdiction": "NL", "report_ids": [r2, r1, r2]}, headers=auth(token)
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert r.headers["Location"] == f"/v1/cases/{case['id']}"
    assert case["id"].startswith("case_")
    assert case["org_id"] == org_id and case["status"] == "open" and case["jurisdiction"] == "NL"
    assert sorted(case["report_ids"]) == sorted([r1, r2])  # the repeated id is linked once
    got = client.get(r.headers["Location"], headers=auth(token))
    assert got.status_code == 200 and got.json() == case
    # another organisation cannot see it, and cannot tell it exists
    _, other = world.org("B", LEAD)
    assert client.get(f"/v1/cases/{case['id']}", headers=auth(other)).status_code == 404
    assert client.get("/v1/cases/case_NOPE", headers=auth(token)).status_code == 404
    assert client.get("/v1/cases", headers=auth(other)).json()["items"] == []


def test_list_with_status_filter_and_cursor(client: TestClient, world: World) -> None:
    _, token = world.org("A", LEAD)
    ids = [str(new_case(client, token, f"op-{i}")["id"]) for i in range(5)]
    for cid in ids[1:4:2]:  # two of them become active
        assert client.patch(f"/v1/cases/{cid}", json={"status": "active"}, headers=auth(token)).status_code == 200
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/cases", params=params, headers=auth(token))
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == ids and pages == 3
    active = client.get("/v1/cases", params={"status": "active"}, headers=auth(token)).json()
    assert [c["id"] for c in active["items"]] == [ids[1], ids[3]] and active["next_cursor"] is None
    assert all(c["status"] == "active" for c in active["items"])
    opened = client.get("/v1/cases", params={"status": "open", "limit": 2}, headers=auth(token)).json()
    assert [c["id"] for c in opened["items"]] == [ids[0], ids[2]] and opened["next_cursor"] == ids[2]
    bad = client.get("/v1/cases", params={"status": "archived"}, headers=auth(token))
    assert bad.status_code == 422 and bad.json()["errors"][0]["parameter"] == "status"


def test_status_transitions(client: TestClient, world: World) -> None:
    _, token = world.org("A", LEAD)
    cid = new_case(client, token)["id"]
    url = f"/v1/cases/{cid}"
    noop = client.patch(url, json={"status": "open"}, headers=auth(token))  # open -> open changes nothing
    assert noop.status_code == 200 and noop.json()["status"] == "open"
    for status in ("active", "closed", "active", "suspended", "active"):
        r = client.patch(url, json={"status": status}, headers=auth(token))
        assert r.status_code == 200, (status, r.text)
        assert r.json()["status"] == status
        assert client.get(url, headers=auth(token)).json()["status"] == status
    same = client.patch(url, json={"status": "active"}, headers=auth(token))  # no change is not a transition
    assert same.status_code == 200 and same.json()["status"] == "active"
    refused = client.patch(url, json={"status": "open"}, headers=auth(token))
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/status"]
    assert client.get(url, headers=auth(token)).json()["status"] == "active"  # unchanged
    unknown = client.patch(url, json={"status": "archived"}, headers=auth(token))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "/status"
    extra = client.patch(url, json={"status": "closed", "title": "x"}, headers=auth(token))
    assert extra.status_code == 422
    assert client.get(url, headers=auth(token)).json()["status"] == "active"


def test_closed_case_cannot_be_suspended(client: TestClient, world: World) -> None:
    _, token = world.org("A", LEAD)
    cid = new_case(client, token)["id"]
    assert client.patch(f"/v1/cases/{cid}", json={"status": "closed"}, headers=auth(token)).status_code == 200
    r = client.patch(f"/v1/cases/{cid}", json={"status": "suspended"}, headers=auth(token))
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/status"


def test_link_reports_is_idempotent(client: TestClient, world: World) -> None:
    _, token = world.org("A", LEAD)
    r1, r2, r3 = reports(client, token, "r1", "r2", "r3")
    cid = new_case(client, token, report_ids=[r1])["id"]
    url = f"/v1/cases/{cid}/reports"
    first = client.post(url, json={"report_ids": [r2, r3]}, headers=auth(token))
    assert first.status_code == 200, first.text
    assert sorted(first.json()["report_ids"]) == sorted([r1, r2, r3])
    again = client.post(url, json={"report_ids": [r3, r2, r1, r2]}, headers=auth(token))
    assert again.status_code == 200
    assert sorted(again.json()["report_ids"]) == sorted([r1, r2, r3])
    got = client.get(f"/v1/cases/{cid}", headers=auth(token)).json()
    assert sorted(got["report_ids"]) == sorted([r1, r2, r3])
    empty = client.post(url, json={"report_ids": []}, headers=auth(token))
    assert empty.status_code == 422


def test_reports_of_another_org_are_not_found_and_nothing_is_linked(client: TestClient, world: World) -> None:
    _, token = world.org("A", LEAD)
    _, other = world.org("B", LEAD)
    (mine,) = reports(client, token, "r1")
    (theirs,) = reports(client, other, "r1")
    cid = new_case(client, token)["id"]
    r = client.post(f"/v1/cases/{cid}/reports", json={"report_ids": [mine, theirs]}, headers=auth(token))
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert client.get(f"/v1/cases/{cid}", headers=auth(token)).json()["report_ids"] == []
    # creating a case with it fails the same way, and creates no case
    created = client.post(
        "/v1/cases", json={"title": "x", "jurisdiction": "DE", "report_ids": [theirs]}, headers=auth(token)
    )
    assert created.status_code == 404
    assert [c["id"] for c in client.get("/v1/cases", headers=auth(token)).json()["items"]] == [cid]
    # and nobody links into another organisation's case
    r = client.post(f"/v1/cases/{cid}/reports", json={"report_ids": [theirs]}, headers=auth(other))
    assert r.status_code == 404


def test_unknown_jurisdiction(client: TestClient, world: World) -> None:
    _, token = world.org("A", LEAD)
    for code in ("XX", "de", "DEU"):
        r = client.post("/v1/cases", json={"title": "x", "jurisdiction": code}, headers=auth(token))
        assert r.status_code == 422, code
        assert [e["pointer"] for e in r.json()["errors"]] == ["/jurisdiction"]
    assert client.get("/v1/cases", headers=auth(token)).json()["items"] == []


def test_roles(client: TestClient, world: World) -> None:
    org_id, _ = world.org("A", [Role.analyst])
    submitter = world.key(org_id, [Role.submitter])
    analyst = world.key(org_id, [Role.analyst])
    auditor = world.key(org_id, [Role.auditor])
    investigator = world.key(org_id, [Role.investigator])
    r = client.post("/v1/cases", json={"title": "x", "jurisdiction": "DE"}, headers=auth(submitter))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/cases", headers=auth(submitter)).status_code == 403
    assert client.get("/v1/cases", headers=auth(auditor)).status_code == 403
    cid = new_case(client, analyst)["id"]
    # analysts create and read cases but do not change them
    assert client.get(f"/v1/cases/{cid}", headers=auth(analyst)).status_code == 200
    assert client.patch(f"/v1/cases/{cid}", json={"status": "active"}, headers=auth(analyst)).status_code == 403
    assert client.patch(f"/v1/cases/{cid}", json={"status": "active"}, headers=auth(investigator)).status_code == 200
    assert client.post("/v1/cases", json={"title": "x", "jurisdiction": "DE"}).status_code == 401
