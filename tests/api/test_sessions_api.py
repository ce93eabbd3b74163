"""/v1/sessions over HTTP: people sign in with a password and a TOTP code, lockout, expiry, sign-out
(RELIABILITY C1), on both backends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
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
from accord.model.session import SignIn
from accord.safeguards.apikeys import KeyVerifier
from accord.services import admin
from accord.services import sessions as service
from accord.services.node import open_node
from accord.services.sessions import SIGN_IN_FAILED
from accord.store.schema import actors, audit_events, sessions
from tests.conftest import World, auth, make_settings
from tests.signin import STEP, Enrolled, attempt, code, enrol, sign_in

LOCKOUT = timedelta(minutes=10)  # the defaults: 5 failures in 15 minutes lock for 10 minutes


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


def refused(r: Any) -> None:
    """Every refusal looks the same: one status, one message, whatever failed."""
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == SIGN_IN_FAILED
    assert r.headers["WWW-Authenticate"] == "Bearer"


# ----------------------------------------------------------------------------- signing in


def test_sign_in_gives_a_session_that_acts_for_the_person(
    client: TestClient, world: World, pat: Enrolled, clock: FixedClock
) -> None:
    r = attempt(client, pat, clock)
    assert r.status_code == 201, r.text
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    token, session = body["token"], body["session"]
    assert token.startswith("accord_ses_") and len(token) >= 11 + 43
    assert session["actor_id"] == pat.actor_id and session["org_id"] == pat.org_id
    assert session["id"].startswith("ses_") and session["idle_timeout_seconds"] == 1800
    assert session["expires_at"] == (clock.now() + timedelta(hours=12)).isoformat().replace("+00:00", "Z")
    # the session works like a key of the same roles, in the same organisation
    orgs = client.get("/v1/organisations", headers=auth(token))
    assert orgs.status_code == 200 and [o["id"] for o in orgs.json()] == [pat.org_id]
    assert client.get("/v1/reports", headers=auth(token)).status_code == 200  # analyst may read reports
    assert client.get("/v1/credentials", headers=auth(token)).status_code == 403  # but not manage keys
    # stored as a SHA-256 of the token, never the token
    with world.node.db.read() as conn:
        row = conn.execute(sa.select(sessions)).one()
    assert token not in str(tuple(row)) and len(row.token_hash) == 64
    created = events(world, "session.create")
    assert [(e["actor_id"], e["object_id"], e["org_id"]) for e in created] == [
        (pat.actor_id, session["id"], pat.org_id)
    ]


def test_wrong_password(client: TestClient, world: World, pat: Enrolled, clock: FixedClock) -> None:
    refused(attempt(client, pat, clock, password="not-the-password"))
    [e] = events(world, "session.failure")
    assert e["outcome"] == "failure" and e["org_id"] == pat.org_id
    assert (e["actor_id"], e["object_type"], e["object_id"]) == (None, "person", pat.actor_id)  # who tried is unknown
    assert e["detail"] == {"reason": "password", "failures": 1, "refused_while_locked": 0}
    assert events(world, "session.create") == []


@pytest.mark.parametrize(
    "steps, accepted",
    [(-3, False), (-2, False), (-1, True), (0, True), (1, True), (2, False), (40, False)],
)
def test_codes_within_one_step_either_side(
    client: TestClient, pat: Enrolled, clock: FixedClock, steps: int, accepted: bool
) -> None:
    r = attempt(client, pat, clock, totp=code(pat.secret, clock.now(), steps))
    if accepted:
        assert r.status_code == 201, r.text
    else:
        refused(r)


@pytest.mark.parametrize(
    "bad", ["000000", "12345", "1234567", "abcdef", "12 456", "\uff11\uff12\uff13\uff14\uff15\uff16"]
)
def test_wrong_or_malformed_code(client: TestClient, world: World, pat: Enrolled, clock: FixedClock, bad: str) -> None:
    if bad == "000000" and code(pat.secret, clock.now()) == bad:  # pragma: no cover - one chance in a million
        bad = "000001"
    refused(attempt(client, pat, clock, totp=bad))
    [e] = events(world, "session.failure")
    assert e["detail"]["reason"] == "totp"


def test_a_code_is_accepted_once(client: TestClient, world: World, pat: Enrolled, clock: FixedClock) -> None:
    now_code = code(pat.secret, clock.now())
    assert attempt(client, pat, clock, totp=now_code).status_code == 201
    refused(attempt(client, pat, clock, totp=now_code))  # replayed within its window
    clock.advance(timedelta(seconds=20))
    refused(attempt(client, pat, clock, totp=now_code))  # still inside the ±1 step window
    assert [e["detail"]["reason"] for e in events(world, "session.failure")] == ["totp replayed"] * 2
    # the next step's code works, and then no earlier one does, even one never used
    clock.advance(timedelta(seconds=10))
    previous = code(pat.secret, clock.now(), -1)  # the step of now_code
    assert attempt(client, pat, clock, totp=code(pat.secret, clock.now())).status_code == 201
    refused(attempt(client, pat, clock, totp=previous))


def test_a_correct_code_after_a_wrong_password_is_not_used_up(
    client: TestClient, pat: Enrolled, clock: FixedClock
) -> None:
    now_code = code(pat.secret, clock.now())
    refused(attempt(client, pat, clock, password="wrong", totp=now_code))
    assert attempt(client, pat, clock, totp=now_code).status_code == 201


def test_unknown_ids_and_non_people_look_the_same(
    client: TestClient, world: World, pat: Enrolled, clock: FixedClock, admin_token: str
) -> None:
    key_holder = world.actor(admin_token).id  # an actor, but one with an API key, not a person
    for actor in ("act_00000000000000000000000000", key_holder, "x", pat.actor_id.lower()):
        r = client.post(
            "/v1/sessions", json={"actor": actor, "password": pat.password, "totp": code(pat.secret, clock.now())}
        )
        refused(r)
    # counted in one node-wide window, audited once, without anybody's organisation
    [e] = events(world, "auth.failures")
    assert e["org_id"] is None and e["actor_id"] is None
    assert e["detail"] == {"scope": "sign-in", "previous_window_failures": 0}
    clock.advance(timedelta(minutes=15))
    refused(client.post("/v1/sessions", json={"actor": "act_1", "password": "p", "totp": "123456"}))
    assert [e["detail"]["previous_window_failures"] for e in events(world, "auth.failures")] == [0, 4]


@pytest.mark.parametrize(
    "body",
    [{}, {"actor": "a", "password": "p"}, {"actor": "a", "password": "p", "totp": "1", "extra": 1}, []],
)
def test_malformed_sign_in_is_422(client: TestClient, body: Any) -> None:
    r = client.post("/v1/sessions", json=body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


# ----------------------------------------------------------------------------- lockout


def test_lockout_after_five_failures_and_release_after_the_period(
    client: TestClient,
    world: World,
    pat: Enrolled,
    clock: FixedClock,
    admin_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(5):
        refused(attempt(client, pat, clock, password=f"guess-{i}"))
        clock.advance(timedelta(minutes=2))  # five failures within 15 minutes
    locked_at = clock.now() - timedelta(minutes=2)
    failures = events(world, "session.failure", "session.lockout")
    assert [e["action"] for e in failures] == ["session.failure"] * 4 + ["session.lockout"]
    assert [e["detail"]["failures"] for e in failures] == [1, 2, 3, 4, 5]
    assert failures[-1]["detail"]["locked_until"] == (locked_at + LOCKOUT).isoformat()

    # while locked, the right password and code are refused too, and the password is never checked
    checked: list[str] = []
    original = world.node.keys.check
    monkeypatch.setattr(world.node.keys, "check", lambda s, h: checked.append(s) or original(s, h))
    for _ in range(50):
        refused(attempt(client, pat, clock))
    assert checked == []
    # fifty refusals: no audit event each (bounded), a counter instead
    assert len(events(world, "session.failure", "session.lockout")) == 5
    # the admin sees the lock
    [person] = client.get("/v1/people", headers=auth(admin_token)).json()
    assert person["locked_until"] == (locked_at + LOCKOUT).isoformat().replace("+00:00", "Z")

    clock.advance(LOCKOUT)  # 2 + 10 minutes after the lock: released
    token = sign_in(client, pat, clock)
    assert client.get("/v1/organisations", headers=auth(token)).status_code == 200
    [created] = events(world, "session.create")
    assert created["detail"] == {"refused_while_locked": 50}  # the counter rides on the next event
    assert checked == [pat.password]


def test_failures_outside_the_window_do_not_add_up(
    client: TestClient, world: World, pat: Enrolled, clock: FixedClock
) -> None:
    for _ in range(4):
        refused(attempt(client, pat, clock, password="wrong"))
    clock.advance(timedelta(minutes=15))  # the window that opened at the first failure has passed
    for _ in range(4):
        refused(attempt(client, pat, clock, password="wrong"))
    assert events(world, "session.lockout") == []
    assert attempt(client, pat, clock).status_code == 201
    # a success clears the count: four more failures still do not lock
    for _ in range(4):
        refused(attempt(client, pat, clock, password="wrong"))
    assert sign_in(client, pat, clock)


def test_mixed_failures_count_together(client: TestClient, world: World, pat: Enrolled, clock: FixedClock) -> None:
    used = code(pat.secret, clock.now())
    assert attempt(client, pat, clock, totp=used).status_code == 201
    refused(attempt(client, pat, clock, password="wrong"))
    refused(attempt(client, pat, clock, totp="000000" if used != "000000" else "000001"))
    refused(attempt(client, pat, clock, totp=used))
    refused(attempt(client, pat, clock, totp=code(pat.secret, clock.now(), -5)))
    refused(attempt(client, pat, clock, password="wrong"))
    [lock] = events(world, "session.lockout")
    assert lock["detail"]["reason"] == "password"
    clock.advance(STEP)
    refused(attempt(client, pat, clock))  # locked: the right code of a new step is refused


def test_an_admin_releases_a_lockout_early(
    client: TestClient, world: World, pat: Enrolled, clock: FixedClock, admin_token: str
) -> None:
    for _ in range(5):
        refused(attempt(client, pat, clock, password="wrong"))
    refused(attempt(client, pat, clock))
    [person] = client.get("/v1/people", headers=auth(admin_token)).json()
    assert person["locked_until"] == (clock.now() + LOCKOUT).isoformat().replace("+00:00", "Z")
    r = client.post(f"/v1/people/{pat.actor_id}/unlock", headers=auth(admin_token))
    assert r.status_code == 200 and r.json()["locked_until"] is None
    [unlock] = events(world, "person.unlock")
    assert unlock["detail"] == {"was_locked": True, "failures": 0, "refused_while_locked": 1}
    assert unlock["actor_id"] == world.actor(admin_token).id and unlock["object_id"] == pat.actor_id
    assert sign_in(client, pat, clock)


def test_lockout_settings_are_honoured(
    tmp_path: Path, backend: str, clock: FixedClock, request: pytest.FixtureRequest
) -> None:
    settings, schema = make_settings(tmp_path, backend, request)
    settings = replace(settings, signin_max_failures=2, signin_lockout_s=60, session_idle_s=120)
    node = open_node(settings, clock=clock, schema=schema, keys=KeyVerifier(PasswordHasher(1, 8, 1)))
    try:
        _, key = admin.bootstrap(node, OrganisationIn(name="Op", kind=OrgKind.hotline, jurisdiction="NL"))
        with TestClient(create_app(node, run_jobs=False)) as c:
            who = enrol(c, key.token, ["admin"])
            refused(attempt(c, who, clock, password="x"))
            refused(attempt(c, who, clock, password="x"))
            refused(attempt(c, who, clock))  # locked after two
            clock.advance(timedelta(seconds=60))
            r = attempt(c, who, clock)
            assert r.status_code == 201 and r.json()["session"]["idle_timeout_seconds"] == 120
            clock.advance(timedelta(seconds=120))
            assert c.get("/v1/organisations", headers=auth(r.json()["token"])).status_code == 401
    finally:
        node.close()


# ----------------------------------------------------------------------------- expiry and sign-out


def test_idle_timeout(client: TestClient, world: World, pat: Enrolled, clock: FixedClock) -> None:
    token = sign_in(client, pat, clock)
    for _ in range(5):  # activity keeps it alive well past the idle timeout
        clock.advance(timedelta(minutes=20))
        assert client.get("/v1/organisations", headers=auth(token)).status_code == 200
    clock.advance(timedelta(minutes=30))
    r = client.get("/v1/organisations", headers=auth(token))
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    [e] = events(world, "session.expire")
    assert e["detail"] == {"reason": "idle"} and e["actor_id"] == pat.actor_id
    # it stays ended, and further use is counted, not audited each time
    clock.advance(timedelta(minutes=-29))
    for _ in range(10):
        assert client.get("/v1/organisations", headers=auth(token)).status_code == 401
    assert len(events(world, "session.expire")) == 1
    assert len(events(world, "auth.failures")) == 1


def test_idle_just_under_the_timeout_is_alive(client: TestClient, pat: Enrolled, clock: FixedClock) -> None:
    token = sign_in(client, pat, clock)
    clock.advance(timedelta(minutes=29, seconds=59))
    assert client.get("/v1/organisations", headers=auth(token)).status_code == 200


def test_absolute_lifetime(client: TestClient, world: World, pat: Enrolled, clock: FixedClock) -> None:
    token = sign_in(client, pat, clock)
    for _ in range(12 * 4 - 1):
        clock.advance(timedelta(minutes=15))
        assert client.get("/v1/organisations", headers=auth(token)).status_code == 200
    clock.advance(timedelta(minutes=15))  # 12 hours after sign-in, however active
    assert client.get("/v1/organisations", headers=auth(token)).status_code == 401
    [e] = events(world, "session.expire")
    assert e["detail"] == {"reason": "lifetime"}


def test_sign_out(client: TestClient, world: World, pat: Enrolled, clock: FixedClock) -> None:
    token = sign_in(client, pat, clock)
    other = sign_in(client, pat, clock)
    r = client.delete("/v1/sessions/current", headers=auth(token))
    assert r.status_code == 204 and r.content == b""
    assert client.get("/v1/organisations", headers=auth(token)).status_code == 401
    assert client.delete("/v1/sessions/current", headers=auth(token)).status_code == 401
    # the person's other session is untouched
    assert client.get("/v1/organisations", headers=auth(other)).status_code == 200
    [e] = events(world, "session.end")
    assert e["actor_id"] == pat.actor_id and e["org_id"] == pat.org_id


def test_sign_out_with_an_api_key_ends_nothing(client: TestClient, admin_token: str) -> None:
    r = client.delete("/v1/sessions/current", headers=auth(admin_token))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/organisations", headers=auth(admin_token)).status_code == 200
    assert client.delete("/v1/sessions/current").status_code == 401


@pytest.mark.parametrize("token", ["accord_ses_", "accord_ses_made-up", "accord_ses_" + "A" * 43])
def test_made_up_session_tokens(client: TestClient, world: World, token: str) -> None:
    r = client.get("/v1/organisations", headers=auth(token))
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert len(events(world, "auth.failures")) == 1


def test_roles_changed_after_sign_in_apply(client: TestClient, world: World, pat: Enrolled, clock: FixedClock) -> None:
    token = sign_in(client, pat, clock)
    assert client.get("/v1/reports", headers=auth(token)).status_code == 200
    with world.node.db.write() as conn:
        conn.execute(sa.update(actors).where(actors.c.id == pat.actor_id).values(roles=["submitter"]))
    assert client.get("/v1/reports", headers=auth(token)).status_code == 403


# ----------------------------------------------------------------------------- organisations


def test_a_session_stays_in_its_organisation(client: TestClient, world: World, clock: FixedClock) -> None:
    org_a, admin_a = world.org("A", [Role.admin])
    org_b, admin_b = world.org("B", [Role.admin])
    a = enrol(client, admin_a, ["admin", "auditor"])
    b = enrol(client, admin_b, ["admin"])
    token = sign_in(client, a, clock)
    assert client.get(f"/v1/organisations/{org_b}", headers=auth(token)).status_code == 404
    assert client.post(f"/v1/people/{b.actor_id}/unlock", headers=auth(token)).status_code == 404
    assert [p["actor_id"] for p in client.get("/v1/people", headers=auth(token)).json()] == [a.actor_id]
    audit = client.get("/v1/audit", headers=auth(token)).json()["items"]
    assert audit and {e["org_id"] for e in audit} == {org_a}
    # B's person cannot sign in with A's password or code, and A's session is no use as B
    refused(
        client.post(
            "/v1/sessions", json={"actor": b.actor_id, "password": a.password, "totp": code(a.secret, clock.now())}
        )
    )


# ----------------------------------------------------------------------------- concurrency


def test_concurrent_sign_ins_with_one_code_give_one_session(world: World, pat: Enrolled, clock: FixedClock) -> None:
    """The code check and its use are one transaction on the held row: a code raced from two places
    (a phished code used by the attacker and the person at once) is accepted once."""
    body = SignIn(actor=pat.actor_id, password=pat.password, totp=code(pat.secret, clock.now()))

    def one(_: int) -> bool:
        try:
            service.sign_in(world.node, body)
        except Unauthenticated:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert results.count(True) == 1
    assert len(events(world, "session.create")) == 1
    assert {e["detail"]["reason"] for e in events(world, "session.failure", "session.lockout")} == {"totp replayed"}


def test_concurrent_failures_are_all_counted(world: World, pat: Enrolled, clock: FixedClock) -> None:
    body = SignIn(actor=pat.actor_id, password="wrong", totp=code(pat.secret, clock.now()))

    def one(_: int) -> None:
        with pytest.raises(Unauthenticated):
            service.sign_in(world.node, body)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(20)))
    audited = events(world, "session.failure", "session.lockout")
    assert [e["action"] for e in audited] == ["session.failure"] * 4 + ["session.lockout"]
    with pytest.raises(Unauthenticated):
        service.sign_in(world.node, SignIn(actor=pat.actor_id, password=pat.password, totp=body.totp))
