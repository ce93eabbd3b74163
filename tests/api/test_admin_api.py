"""/v1/organisations, /v1/credentials and /v1/vocabularies over HTTP: who may administer what."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from accord.model.organisation import Role
from accord.safeguards import apikeys
from tests.conftest import World, auth, report_json


def new_org(client: TestClient, world: World, name: str = "Hotline B", jurisdiction: str = "FR") -> dict[str, Any]:
    body = {
        "organisation": {"name": name, "kind": "hotline", "jurisdiction": jurisdiction},
        "admin": {"name": f"{name} admin", "kind": "user", "roles": ["admin"]},
    }
    r = client.post("/v1/organisations", json=body, headers=auth(world.operator_token))
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_operator_admin_creates_an_organisation_with_its_first_admin(client: TestClient, world: World) -> None:
    created = new_org(client, world)
    org, admin = created["organisation"], created["admin"]
    assert org["id"].startswith("org_") and org["jurisdiction"] == "FR" and org["operator"] is False
    cred = admin["credential"]
    assert cred["org_id"] == org["id"] and cred["roles"] == ["admin"] and cred["revoked_at"] is None
    parsed = apikeys.parse_key(admin["token"])
    assert parsed is not None and parsed.key_id == cred["id"]
    # the token works and acts for the new organisation only
    mine = client.get("/v1/organisations", headers=auth(admin["token"]))
    assert mine.status_code == 200 and [o["id"] for o in mine.json()] == [org["id"]]
    assert client.get(f"/v1/organisations/{org['id']}", headers=auth(admin["token"])).json() == org
    # the operator sees both
    everything = client.get("/v1/organisations", headers=auth(world.operator_token)).json()
    assert org["id"] in {o["id"] for o in everything} and len(everything) == 2
    assert client.get(f"/v1/organisations/{org['id']}", headers=auth(world.operator_token)).json() == org


def test_organisation_without_an_initial_key(client: TestClient, world: World) -> None:
    r = client.post(
        "/v1/organisations",
        json={"organisation": {"name": "P", "kind": "platform", "jurisdiction": "IE"}},
        headers=auth(world.operator_token),
    )
    assert r.status_code == 201 and r.json()["admin"] is None


def test_new_admin_stays_inside_its_organisation(client: TestClient, world: World) -> None:
    created = new_org(client, world)
    org_id, token = created["organisation"]["id"], created["admin"]["token"]
    operator_org = client.get("/v1/organisations", headers=auth(world.operator_token)).json()
    operator_org_id = next(o["id"] for o in operator_org if o["operator"])

    # credentials it creates belong to its own organisation, and work there
    r = client.post("/v1/credentials", json={"name": "intake", "roles": ["analyst"]}, headers=auth(token))
    assert r.status_code == 201, r.text
    assert r.headers["Cache-Control"] == "no-store"
    issued = r.json()
    assert issued["credential"]["org_id"] == org_id
    rpt = client.post("/v1/reports", json=report_json("r1"), headers=auth(issued["token"]))
    assert rpt.status_code == 201 and rpt.json()["org_id"] == org_id

    # it may not create organisations, nor see other organisations
    denied = client.post(
        "/v1/organisations",
        json={"organisation": {"name": "X", "kind": "hotline", "jurisdiction": "DE"}},
        headers=auth(token),
    )
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
    assert len(client.get("/v1/organisations", headers=auth(world.operator_token)).json()) == 2  # none was added
    assert [o["id"] for o in client.get("/v1/organisations", headers=auth(token)).json()] == [org_id]
    assert client.get(f"/v1/organisations/{operator_org_id}", headers=auth(token)).status_code == 404

    # it lists only its own credentials
    listed = client.get("/v1/credentials", headers=auth(token))
    assert listed.status_code == 200
    assert {c["id"] for c in listed.json()} == {created["admin"]["credential"]["id"], issued["credential"]["id"]}
    assert all(c["org_id"] == org_id for c in listed.json())
    operator_creds = client.get("/v1/credentials", headers=auth(world.operator_token)).json()
    assert operator_creds and all(c["org_id"] == operator_org_id for c in operator_creds)

    # it cannot revoke another organisation's credential: 404, and the key still works
    other_key = operator_creds[0]["id"]
    assert client.delete(f"/v1/credentials/{other_key}", headers=auth(token)).status_code == 404
    assert client.get("/v1/credentials", headers=auth(world.operator_token)).status_code == 200
    assert all(
        c["revoked_at"] is None for c in client.get("/v1/credentials", headers=auth(world.operator_token)).json()
    )


def test_revoke_own_credential(client: TestClient, world: World) -> None:
    created = new_org(client, world)
    token = created["admin"]["token"]
    issued = client.post("/v1/credentials", json={"name": "k", "roles": ["submitter"]}, headers=auth(token)).json()
    assert client.post("/v1/reports", json=report_json("r1"), headers=auth(issued["token"])).status_code == 201
    r = client.delete(f"/v1/credentials/{issued['credential']['id']}", headers=auth(token))
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert client.post("/v1/reports", json=report_json("r2"), headers=auth(issued["token"])).status_code == 401


def test_non_admins_cannot_manage_credentials(client: TestClient, world: World) -> None:
    _, analyst = world.org("A", [Role.analyst])
    assert client.get("/v1/credentials", headers=auth(analyst)).status_code == 403
    r = client.post("/v1/credentials", json={"name": "k", "roles": ["admin"]}, headers=auth(analyst))
    assert r.status_code == 403
    orgs = client.get("/v1/organisations", headers=auth(world.operator_token)).json()
    operator_non_admin = world.key(next(o["id"] for o in orgs if o["operator"]), [Role.auditor])
    r = client.post(
        "/v1/organisations",
        json={"organisation": {"name": "X", "kind": "hotline", "jurisdiction": "DE"}},
        headers=auth(operator_non_admin),
    )
    assert r.status_code == 403


def test_token_is_shown_once(client: TestClient, world: World) -> None:
    created = new_org(client, world)
    token = created["admin"]["token"]
    issued = client.post("/v1/credentials", json={"name": "k", "roles": ["analyst"]}, headers=auth(token)).json()
    secrets = [apikeys.parse_key(t).secret for t in (token, issued["token"])]  # type: ignore[union-attr]
    for who in (token, world.operator_token):
        listing = client.get("/v1/credentials", headers=auth(who))
        assert listing.status_code == 200
        for secret in secrets:
            assert secret not in listing.text
        assert token not in listing.text and issued["token"] not in listing.text
        assert "argon2" not in listing.text and "secret" not in listing.text
        for cred in listing.json():
            assert set(cred) == {"id", "actor_id", "org_id", "name", "roles", "created_at", "expires_at", "revoked_at"}
    one_org = client.get(f"/v1/organisations/{created['organisation']['id']}", headers=auth(token)).text
    assert all(s not in one_org for s in secrets)


def test_invalid_jurisdiction(client: TestClient, world: World) -> None:
    pointers = set()
    for jurisdiction in ("XX", "de", "DEU", ""):
        body = {"organisation": {"name": "X", "kind": "hotline", "jurisdiction": jurisdiction}}
        r = client.post("/v1/organisations", json=body, headers=auth(world.operator_token))
        assert r.status_code == 422, jurisdiction
        pointers |= {e["pointer"] for e in r.json()["errors"]}
    assert len(client.get("/v1/organisations", headers=auth(world.operator_token)).json()) == 1  # none was added
    # the pointer must name the field inside this request body
    assert pointers == {"/organisation/jurisdiction"}


def test_vocabularies_are_public_and_versioned(client: TestClient, world: World) -> None:
    r = client.get("/v1/vocabularies")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "categories",
        "urgency",
        "markings",
        "legal_bases",
        "jurisdictions",
        "sources",
        "retention",
        "purposes",
    }
    assert body == client.get("/v1/vocabularies", headers=auth(world.operator_token)).json()
    for name, voc in body.items():
        assert isinstance(voc["version"], int) and voc["version"] == world.node.vocab.versions()[name]
        assert voc["codes"] and all(isinstance(label, str) for label in voc["codes"].values())
    assert "imminent-danger" in body["urgency"]["codes"]
    assert body["jurisdictions"]["codes"]["DE"] == "Germany"
    assert len(body["jurisdictions"]["codes"]) == 249
