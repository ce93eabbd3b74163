"""Enrolling people and signing them in over HTTP, for the tests of sessions and the cross-tenant sweep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from tests.conftest import auth

STEP = timedelta(seconds=30)


@dataclass
class Enrolled:
    """A person as the enrolment showed them: their sign-in id and both secrets."""

    actor_id: str
    org_id: str
    password: str
    secret: str
    uri: str


def enrol(client: TestClient, admin_token: str, roles: list[str], name: str = "Pat Example") -> Enrolled:
    r = client.post("/v1/people", json={"name": name, "roles": roles}, headers=auth(admin_token))
    assert r.status_code == 201, r.text
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    return from_enrolment(body["person"], body["password"], body["totp_uri"])


def from_enrolment(person: dict[str, Any], password: str, uri: str) -> Enrolled:
    otp = pyotp.parse_uri(uri)
    assert isinstance(otp, pyotp.TOTP)
    return Enrolled(person["actor_id"], person["org_id"], password, otp.secret, uri)


def code(secret: str, when: datetime, steps: int = 0) -> str:
    """The code an authenticator shows at ``when``, or ``steps`` steps away from it."""
    return pyotp.TOTP(secret).at(when + steps * STEP)


def attempt(
    client: TestClient, who: Enrolled, clock: FixedClock, *, password: str | None = None, totp: str | None = None
) -> Any:
    body = {
        "actor": who.actor_id,
        "password": who.password if password is None else password,
        "totp": code(who.secret, clock.now()) if totp is None else totp,
    }
    return client.post("/v1/sessions", json=body)


def sign_in(client: TestClient, who: Enrolled, clock: FixedClock, *, next_step: bool = True) -> str:
    """A fresh session token. ``next_step`` moves the clock to a new TOTP step first, because a code is
    accepted once: a second sign-in within the same 30 seconds needs the next code."""
    if next_step:
        clock.advance(STEP)
    r = attempt(client, who, clock)
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


def change_password(client: TestClient, token: str, who: Enrolled, clock: FixedClock, new: str) -> Any:
    """The person signed in with ``token`` changes their password, with a code of the next step (a code is
    accepted once). Their ``Enrolled`` record follows when it succeeds."""
    clock.advance(STEP)
    body = {"current_password": who.password, "totp": code(who.secret, clock.now()), "new_password": new}
    r = client.post("/v1/sessions/current/password", json=body, headers=auth(token))
    if r.status_code == 204:
        who.password = new
    return r
