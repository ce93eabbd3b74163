"""/v1/people over HTTP: an organisation admin enrols people; what enrolment shows, once, and to whom."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from accord.model.organisation import Role
from accord.store.schema import actors, people
from tests.conftest import World, auth
from tests.signin import enrol, sign_in


def test_enrolment_shows_the_credentials_once(client: TestClient, world: World, clock: FixedClock) -> None:
    org, admin = world.org("A", [Role.admin])
    who = enrol(client, admin, ["investigator", "analyst"], name="Robin Example")
    uri = urlparse(who.uri)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert uri.path == f"/Accord:{who.actor_id}"  # the account label is the sign-in id, not the name
    query = parse_qs(uri.query)
    assert query["issuer"] == ["Accord"] and len(query["secret"][0]) == 32  # 160 bits
    assert len(who.password) >= 20
    [listed] = client.get("/v1/people", headers=auth(admin)).json()
    assert listed == {
        "actor_id": who.actor_id,
        "org_id": org,
        "name": "Robin Example",
        "roles": ["analyst", "investigator"],
        "created_at": "2026-11-25T12:00:00Z",
        "locked_until": None,
        "disabled_at": None,
        "must_change_password": False,
    }
    assert "password" not in listed and who.password not in str(listed) and who.secret not in str(listed)
    with world.node.db.read() as conn:
        actor = conn.execute(sa.select(actors).where(actors.c.id == who.actor_id)).one()
        row = conn.execute(sa.select(people).where(people.c.actor_id == who.actor_id)).one()
    assert actor.kind == "user" and actor.org_id == org
    assert row.password_hash.startswith("$argon2id$") and who.secret.encode() not in bytes(row.totp_sealed)
    token = sign_in(client, who, clock)
    assert client.get("/v1/cases", headers=auth(token)).status_code == 200


def test_enrolment_is_audited_without_secrets(client: TestClient, world: World) -> None:
    _, admin = world.org("A", [Role.admin])
    who = enrol(client, admin, ["analyst"])
    auditor = world.key(who.org_id, [Role.auditor])
    [event] = client.get("/v1/audit", params={"action": "person.create"}, headers=auth(auditor)).json()["items"]
    assert event["object_id"] == who.actor_id and event["actor_id"] == world.actor(admin).id
    assert event["detail"] == {"roles": ["analyst"]}


@pytest.mark.parametrize("role", [Role.analyst, Role.investigator, Role.auditor, Role.custodian, Role.supervisor])
def test_only_admins_enrol_list_and_unlock(client: TestClient, world: World, role: Role) -> None:
    org, admin = world.org("A", [Role.admin])
    who = enrol(client, admin, ["analyst"])
    token = world.key(org, [role])
    body = {"name": "x", "roles": ["admin"]}
    assert client.post("/v1/people", json=body, headers=auth(token)).status_code == 403
    assert client.get("/v1/people", headers=auth(token)).status_code == 403
    assert client.post(f"/v1/people/{who.actor_id}/unlock", headers=auth(token)).status_code == 403


def test_unlock_of_a_non_person_is_404(client: TestClient, world: World) -> None:
    _, admin = world.org("A", [Role.admin])
    key_holder = world.actor(admin).id
    assert client.post(f"/v1/people/{key_holder}/unlock", headers=auth(admin)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"name": "", "roles": ["analyst"]}, {"name": "x", "roles": []}, {"name": "x", "roles": ["root"]}, {"name": "x"}],
)
def test_invalid_enrolment(client: TestClient, world: World, body: dict[str, object]) -> None:
    _, admin = world.org("A", [Role.admin])
    r = client.post("/v1/people", json=body, headers=auth(admin))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
