"""Opening sealed fields over HTTP, on both backends: the warrant-and-custodians path, and every attack
of issue 5's list refused with a clear problem+json and an audit event with outcome ``refused``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from accord.model.organisation import Role
from accord.safeguards import approvals
from accord.store.schema import audit_events, reports, unseal_approvals
from tests.conftest import World, auth
from tests.sealing import (
    NARRATIVE,
    VICTIM,
    CustodianKey,
    SealOrg,
    approval,
    approve_by,
    ask,
    ok,
    review,
    sealed_report,
    setup_org,
    warrant_body,
)


@pytest.fixture
def org(client: TestClient, world: World) -> SealOrg:
    return setup_org(client, world, "A")


def audited(world: World, request_id: str) -> list[dict[str, Any]]:
    with world.node.db.read() as conn:
        rows = conn.execute(sa.select(audit_events).where(audit_events.c.request_id == request_id)).all()
    return [dict(r._mapping) for r in rows]


def refused(world: World, r: Any, status: int, reason: str, *, code: str | None = None) -> dict[str, Any]:
    """A clear refusal: problem+json with the status, a sentence, the stable reason; audited as refused."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and len(body["detail"]) > 20, body
    if code is not None:
        assert body["type"] == f"urn:accord:problem:{code}", body
    if "reason" in body:
        assert body["reason"] == reason, body
    events = audited(world, body["request_id"])
    assert [(e["outcome"], e["detail"]["reason"]) for e in events] == [("refused", reason)], events
    return body


def opened_fields(client: TestClient, org: SealOrg, req: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = ok(client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator)))
    return out["fields"]


# ----------------------------------------------------------------------------- the lawful path


def test_warrant_and_two_custodians_open_exactly_the_fields_asked(
    client: TestClient, world: World, org: SealOrg
) -> None:
    req = ask(client, org, ["/narrative", "/subjects/1"])
    assert req["status"] == "pending" and req["approvals_needed"] == 2 and len(req["nonce"]) == 32
    req = approve_by(client, req, org.custodians[0], org.custodians[1])
    assert [a["approver_id"] for a in req["approvals"]] == [org.custodians[0].actor_id, org.custodians[1].actor_id]
    r = client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    fields = r.json()["fields"]
    assert fields["/narrative"] == NARRATIVE
    assert fields["/subjects/1"]["identifiers"][0]["value"] == VICTIM
    assert set(fields) == {"/narrative", "/subjects/1"}

    after = ok(client.get(f"/v1/unseal-requests/{req['id']}", headers=auth(org.auditor)))
    assert after["status"] == "opened" and after["opened_by"] == world.actor(org.investigator).id
    events = ok(client.get("/v1/audit", params={"action": "unseal.open"}, headers=auth(org.auditor)))["items"]
    assert len(events) == 1
    assert events[0]["detail"]["fields"] == ["/narrative", "/subjects/1"]
    assert sorted(events[0]["detail"]["approvers"]) == sorted(c.actor_id for c in org.custodians[:2])

    # One approval round, one disclosure: opening again is refused and audited.
    again = client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator))
    refused(world, again, 409, "already-opened", code="unseal-conflict")
    late = client.post(
        f"/v1/unseal-requests/{req['id']}/approvals",
        json=approval(req, org.custodians[2]),
        headers=auth(org.custodians[2].token),
    )
    refused(world, late, 409, "already-opened")


def test_a_warrant_naming_an_identifier_covers_reports_holding_it(
    client: TestClient, world: World, org: SealOrg
) -> None:
    by_ident = warrant_body(
        identifiers=[{"kind": "email", "value": "Suspect-Unseal@Example.org"}], fields=["/narrative"]
    )
    wid = ok(client.post("/v1/warrants", json=by_ident, headers=auth(org.investigator)), 201)["id"]
    assert ok(client.get(f"/v1/warrants/{wid}", headers=auth(org.auditor)))["scope"]["identifier_keys"] == [
        "email:suspect-unseal@example.org"
    ]
    body = {"warrant_id": wid, "report_id": org.report_id, "fields": ["/narrative"]}
    req = ok(client.post("/v1/unseal-requests", json=body, headers=auth(org.investigator)), 201)
    req = approve_by(client, req, org.custodians[0], org.custodians[2])
    assert opened_fields(client, org, req) == {"/narrative": NARRATIVE}
    # ... but not the victim's identifiers, which are sealed and never indexed.
    other = {"warrant_id": wid, "report_id": org.report_id, "fields": ["/subjects/1"]}
    refused(world, client.post("/v1/unseal-requests", json=other, headers=auth(org.investigator)), 403, "scope-field")


def test_approvals_threshold_is_a_node_setting(client: TestClient, world: World, org: SealOrg) -> None:
    world.node.settings = type(world.node.settings)(
        data_dir=world.node.settings.data_dir, database_url=world.node.settings.database_url, unseal_approvals=3
    )
    req = approve_by(client, ask(client, org), *org.custodians[:2])
    assert req["approvals_needed"] == 3
    refused(
        world,
        client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator)),
        403,
        "approvals-missing",
    )
    approve_by(client, req, org.custodians[2])
    assert opened_fields(client, org, req)["/narrative"] == NARRATIVE


# ----------------------------------------------------------------------------- attacks (issue 5's list)


def test_no_warrant(client: TestClient, world: World, org: SealOrg) -> None:
    body = {"report_id": org.report_id, "fields": ["/narrative"]}
    refused(
        world,
        client.post("/v1/unseal-requests", json=body, headers=auth(org.investigator)),
        403,
        "no-warrant",
        code="unseal-refused",
    )
    # A supervisor may ask without one (for an emergency), but an ordinary opening still needs a warrant ...
    req = ok(client.post("/v1/unseal-requests", json=body, headers=auth(org.supervisor)), 201)
    assert req["warrant_id"] is None
    refused(
        world, client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.supervisor)), 403, "no-warrant"
    )
    # ... and custodians do not approve a warrantless request.
    c = org.custodians[0]
    fake = {**req, "warrant_id": "none"}
    r = client.post(f"/v1/unseal-requests/{req['id']}/approvals", json=approval(fake, c), headers=auth(c.token))
    refused(world, r, 403, "no-warrant")
    # A warrant id that names nothing is a 404, as another organisation's is.
    missing = {**body, "warrant_id": "wrt_01AAAAAAAAAAAAAAAAAAAAAAAA"}
    refused(world, client.post("/v1/unseal-requests", json=missing, headers=auth(org.investigator)), 404, "not-found")


def test_expired_or_not_yet_valid_warrant(client: TestClient, world: World, org: SealOrg, clock: FixedClock) -> None:
    past = warrant_body([org.report_id], valid_from="2026-01-01T00:00:00Z", valid_until="2026-02-01T00:00:00Z")
    future = warrant_body([org.report_id], valid_from="2027-01-01T00:00:00Z", valid_until="2027-02-01T00:00:00Z")
    for body, reason in ((past, "warrant-expired"), (future, "warrant-not-yet-valid")):
        wid = ok(client.post("/v1/warrants", json=body, headers=auth(org.investigator)), 201)["id"]
        ask_body = {"warrant_id": wid, "report_id": org.report_id, "fields": ["/narrative"]}
        refused(world, client.post("/v1/unseal-requests", json=ask_body, headers=auth(org.investigator)), 403, reason)

    # Valid when asked and approved, expired by the time of opening (and of a late approval).
    req = approve_by(client, ask(client, org), *org.custodians[:2])
    clock.advance(timedelta(days=40))  # 2026-11-25 + 40 days > 2026-12-31
    refused(
        world,
        client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator)),
        403,
        "warrant-expired",
    )
    c = org.custodians[2]
    late = client.post(f"/v1/unseal-requests/{req['id']}/approvals", json=approval(req, c), headers=auth(c.token))
    refused(world, late, 403, "warrant-expired")


def test_scope_not_covering_the_field_or_the_report(client: TestClient, world: World, org: SealOrg) -> None:
    narrow = ok(
        client.post("/v1/warrants", json=warrant_body([org.report_id], ["/narrative"]), headers=auth(org.investigator)),
        201,
    )["id"]
    body = {"warrant_id": narrow, "report_id": org.report_id, "fields": ["/narrative", "/subjects/1"]}
    problem = refused(
        world, client.post("/v1/unseal-requests", json=body, headers=auth(org.investigator)), 403, "scope-field"
    )
    assert "/subjects/1" in problem["detail"]

    other_report = ok(
        client.post(
            "/v1/reports", json=sealed_report("sealed-2", suspect="other@example.org"), headers=auth(org.analyst)
        ),
        201,
    )["id"]
    body = {"warrant_id": org.warrant_id, "report_id": other_report, "fields": ["/narrative"]}
    refused(world, client.post("/v1/unseal-requests", json=body, headers=auth(org.investigator)), 403, "scope-report")
    # A field the report does not have is a field error with its pointer.
    body = {"warrant_id": org.warrant_id, "report_id": org.report_id, "fields": ["/subjects/0"]}
    r = client.post("/v1/unseal-requests", json=body, headers=auth(org.investigator))
    assert refused(world, r, 422, "invalid")["errors"][0]["pointer"] == "/fields/0"


def test_k_minus_one_approvals(client: TestClient, world: World, org: SealOrg) -> None:
    req = ask(client, org)
    refused(
        world,
        client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator)),
        403,
        "approvals-missing",
    )
    approve_by(client, req, org.custodians[0])
    problem = refused(
        world,
        client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator)),
        403,
        "approvals-missing",
    )
    assert "2 approvals" in problem["detail"] and "1 valid" in problem["detail"]


def test_approval_signed_by_a_non_custodian(client: TestClient, world: World, org: SealOrg) -> None:
    req = ask(client, org)
    c = org.custodians[0]
    # An investigator cannot approve at all ...
    r = client.post(f"/v1/unseal-requests/{req['id']}/approvals", json=approval(req, c), headers=auth(org.investigator))
    refused(world, r, 403, "forbidden", code="forbidden")
    # ... a custodian cannot pass off a signature made with someone else's (unregistered) key ...
    outsider, _ = approvals.new_signing_key()
    forged = approval(req, c, signer=approvals.load_signing_key(outsider))
    r = client.post(f"/v1/unseal-requests/{req['id']}/approvals", json=forged, headers=auth(c.token))
    refused(world, r, 403, "bad-signature")
    # ... nor sign with another custodian's registration ...
    other = org.custodians[1]
    body = {**approval(req, c), "custodian_id": other.custodian_id}
    r = client.post(f"/v1/unseal-requests/{req['id']}/approvals", json=body, headers=auth(c.token))
    refused(world, r, 403, "not-your-key")
    # ... and an actor without the custodian role cannot be registered as one.
    _, public = approvals.new_signing_key()
    inv = world.actor(org.investigator).id
    r = client.post("/v1/custodians", json={"actor_id": inv, "public_key": public}, headers=auth(org.admin))
    refused(world, r, 422, "invalid")
    assert ok(client.get(f"/v1/unseal-requests/{req['id']}", headers=auth(org.auditor)))["approvals"] == []


def test_approval_replayed_from_another_request(client: TestClient, world: World, org: SealOrg) -> None:
    first, second = ask(client, org), ask(client, org)  # same warrant, report and fields: only id and nonce differ
    assert first["nonce"] != second["nonce"]
    c = org.custodians[0]
    body = approval(first, c)
    ok(client.post(f"/v1/unseal-requests/{first['id']}/approvals", json=body, headers=auth(c.token)), 201)
    r = client.post(f"/v1/unseal-requests/{second['id']}/approvals", json=body, headers=auth(c.token))
    refused(world, r, 403, "bad-signature")
    # A database edit copying the approval row across counts for nothing either: openings re-verify.
    with world.node.db.write() as conn:
        row = dict(
            conn.execute(sa.select(unseal_approvals).where(unseal_approvals.c.request_id == first["id"])).one()._mapping
        )
        conn.execute(sa.insert(unseal_approvals).values({**row, "request_id": second["id"]}))
    approve_by(client, second, org.custodians[1])
    refused(
        world,
        client.post(f"/v1/unseal-requests/{second['id']}/open", headers=auth(org.investigator)),
        403,
        "approvals-missing",
    )


def test_a_custodian_approving_twice_counts_once(client: TestClient, world: World, org: SealOrg) -> None:
    req = ask(client, org)
    c = org.custodians[0]
    approve_by(client, req, c)
    r = client.post(f"/v1/unseal-requests/{req['id']}/approvals", json=approval(req, c), headers=auth(c.token))
    refused(world, r, 409, "duplicate-approval", code="unseal-conflict")
    # With a second key of their own, still one person: still one approval.
    pem, public = approvals.new_signing_key()
    reg = ok(
        client.post("/v1/custodians", json={"actor_id": c.actor_id, "public_key": public}, headers=auth(org.admin)), 201
    )
    second_key = CustodianKey(c.token, c.actor_id, reg["id"], approvals.load_signing_key(pem))
    r = client.post(f"/v1/unseal-requests/{req['id']}/approvals", json=approval(req, second_key), headers=auth(c.token))
    refused(world, r, 409, "duplicate-approval")
    assert len(ok(client.get(f"/v1/unseal-requests/{req['id']}", headers=auth(org.auditor)))["approvals"]) == 1
    refused(
        world,
        client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator)),
        403,
        "approvals-missing",
    )


def test_a_custodian_of_another_organisation(client: TestClient, world: World, org: SealOrg) -> None:
    b = setup_org(client, world, "B", custodians=2, ext="b-sealed")
    req = ask(client, org)
    stranger = b.custodians[0]
    # B's custodian, with B's key and registration, on A's request: the request does not exist for them.
    r = client.post(
        f"/v1/unseal-requests/{req['id']}/approvals", json=approval(req, stranger), headers=auth(stranger.token)
    )
    body = refused(world, r, 404, "not-found", code="not-found")
    event = audited(world, body["request_id"])[0]
    assert event["org_id"] == b.org_id and event["object_id"] is None  # B's trail does not name A's request
    # A's custodian naming B's custodian registration: not found in A either.
    c = org.custodians[0]
    r = client.post(
        f"/v1/unseal-requests/{req['id']}/approvals",
        json={**approval(req, c), "custodian_id": stranger.custodian_id},
        headers=auth(c.token),
    )
    refused(world, r, 404, "not-found")
    # A's admin cannot register B's custodian as A's.
    _, public = approvals.new_signing_key()
    r = client.post(
        "/v1/custodians", json={"actor_id": stranger.actor_id, "public_key": public}, headers=auth(org.admin)
    )
    refused(world, r, 404, "not-found")
    # B's investigator cannot ask to open A's report, nor under A's warrant.
    for body_ in (
        {"warrant_id": b.warrant_id, "report_id": org.report_id, "fields": ["/narrative"]},
        {"warrant_id": org.warrant_id, "report_id": b.report_id, "fields": ["/narrative"]},
    ):
        refused(world, client.post("/v1/unseal-requests", json=body_, headers=auth(b.investigator)), 404, "not-found")


def test_revoked_keys_and_self_approval_do_not_count(client: TestClient, world: World, org: SealOrg) -> None:
    req = approve_by(client, ask(client, org), *org.custodians[:2])
    ok(client.delete(f"/v1/custodians/{org.custodians[0].custodian_id}", headers=auth(org.admin)))
    refused(
        world,
        client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator)),
        403,
        "approvals-missing",
    )
    c = org.custodians[0]
    r = client.post(f"/v1/unseal-requests/{req['id']}/approvals", json=approval(req, c), headers=auth(c.token))
    refused(world, r, 403, "custodian-revoked")
    # With a new key the same custodian approves again: the new approval replaces the stale one.
    pem, public = approvals.new_signing_key()
    reg = ok(
        client.post("/v1/custodians", json={"actor_id": c.actor_id, "public_key": public}, headers=auth(org.admin)), 201
    )
    renewed = CustodianKey(c.token, c.actor_id, reg["id"], approvals.load_signing_key(pem))
    assert len(approve_by(client, req, renewed)["approvals"]) == 2
    assert opened_fields(client, org, req)["/narrative"] == NARRATIVE

    # An actor holding both roles cannot approve their own request.
    both = world.key(org.org_id, [Role.investigator, Role.custodian])
    pem, public = approvals.new_signing_key()
    actor_id = world.actor(both).id
    reg = ok(
        client.post("/v1/custodians", json={"actor_id": actor_id, "public_key": public}, headers=auth(org.admin)), 201
    )
    me = CustodianKey(both, actor_id, reg["id"], approvals.load_signing_key(pem))
    mine = ask(client, org, token=both)
    r = client.post(f"/v1/unseal-requests/{mine['id']}/approvals", json=approval(mine, me), headers=auth(both))
    refused(world, r, 403, "self-approval")
    # Only the requester opens.
    other = approve_by(client, ask(client, org), *org.custodians[1:3])
    refused(world, client.post(f"/v1/unseal-requests/{other['id']}/open", headers=auth(both)), 403, "not-requester")


def test_roles(client: TestClient, world: World, org: SealOrg) -> None:
    """Separation of duties, each refusal audited as refused with reason ``forbidden``."""
    req = ask(client, org)
    c = org.custodians[0]
    for token in (org.analyst, org.auditor, org.admin, c.token):
        body = {"warrant_id": org.warrant_id, "report_id": org.report_id, "fields": ["/narrative"]}
        refused(world, client.post("/v1/unseal-requests", json=body, headers=auth(token)), 403, "forbidden")
        refused(world, client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(token)), 403, "forbidden")
    for token in (org.analyst, org.custodians[0].token, org.auditor):
        r = client.post("/v1/warrants", json=warrant_body([org.report_id]), headers=auth(token))
        refused(world, r, 403, "forbidden")
    _, public = approvals.new_signing_key()
    r = client.post(
        "/v1/custodians", json={"actor_id": c.actor_id, "public_key": public}, headers=auth(org.investigator)
    )
    refused(world, r, 403, "forbidden")
    assert ok(client.get("/v1/custodians", headers=auth(org.auditor)))[0]["org_id"] == org.org_id
    assert ok(client.get("/v1/warrants", headers=auth(c.token)))["items"][0]["id"] == org.warrant_id


def test_custodian_registration_rules(client: TestClient, world: World, org: SealOrg) -> None:
    c = org.custodians[0]
    pub = ok(client.get(f"/v1/custodians/{c.custodian_id}", headers=auth(org.admin)))["public_key"]
    r = client.post("/v1/custodians", json={"actor_id": c.actor_id, "public_key": pub}, headers=auth(org.admin))
    refused(world, r, 409, "conflict")
    for bad in ("not base64!", "AAAA"):
        r = client.post("/v1/custodians", json={"actor_id": c.actor_id, "public_key": bad}, headers=auth(org.admin))
        assert refused(world, r, 422, "invalid")["errors"][0]["pointer"] == "/public_key"


def test_warrant_input_is_checked(client: TestClient, world: World, org: SealOrg) -> None:
    cases = [
        ({**warrant_body([org.report_id]), "valid_until": "2026-10-01T00:00:00Z"}, "/valid_until"),
        ({**warrant_body([org.report_id]), "document_sha256": "xyz"}, "/document_sha256"),
        (warrant_body([]), "/scope"),
        (warrant_body([org.report_id], ["narrative"]), "/scope/fields/0"),
    ]
    for body, where in cases:
        r = client.post("/v1/warrants", json=body, headers=auth(org.investigator))
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == where, r.text
    r = client.post(
        "/v1/warrants", json=warrant_body(["rpt_01AAAAAAAAAAAAAAAAAAAAAAAA"]), headers=auth(org.investigator)
    )
    refused(world, r, 404, "not-found")
    w = ok(
        client.post(
            "/v1/warrants",
            json={**warrant_body([org.report_id]), "document_sha256": "AB" * 32},
            headers=auth(org.investigator),
        ),
        201,
    )
    assert w["document_sha256"] == "ab" * 32 and w["recorded_by"] == world.actor(org.investigator).id


def test_a_tampered_sealed_blob_opens_nothing(client: TestClient, world: World, org: SealOrg) -> None:
    req = approve_by(client, ask(client, org), *org.custodians[:2])
    with world.node.db.write() as conn:
        blob = conn.execute(sa.select(reports.c.sealed).where(reports.c.id == org.report_id)).scalar_one()
        flipped = blob[:-1] + bytes([blob[-1] ^ 1])
        conn.execute(sa.update(reports).where(reports.c.id == org.report_id).values(sealed=flipped))
    r = client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator))
    assert r.status_code == 500 and r.json()["type"] == "urn:accord:problem:corrupted"
    assert "integrity" in r.json()["detail"] and NARRATIVE not in r.text
    event = audited(world, r.json()["request_id"])[0]
    assert (event["outcome"], event["detail"]["reason"]) == ("failure", "corrupted")
    assert ok(client.get(f"/v1/unseal-requests/{req['id']}", headers=auth(org.auditor)))["status"] == "pending"


def test_the_discloser_does_not_review_their_own_disclosure(client: TestClient, world: World, org: SealOrg) -> None:
    both = world.key(org.org_id, [Role.supervisor, Role.custodian])
    pem, public = approvals.new_signing_key()
    actor_id = world.actor(both).id
    reg = ok(
        client.post("/v1/custodians", json={"actor_id": actor_id, "public_key": public}, headers=auth(org.admin)), 201
    )
    me = CustodianKey(both, actor_id, reg["id"], approvals.load_signing_key(pem))
    req = ok(
        client.post(
            "/v1/unseal-requests", json={"report_id": org.report_id, "fields": ["/narrative"]}, headers=auth(both)
        ),
        201,
    )
    ok(
        client.post(
            f"/v1/unseal-requests/{req['id']}/open",
            json={"emergency": True, "reason": "imminent danger (synthetic)"},
            headers=auth(both),
        )
    )
    r = client.post(f"/v1/unseal-requests/{req['id']}/review", json=review(req, me), headers=auth(both))
    refused(world, r, 403, "self-review")
