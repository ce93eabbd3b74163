"""/v1/agreements (docs/federation.md, "Stored agreements"): an operator admin makes, lists and ends local
agreements between organisations of this node; an organisation reads those it is party to; refusals are
problem+json naming the field and store nothing; once ended, the agreement's TAXII collection is gone and
a bank bound to it no longer matches for the other party. Both backends."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from accord.model.organisation import Role
from accord.store import schema
from tests.conftest import World, auth

TAXII = "application/taxii+json;version=2.1"
PDQ = "a" * 64


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def pointers(body: dict[str, Any]) -> dict[str, str]:
    return {e["pointer"]: e["detail"] for e in body["errors"]}


def terms(*parties: str, **over: Any) -> dict[str, Any]:
    return {
        "parties": list(parties),
        "purposes": ["investigation", "takedown"],
        "legal_bases": ["mou"],
        "categories": ["csam", "grooming"],
        "max_marking": "AMBER",
        "retention_days": 365,
        **over,
    }


def rows(world: World) -> tuple[int, int]:
    with world.node.db.read() as conn:
        a = conn.execute(sa.select(sa.func.count()).select_from(schema.agreements)).scalar_one()
        p = conn.execute(sa.select(sa.func.count()).select_from(schema.agreement_parties)).scalar_one()
    return int(a), int(p)


def events(world: World, action: str) -> list[Any]:
    with world.node.db.read() as conn:
        t = schema.audit_events
        return list(conn.execute(sa.select(t).where(t.c.action == action).order_by(t.c.seq)))


def test_operator_makes_lists_and_ends_an_agreement(client: TestClient, world: World) -> None:
    op = auth(world.operator_token)
    a, a_key = world.org("Platform", [Role.analyst])
    b, b_key = world.org("Hotline", [Role.analyst, Role.investigator])
    c, c_key = world.org("Outsider", [Role.analyst])

    r = client.post("/v1/agreements", json=terms(a, b, valid_until="2027-11-25T12:00:00Z"), headers=op)
    assert r.status_code == 201, r.text
    made = r.json()
    agr = made["id"]
    assert agr.startswith("agr_") and made["parties"] == [a, b] and made["in_force"] is True
    assert made["valid_from"].startswith("2026-11-25T12:00:00") and made["categories"] == ["csam", "grooming"]
    assert rows(world) == (1, 2)
    (event,) = events(world, "agreement.create")
    assert event.object_id == agr and event.outcome == "success" and event.detail["parties"] == [a, b]

    # the parties read it; an outsider does not see it (404, as an id that names nothing)
    for key in (a_key, b_key):
        assert [x["id"] for x in client.get("/v1/agreements", headers=auth(key)).json()] == [agr]
        assert client.get(f"/v1/agreements/{agr}", headers=auth(key)).json() == made
    assert client.get("/v1/agreements", headers=auth(c_key)).json() == []
    problem(client.get(f"/v1/agreements/{agr}", headers=auth(c_key)), 404)
    problem(client.get("/v1/agreements/agr_nothing", headers=auth(c_key)), 404)
    # the operator's admin sees every one
    second = client.post("/v1/agreements", json=terms(b, c), headers=op).json()["id"]
    assert [x["id"] for x in client.get("/v1/agreements", headers=op).json()] == [agr, second]
    assert [x["id"] for x in client.get("/v1/agreements", headers=auth(c_key)).json()] == [second]

    # ending: the row stays with valid_until now, no longer in force; ending again is a conflict
    assert isinstance(world.node.clock, FixedClock)
    world.node.clock.advance(timedelta(hours=1))
    ended = client.post(f"/v1/agreements/{agr}:end", headers=op)
    assert ended.status_code == 200, ended.text
    assert ended.json()["in_force"] is False and ended.json()["valid_until"].startswith("2026-11-25T13:00:00")
    assert rows(world) == (2, 4)
    assert client.get(f"/v1/agreements/{agr}", headers=auth(a_key)).json()["in_force"] is False
    assert [x["id"] for x in client.get("/v1/agreements?in_force=true", headers=auth(b_key)).json()] == [second]
    problem(client.post(f"/v1/agreements/{agr}:end", headers=op), 409)
    problem(client.post("/v1/agreements/agr_nothing:end", headers=op), 404)
    (end_event,) = [e for e in events(world, "agreement.end") if e.outcome == "success"]
    assert end_event.object_id == agr and end_event.detail["valid_until"].startswith("2026-11-25T13:00:00")
    assert {e.outcome for e in events(world, "agreement.end")} == {"success", "refused"}


@pytest.mark.parametrize(
    ("change", "pointer", "words"),
    [
        ({"parties": ["A"]}, "/parties", "at least 2"),
        ({"parties": ["A", "A"]}, "/parties", "must not repeat"),
        ({"parties": ["A", "org_elsewhere"]}, "/parties/1", "no organisation hosted on this node"),
        ({"categories": []}, "/categories", "at least 1"),
        ({"categories": ["csam", "nope"]}, "/categories", "unknown categories code 'nope'"),
        ({"purposes": ["marketing"]}, "/purposes", "unknown purposes code 'marketing'"),
        ({"legal_bases": ["whim"]}, "/legal_bases", "unknown legal_bases code 'whim'"),
        ({"max_marking": "PURPLE"}, "/max_marking", "unknown markings code 'PURPLE'"),
        ({"retention_days": 0}, "/retention_days", "greater than or equal to 1"),
        (
            {"valid_from": "2026-12-01T00:00:00Z", "valid_until": "2026-11-30T00:00:00Z"},
            "/valid_until",
            "after valid_from",
        ),
        ({"valid_until": "2026-11-25T11:00:00Z"}, "/valid_until", "never be in force"),
        ({"valid_from": "2026-12-01T00:00:00"}, "/valid_from", "time zone"),
        ({"nodes": {}}, "/nodes", "Extra inputs"),
    ],
)
def test_refusals_name_the_field_and_store_nothing(
    client: TestClient, world: World, change: dict[str, Any], pointer: str, words: str
) -> None:
    a, _ = world.org("Platform", [Role.analyst])
    b, _ = world.org("Hotline", [Role.analyst])
    if "parties" in change:
        change = {"parties": [a if p == "A" else p for p in change["parties"]]}
    body = problem(
        client.post("/v1/agreements", json={**terms(a, b), **change}, headers=auth(world.operator_token)), 422
    )
    assert words in pointers(body)[pointer], body
    assert rows(world) == (0, 0)
    assert [e for e in events(world, "agreement.create") if e.outcome == "success"] == []


def test_only_the_operators_admins_make_or_end_one(client: TestClient, world: World) -> None:
    a, a_admin = world.org("Platform", [Role.admin])
    b, _ = world.org("Hotline", [Role.analyst])
    a_analyst = world.key(a, [Role.analyst])
    orgs = client.get("/v1/organisations", headers=auth(world.operator_token)).json()
    operator_org = next(o["id"] for o in orgs if o["operator"])
    operator_analyst = world.key(operator_org, [Role.analyst])
    for key in (a_admin, a_analyst, operator_analyst):  # an organisation's admin, an analyst, the operator's analyst
        problem(client.post("/v1/agreements", json=terms(a, b), headers=auth(key)), 403)
    assert rows(world) == (0, 0)
    assert {e.outcome for e in events(world, "agreement.manage")} == {"denied"}
    agr = client.post("/v1/agreements", json=terms(a, b), headers=auth(world.operator_token)).json()["id"]
    for key in (a_admin, a_analyst, operator_analyst):
        problem(client.post(f"/v1/agreements/{agr}:end", headers=auth(key)), 403)
    assert client.get(f"/v1/agreements/{agr}", headers=auth(a_analyst)).json()["in_force"] is True
    # a submitter reads nothing back, agreements included
    problem(client.get("/v1/agreements", headers=auth(world.key(a, [Role.submitter]))), 403)


def test_after_end_the_collection_is_gone_and_the_bank_no_longer_matches(client: TestClient, world: World) -> None:
    op = auth(world.operator_token)
    a, a_key = world.org("Platform", [Role.analyst])
    b, b_key = world.org("Hotline", [Role.analyst])
    # the STIX importer files an observed-data under category "other"
    agr = client.post("/v1/agreements", json=terms(a, b, categories=["csam", "other"]), headers=op).json()["id"]

    # B's bank bound to the agreement: A matches against it
    bank = client.post(
        "/v1/banks", json={"name": "shared", "type": "pdq", "agreement_id": agr}, headers=auth(b_key)
    ).json()
    assert client.post(f"/v1/banks/{bank['id']}/entries", json={"entries": [{"value": PDQ}]}, headers=auth(b_key))
    hits = client.post("/v1/match", json={"hashes": [PDQ]}, headers=auth(a_key)).json()["results"][0]["matches"]
    assert [m["bank"] for m in hits] == [bank["id"]]
    # the collection is served to both parties and takes objects
    coll = f"/taxii2/accord/collections/{agr}/"
    for key in (a_key, b_key):
        listed = client.get("/taxii2/accord/collections/", headers=auth(key, Accept=TAXII)).json()
        assert [x["id"] for x in listed["collections"]] == [agr]
    added = client.post(f"{coll}objects/", json=envelope("before"), headers=auth(a_key, **{"Content-Type": TAXII}))
    assert added.status_code == 202 and added.json()["success_count"] == 2, added.text
    assert client.get(f"{coll}objects/", headers=auth(b_key, Accept=TAXII)).status_code == 200

    assert client.post(f"/v1/agreements/{agr}:end", headers=op).status_code == 200
    # the collection: listed to no one, not found, takes nothing
    for key in (a_key, b_key):
        assert client.get("/taxii2/accord/collections/", headers=auth(key, Accept=TAXII)).json() == {"collections": []}
        assert client.get(coll, headers=auth(key, Accept=TAXII)).status_code == 404
        assert client.get(f"{coll}objects/", headers=auth(key, Accept=TAXII)).status_code == 404
    refused = client.post(f"{coll}objects/", json=envelope("after"), headers=auth(a_key, **{"Content-Type": TAXII}))
    assert refused.status_code == 404
    # the bank is B's alone again: A finds nothing and does not see it; B still matches its own bank
    assert client.post("/v1/match", json={"hashes": [PDQ]}, headers=auth(a_key)).json()["results"][0]["matches"] == []
    assert client.get(f"/v1/banks/{bank['id']}", headers=auth(a_key)).status_code == 404
    own = client.post("/v1/match", json={"hashes": [PDQ]}, headers=auth(b_key)).json()["results"][0]["matches"]
    assert [m["bank"] for m in own] == [bank["id"]]


def envelope(name: str) -> dict[str, Any]:
    """One observed-data over an email address named by ``name`` (neutral; the importer makes a report)."""
    sco = f"email-addr--{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
    at = "2026-11-20T10:00:00.000Z"
    observed = {
        "type": "observed-data",
        "spec_version": "2.1",
        "id": f"observed-data--{uuid.uuid5(uuid.NAMESPACE_DNS, name)}",
        "created": at,
        "modified": at,
        "first_observed": at,
        "last_observed": at,
        "number_observed": 1,
        "object_refs": [sco],
    }
    return {
        "objects": [observed, {"type": "email-addr", "spec_version": "2.1", "id": sco, "value": f"{name}@example.org"}]
    }
