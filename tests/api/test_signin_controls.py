"""People's sign-in controls over HTTP, on both backends: disabling and enabling a person, a person's own
password change, an admin's password reset and TOTP re-enrolment, and the per-address limit of sign-in
attempts. Each success and each refusal is checked in the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from accord.api.app import create_app
from accord.clock import FixedClock
from accord.errors import Unauthenticated
from accord.model.organisation import OrganisationIn, OrgKind, Role
from accord.safeguards.apikeys import KeyVerifier
from accord.services import admin, people
from accord.services.node import open_node
from accord.settings import Settings
from accord.store.schema import audit_events
from accord.store.schema import people as people_table
from tests.conftest import World, auth, make_settings
from tests.signin import STEP, Enrolled, attempt, change_password, code, enrol, from_enrolment, sign_in

NEW = "a new passphrase of mine"


@pytest.fixture
def admin_token(world: World) -> str:
    return world.org("Hotline A", [Role.admin])[1]


@pytest.fixture
def pat(client: TestClient, admin_token: str) -> Enrolled:
    return enrol(client, admin_token, ["analyst"])


def events(world: World, *actions: str) -> list[dict[str, Any]]:
    q = sa.select(audit_events).order_by(audit_events.c.seq)
    if actions:
        q = q.where(audit_events.c.action.in_(actions))
    with world.node.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def alive(client: TestClient, token: str) -> bool:
    status = client.get("/v1/organisations", headers=auth(token)).status_code
    assert status in (200, 401)
    return status == 200


def person_row(world: World, actor_id: str) -> Any:
    with world.node.db.read() as conn:
        return conn.execute(sa.select(people_table).where(people_table.c.actor_id == actor_id)).one()


def post(client: TestClient, token: str, actor_id: str, what: str) -> Any:
    return client.post(f"/v1/people/{actor_id}/{what}", headers=auth(token))


# ----------------------------------------------------------------------------- disable and enable


def test_disable_ends_every_session_and_refuses_sign_in_unchecked(
    client: TestClient,
    world: World,
    pat: Enrolled,
    clock: FixedClock,
    admin_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = sign_in(client, pat, clock), sign_in(client, pat, clock)
    r = post(client, admin_token, pat.actor_id, "disable")
    assert r.status_code == 200, r.text
    assert r.json()["disabled_at"] == clock.now().isoformat().replace("+00:00", "Z")
    assert not alive(client, first) and not alive(client, second)  # the very next request is refused
    [e] = events(world, "person.disable")
    assert (e["actor_id"], e["object_id"], e["org_id"]) == (world.actor(admin_token).id, pat.actor_id, pat.org_id)
    assert e["detail"] == {"was_disabled": False, "sessions_ended": 2}

    checked: list[str] = []
    original = world.node.keys.check
    monkeypatch.setattr(world.node.keys, "check", lambda s, h: checked.append(s) or original(s, h))
    for _ in range(30):  # the right password and code: refused, never checked, audited once a window
        clock.advance(STEP)
        r = attempt(client, pat, clock)
        assert r.status_code == 401 and r.json()["detail"].startswith("sign-in failed")
    assert checked == []
    [refusal] = events(world, "session.failure")
    assert refusal["detail"] == {"reason": "disabled", "previous_window_refusals": 0}
    assert (refusal["object_id"], refusal["org_id"], refusal["outcome"]) == (pat.actor_id, pat.org_id, "failure")
    assert person_row(world, pat.actor_id).failures == 0  # a disabled person is not locked out as well

    r = post(client, admin_token, pat.actor_id, "enable")
    assert r.status_code == 200 and r.json()["disabled_at"] is None
    assert alive(client, sign_in(client, pat, clock))
    assert [e["detail"] for e in events(world, "person.enable")] == [{"was_disabled": True}]
    assert not alive(client, first)  # enabling starts no old session again


def test_disable_and_enable_again_change_nothing(
    client: TestClient, world: World, pat: Enrolled, admin_token: str
) -> None:
    assert post(client, admin_token, pat.actor_id, "enable").status_code == 200
    at = post(client, admin_token, pat.actor_id, "disable").json()["disabled_at"]
    assert post(client, admin_token, pat.actor_id, "disable").json()["disabled_at"] == at
    details = [e["detail"] for e in events(world, "person.disable", "person.enable")]
    assert details == [
        {"was_disabled": False},
        {"was_disabled": False, "sessions_ended": 0},
        {"was_disabled": True, "sessions_ended": 0},
    ]
    [listed] = client.get("/v1/people", headers=auth(admin_token)).json()
    assert listed["disabled_at"] == at


def test_an_admin_cannot_disable_or_reset_themselves(client: TestClient, world: World, clock: FixedClock) -> None:
    """Whoever disables someone stays an admin, so an organisation keeps an admin seat: refused on oneself."""
    _, key = world.org("A", [Role.admin])
    ada = enrol(client, key, ["admin"], name="Ada")
    token = sign_in(client, ada, clock)
    for what in ("disable", "password-reset", "totp-reset"):
        r = post(client, token, ada.actor_id, what)
        assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json", r.text
    assert alive(client, token) and person_row(world, ada.actor_id).disabled_at is None
    refusals = events(world, "person.disable", "person.password_reset", "person.totp_reset")
    assert [(e["outcome"], e["object_id"], e["detail"]) for e in refusals] == [
        ("refused", ada.actor_id, {"reason": "conflict", "status": 409})
    ] * 3
    # another admin may; then Ada's session is over
    assert post(client, key, ada.actor_id, "disable").status_code == 200
    assert not alive(client, token)


def test_two_admins_disabling_each_other_leave_one(client: TestClient, world: World, clock: FixedClock) -> None:
    """Both were authenticated before either acted: the second to act has been disabled meanwhile, which
    the service checks again on its own row held for update."""
    _, key = world.org("A", [Role.admin])
    ada, bob = enrol(client, key, ["admin"], name="Ada"), enrol(client, key, ["admin"], name="Bob")
    as_ada = world.actor(sign_in(client, ada, clock))
    as_bob = world.actor(sign_in(client, bob, clock))
    people.disable(world.node, as_ada, bob.actor_id)
    with pytest.raises(Unauthenticated):
        people.disable(world.node, as_bob, ada.actor_id)
    assert person_row(world, ada.actor_id).disabled_at is None
    assert [e["outcome"] for e in events(world, "person.disable")] == ["success", "refused"]


@pytest.mark.parametrize("role", [Role.analyst, Role.investigator, Role.auditor, Role.custodian, Role.supervisor])
def test_only_admins_disable_enable_and_reset(client: TestClient, world: World, role: Role, pat: Enrolled) -> None:
    token = world.key(pat.org_id, [role])
    for what in ("disable", "enable", "password-reset", "totp-reset"):
        assert post(client, token, pat.actor_id, what).status_code == 403
    refused = events(world, "person.disable", "person.enable", "person.password_reset", "person.totp_reset")
    assert len(refused) == 4 and {(e["outcome"], e["detail"]["status"]) for e in refused} == {("refused", 403)}
    assert {e["object_id"] for e in refused} == {None}  # refused before the person was looked at


def test_another_organisations_person_or_a_key_holder_is_404(
    client: TestClient, world: World, pat: Enrolled, admin_token: str
) -> None:
    _, other_admin = world.org("B", [Role.admin])
    key_holder = world.actor(admin_token).id
    for what in ("disable", "enable", "password-reset", "totp-reset"):
        assert post(client, other_admin, pat.actor_id, what).status_code == 404
        assert post(client, admin_token, key_holder, what).status_code == 404
    assert person_row(world, pat.actor_id).disabled_at is None
    assert {e["object_id"] for e in events(world, "person.disable", "person.password_reset")} == {None}


# ----------------------------------------------------------------------------- a person's own password


def test_change_password_ends_the_other_sessions(
    client: TestClient, world: World, pat: Enrolled, clock: FixedClock
) -> None:
    here, elsewhere = sign_in(client, pat, clock), sign_in(client, pat, clock)
    old = pat.password
    r = change_password(client, here, pat, clock, NEW)
    assert r.status_code == 204, r.text
    assert alive(client, here) and not alive(client, elsewhere)
    assert attempt(client, pat, clock, password=old).status_code == 401
    assert alive(client, sign_in(client, pat, clock))
    [e] = events(world, "person.password_change")
    assert (e["actor_id"], e["object_id"], e["outcome"]) == (pat.actor_id, pat.actor_id, "success")
    assert e["detail"] == {"sessions_ended": 1, "was_required": False, "refused_while_locked": 0}


@pytest.mark.parametrize(
    "new, message",
    [("short", "at least 12"), ("same", "differ"), ("z" * 1025, "at most 1024")],
)
def test_a_new_password_that_breaks_the_rules_is_422(
    client: TestClient, world: World, pat: Enrolled, clock: FixedClock, new: str, message: str
) -> None:
    token = sign_in(client, pat, clock)
    old = pat.password
    r = change_password(client, token, pat, clock, pat.password if new == "same" else new)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    [error] = r.json()["errors"]
    assert error["pointer"] == "/new_password" and message in error["detail"]
    assert pat.password == old and alive(client, sign_in(client, pat, clock))
    [e] = events(world, "person.password_change")
    assert (e["outcome"], e["object_id"], e["detail"]) == (
        "refused",
        pat.actor_id,
        {"reason": "invalid", "status": 422},
    )


def test_wrong_factors_count_towards_the_lockout(
    client: TestClient, world: World, pat: Enrolled, clock: FixedClock
) -> None:
    """A session is no way around the lockout: guessing the password from inside one counts the same."""
    token = sign_in(client, pat, clock)
    bodies = [
        {"current_password": "not it", "totp": code(pat.secret, clock.now() + STEP), "new_password": NEW},
        {"current_password": pat.password, "totp": "000000", "new_password": NEW},
        {"current_password": pat.password, "totp": code(pat.secret, clock.now()), "new_password": NEW},  # used
    ]
    if code(pat.secret, clock.now()) == "000000":  # pragma: no cover - one chance in a million
        bodies[1]["totp"] = "000001"
    for body in [*bodies, bodies[0], bodies[0]]:
        r = client.post("/v1/sessions/current/password", json=body, headers=auth(token))
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    audited = events(world, "person.password_change", "session.lockout")
    assert [(e["action"], e["detail"]["reason"]) for e in audited] == [
        ("person.password_change", "password"),
        ("person.password_change", "totp"),
        ("person.password_change", "totp replayed"),
        ("person.password_change", "password"),
        ("session.lockout", "password"),
    ]
    assert {e["actor_id"] for e in audited} == {pat.actor_id} and {e["outcome"] for e in audited} == {"failure"}
    assert attempt(client, pat, clock, totp=code(pat.secret, clock.now(), 1)).status_code == 401  # locked
    clock.advance(STEP)
    assert change_password(client, token, pat, clock, NEW).status_code == 403  # locked: refused unchecked
    assert alive(client, token)  # a lockout ends no session
    assert len(events(world, "person.password_change", "session.lockout")) == 5


def test_change_password_with_an_api_key_is_404(client: TestClient, admin_token: str, pat: Enrolled) -> None:
    body = {"current_password": pat.password, "totp": "123456", "new_password": NEW}
    r = client.post("/v1/sessions/current/password", json=body, headers=auth(admin_token))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


# ----------------------------------------------------------------------------- admin resets


def test_password_reset_forces_a_change_at_next_sign_in(
    client: TestClient, world: World, pat: Enrolled, clock: FixedClock, admin_token: str
) -> None:
    before = sign_in(client, pat, clock)
    r = post(client, admin_token, pat.actor_id, "password-reset")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", r.text
    body = r.json()
    assert body["person"]["must_change_password"] is True and len(body["password"]) >= 20
    assert not alive(client, before)
    assert attempt(client, pat, clock).status_code == 401  # the old password is gone
    pat.password = body["password"]
    clock.advance(STEP)
    signed = attempt(client, pat, clock)
    assert signed.status_code == 201 and signed.json()["session"]["password_change_required"] is True
    token = signed.json()["token"]
    # until the person chooses their own, the session may do nothing else
    assert client.get("/v1/reports", headers=auth(token)).status_code == 403
    assert change_password(client, token, pat, clock, NEW).status_code == 204
    assert client.get("/v1/reports", headers=auth(token)).status_code == 200
    assert person_row(world, pat.actor_id).must_change_password is False
    [reset] = events(world, "person.password_reset")
    assert reset["detail"] == {"sessions_ended": 1} and reset["actor_id"] == world.actor(admin_token).id
    [changed] = events(world, "person.password_change")
    assert changed["detail"]["was_required"] is True
    [created] = [e for e in events(world, "session.create") if e["object_id"] == signed.json()["session"]["id"]]
    assert created["detail"] == {"refused_while_locked": 0, "password_change_required": True}


def test_totp_reset_replaces_the_authenticator(
    client: TestClient, world: World, pat: Enrolled, clock: FixedClock, admin_token: str
) -> None:
    before = sign_in(client, pat, clock)
    r = post(client, admin_token, pat.actor_id, "totp-reset")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", r.text
    renewed = from_enrolment(r.json()["person"], pat.password, r.json()["totp_uri"])
    assert renewed.secret != pat.secret
    assert not alive(client, before)
    clock.advance(STEP)
    assert attempt(client, pat, clock).status_code == 401  # the old authenticator's code
    assert alive(client, sign_in(client, renewed, clock))
    [e] = events(world, "person.totp_reset")
    assert e["detail"] == {"sessions_ended": 1}


# ----------------------------------------------------------------------------- per-address rate limit


@pytest.fixture
def limited(tmp_path: Path, backend: str, clock: FixedClock, request: pytest.FixtureRequest) -> Iterator[World]:
    """A node at the default per-address limit (the shared fixture lifts it)."""
    settings, schema = make_settings(
        tmp_path,
        backend,
        request,
        signin_rate_limit=Settings.signin_rate_limit,
        signin_rate_window_s=Settings.signin_rate_window_s,
    )
    cheap = KeyVerifier(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    node = open_node(settings, clock=clock, schema=schema, keys=cheap)
    try:
        _, key = admin.bootstrap(node, OrganisationIn(name="Operator", kind=OrgKind.hotline, jurisdiction="NL"))
        yield World(node, key)
    finally:
        node.close()


def test_too_many_attempts_from_one_address_are_429(limited: World, clock: FixedClock) -> None:
    assert (Settings.signin_rate_limit, Settings.signin_rate_window_s) == (20, 60)
    app = create_app(limited.node, run_jobs=False)
    _, key = limited.org("A", [Role.admin])
    with TestClient(app, client=("192.0.2.1", 4000)) as one, TestClient(app, client=("192.0.2.2", 4000)) as other:
        pat = enrol(one, key, ["analyst"])
        for i in range(20):  # 4 wrong passwords for Pat, then unknown ids
            body = {"actor": pat.actor_id if i < 4 else f"act_nobody{i}", "password": "wrong", "totp": "123456"}
            assert one.post("/v1/sessions", json=body).status_code == 401
        clock.advance(timedelta(seconds=15))
        for _ in range(30):
            r = attempt(one, pat, clock)  # the right password and code: still refused
            assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
            assert r.headers["Retry-After"] == "45" and r.json()["status"] == 429
        # the refusals were not failures of Pat's: the per-person count is apart, and another address signs in
        assert person_row(limited, pat.actor_id).failures == 4
        assert alive(other, sign_in(other, pat, clock))
        rate = [e for e in events(limited, "auth.failures") if e["detail"]["scope"] == "sign-in rate"]
        assert [e["detail"] for e in rate] == [{"scope": "sign-in rate", "previous_window_failures": 0}]
        clock.advance(timedelta(seconds=45))  # the address's window is over
        assert attempt(one, pat, clock).status_code == 201
