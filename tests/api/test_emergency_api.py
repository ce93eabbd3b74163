"""Emergency disclosure over HTTP, on both backends: a supervisor opens alone with a reason, the report is
flagged, a custodian's signed review is due within 48 hours, and an overdue review is listed and escalated."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from tests.api.test_sealing_api import refused
from tests.conftest import World, auth
from tests.sealing import NARRATIVE, SealOrg, ask, ok, review, setup_org

REASON = "credible threat to the child's life within hours (synthetic)"


@pytest.fixture
def org(client: TestClient, world: World) -> SealOrg:
    return setup_org(client, world, "A")


def emergency_open(client: TestClient, org: SealOrg, *, warrant: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"report_id": org.report_id, "fields": ["/narrative"]}
    if warrant:
        body["warrant_id"] = org.warrant_id
    req = ok(client.post("/v1/unseal-requests", json=body, headers=auth(org.supervisor)), 201)
    opened = ok(
        client.post(
            f"/v1/unseal-requests/{req['id']}/open",
            json={"emergency": True, "reason": REASON},
            headers=auth(org.supervisor),
        )
    )
    assert opened["emergency"] is True and opened["fields"] == {"/narrative": NARRATIVE}
    return req


def test_a_supervisor_opens_alone_and_the_report_is_flagged(client: TestClient, world: World, org: SealOrg) -> None:
    req = emergency_open(client, org)
    after = ok(client.get(f"/v1/unseal-requests/{req['id']}", headers=auth(org.auditor)))
    assert after["status"] == "opened" and after["emergency"] is True and after["emergency_reason"] == REASON
    assert after["approvals"] == []
    assert after["review"]["due_at"] == "2026-11-27T12:00:00Z"  # 48 hours after the opening
    assert after["review"]["overdue"] is False and after["review"]["reviewed_at"] is None

    flags = ok(client.get(f"/v1/reports/{org.report_id}/flags", headers=auth(org.analyst)))
    assert [(f["kind"], f["request_id"], f["reviewed"], f["overdue"]) for f in flags] == [
        ("emergency-disclosure", req["id"], False, False)
    ]
    event = ok(client.get("/v1/audit", params={"action": "unseal.open"}, headers=auth(org.auditor)))["items"][0]
    assert event["detail"]["emergency"] is True and event["detail"]["approvers"] == []
    assert REASON not in str(event)  # the reason is on the request, for auditors; the trail holds codes


def test_emergency_rules(client: TestClient, world: World, org: SealOrg) -> None:
    req = ask(client, org)
    url = f"/v1/unseal-requests/{req['id']}/open"
    # Only a supervisor, and only with a reason.
    r = client.post(url, json={"emergency": True, "reason": REASON}, headers=auth(org.investigator))
    refused(world, r, 403, "forbidden")
    r = client.post(url, json={"emergency": True}, headers=auth(org.supervisor))
    assert refused(world, r, 422, "invalid")["errors"][0]["pointer"] == "/reason"
    # A supervisor's emergency opening of an investigator's warrant-backed request works too.
    ok(client.post(url, json={"emergency": True, "reason": REASON}, headers=auth(org.supervisor)))
    # No review of an ordinary opening, nor twice, nor by the one who disclosed.
    plain = ask(client, org)
    c = org.custodians[0]
    r = client.post(f"/v1/unseal-requests/{plain['id']}/review", json=review(plain, c), headers=auth(c.token))
    refused(world, r, 409, "not-emergency")


def test_review_is_signed_and_once(client: TestClient, world: World, org: SealOrg) -> None:
    req = emergency_open(client, org, warrant=True)
    c, d = org.custodians[0], org.custodians[1]
    url = f"/v1/unseal-requests/{req['id']}/review"
    forged = {**review(req, c), "outcome": "not-upheld"}  # signature made for "upheld"
    refused(world, client.post(url, json=forged, headers=auth(c.token)), 403, "bad-signature")
    refused(world, client.post(url, json=review(req, c), headers=auth(org.supervisor)), 403, "forbidden")
    done = ok(
        client.post(
            url, json={**review(req, c, "not-upheld"), "note": "no imminent danger shown"}, headers=auth(c.token)
        )
    )
    assert done["review"]["outcome"] == "not-upheld" and done["review"]["reviewed_by"] == c.actor_id
    refused(world, client.post(url, json=review(req, d), headers=auth(d.token)), 409, "already-reviewed")
    flags = ok(client.get(f"/v1/reports/{org.report_id}/flags", headers=auth(org.analyst)))
    assert flags[0]["reviewed"] is True
    events = ok(client.get("/v1/audit", params={"action": "unseal.review"}, headers=auth(org.auditor)))["items"]
    assert [(e["outcome"], e["detail"].get("outcome")) for e in events] == [
        ("refused", None),
        ("refused", None),
        ("success", "not-upheld"),
        ("refused", None),
    ]


def test_overdue_reviews_are_listed_and_escalated(
    client: TestClient, world: World, org: SealOrg, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    late = emergency_open(client, org)
    clock.advance(timedelta(hours=1))
    on_time = emergency_open(client, org)
    assert ok(client.get("/v1/unseal-requests", params={"overdue": "true"}, headers=auth(org.auditor)))["items"] == []

    clock.advance(timedelta(hours=48))  # the first is 49 h old, the second 48 h: only the first is late
    with caplog.at_level(logging.ERROR, logger="accord.unsealing"):
        page = ok(client.get("/v1/unseal-requests", params={"overdue": "true"}, headers=auth(org.custodians[2].token)))
    assert [r["id"] for r in page["items"]] == [late["id"]]
    item = page["items"][0]["review"]
    assert item["overdue"] is True and item["escalated_at"] == "2026-11-27T13:00:00Z"
    assert any(late["id"] in r.getMessage() and "overdue" in r.getMessage() for r in caplog.records)
    flags = ok(client.get(f"/v1/reports/{org.report_id}/flags", headers=auth(org.analyst)))
    assert {f["request_id"]: (f["overdue"], f["escalated"]) for f in flags} == {
        late["id"]: (True, True),
        on_time["id"]: (False, False),
    }

    # Escalated once: listing again records no second escalation.
    ok(client.get("/v1/unseal-requests", params={"overdue": "true"}, headers=auth(org.auditor)))
    escalations = ok(client.get("/v1/audit", params={"action": "unseal.escalate"}, headers=auth(org.auditor)))["items"]
    assert [(e["object_id"], e["outcome"]) for e in escalations] == [(late["id"], "escalated")]

    # A late review is still recorded, and says it was late.
    c = org.custodians[0]
    ok(client.post(f"/v1/unseal-requests/{late['id']}/review", json=review(late, c), headers=auth(c.token)))
    assert ok(client.get("/v1/unseal-requests", params={"overdue": "true"}, headers=auth(org.auditor)))["items"] == []
    reviewed = ok(client.get("/v1/audit", params={"action": "unseal.review"}, headers=auth(org.auditor)))["items"]
    assert reviewed[-1]["detail"]["late"] is True


def test_list_filters(client: TestClient, world: World, org: SealOrg) -> None:
    plain = ask(client, org)
    urgent = emergency_open(client, org)
    supervisor = auth(org.supervisor)
    by = {
        "emergency=true": [urgent["id"]],
        "emergency=false": [plain["id"]],
        "status=pending": [plain["id"]],
        "status=opened": [urgent["id"]],
        f"report_id={org.report_id}": [plain["id"], urgent["id"]],
    }
    for q, ids in by.items():
        k, v = q.split("=")
        assert [
            r["id"] for r in ok(client.get("/v1/unseal-requests", params={k: v}, headers=supervisor))["items"]
        ] == ids
    page = ok(client.get("/v1/unseal-requests", params={"limit": 1}, headers=supervisor))
    assert page["next_cursor"] == plain["id"]
    rest = ok(client.get("/v1/unseal-requests", params={"cursor": page["next_cursor"]}, headers=supervisor))
    assert [r["id"] for r in rest["items"]] == [urgent["id"]] and rest["next_cursor"] is None
