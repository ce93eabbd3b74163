"""``accord person``: enrolment, unlock, disable and enable, resets and a person's own password change at the
console, each checked by signing in over HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.api.app import create_app
from accord.clock import FixedClock
from accord.services.node import open_node
from accord.settings import Settings
from accord.store.schema import audit_events
from tests.cli.helpers import run
from tests.cli.test_cli import init_node
from tests.conftest import auth
from tests.signin import STEP, Enrolled, attempt, code, from_enrolment, sign_in


def test_person_add_then_sign_in_and_unlock(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    code, out, err = run([*base, "person", "add", "--org", org, "--name", "Sam Example", "--role", "investigator"])
    assert code == 0, err
    actor_id = re.search(r"sign-in id: (act_\w+)", out)
    password = re.search(r"initial password \(shown once\): (\S+)", out)
    uri = re.search(r"(otpauth://totp/\S+)", out)
    assert actor_id and password and uri, out
    who = from_enrolment({"actor_id": actor_id[1], "org_id": org}, password[1], uri[1])

    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    node = open_node(Settings(data_dir=tmp_path / "node"), clock=clock)
    try:
        with TestClient(create_app(node, run_jobs=False)) as client:
            token = sign_in(client, who, clock)
            assert client.get("/v1/cases", headers=auth(token)).status_code == 200
            for _ in range(5):
                assert attempt(client, who, clock, password="wrong").status_code == 401
            clock.advance(timedelta(seconds=30))
            assert attempt(client, who, clock).status_code == 401  # locked
            code, out, err = run([*base, "person", "unlock", who.actor_id])
            assert code == 0 and f"{who.actor_id} unlocked" in out, err
            assert attempt(client, who, clock).status_code == 201
    finally:
        node.close()


def test_person_add_refuses_unknown_org_and_role(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    code, _, err = run([*base, "person", "add", "--org", "org_nope", "--name", "X", "--role", "analyst"])
    assert code == 2 and "no organisation org_nope" in err
    code, _, _ = run([*base, "person", "add", "--org", org, "--name", "X", "--role", "root"])
    assert code == 2
    code, _, err = run([*base, "person", "unlock", "act_nope"])
    assert code == 2 and "no person act_nope" in err


def _enrolled(base: list[str], org: str) -> Enrolled:
    code_, out, err = run([*base, "person", "add", "--org", org, "--name", "Sam Example", "--role", "analyst"])
    assert code_ == 0, err
    actor_id = re.search(r"sign-in id: (act_\w+)", out)
    password = re.search(r"initial password \(shown once\): (\S+)", out)
    uri = re.search(r"(otpauth://totp/\S+)", out)
    assert actor_id and password and uri, out
    return from_enrolment({"actor_id": actor_id[1], "org_id": org}, password[1], uri[1])


def test_person_disable_enable_resets_and_passwd(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    who = _enrolled(base, org)
    # the node's clock runs ten minutes behind the console's (the real one), so that the code the console
    # takes later is newer than every code used here before it
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10))
    node = open_node(Settings(data_dir=tmp_path / "node"), clock=clock)
    try:
        with TestClient(create_app(node, run_jobs=False)) as client:
            token = sign_in(client, who, clock)
            code_, out, err = run([*base, "person", "disable", who.actor_id])
            assert code_ == 0 and "disabled; their sessions have ended" in out, err
            assert client.get("/v1/cases", headers=auth(token)).status_code == 401
            clock.advance(STEP)
            assert attempt(client, who, clock).status_code == 401
            code_, out, err = run([*base, "person", "enable", who.actor_id])
            assert code_ == 0 and f"{who.actor_id} enabled" in out, err
            token = sign_in(client, who, clock)

            code_, out, err = run([*base, "person", "reset-password", who.actor_id])
            assert code_ == 0, err
            password = re.search(r"initial password \(shown once\): (\S+)", out)
            assert password, out
            assert client.get("/v1/cases", headers=auth(token)).status_code == 401
            who.password = password[1]
            signed = sign_in(client, who, clock)
            assert client.get("/v1/cases", headers=auth(signed)).status_code == 403  # must change it first

            # the person changes it at the console (real time): current password, code, new password twice
            new = "my own passphrase at last"
            answers = f"{who.password}\n{code(who.secret, datetime.now(UTC))}\n{new}\n{new}\n"
            code_, out, err = run([*base, "person", "passwd", who.actor_id], input=answers)
            assert code_ == 0 and "password changed; 1 session(s) ended" in out, err
            assert new not in out and who.password not in out
            who.password = new
            clock.advance(datetime.now(UTC) + STEP - clock.now())  # past the code the console used
            assert client.get("/v1/cases", headers=auth(sign_in(client, who, clock))).status_code == 200

            code_, out, err = run([*base, "person", "reset-totp", who.actor_id])
            assert code_ == 0, err
            uri = re.search(r"(otpauth://totp/\S+)", out)
            assert uri, out
            clock.advance(STEP)
            assert attempt(client, who, clock).status_code == 401
            renewed = from_enrolment({"actor_id": who.actor_id, "org_id": org}, who.password, uri[1])
            assert sign_in(client, renewed, clock)
        with node.db.read() as conn:
            done = list(conn.execute(sa.select(audit_events.c.action, audit_events.c.actor_id)))
        console = [a for a, actor in done if a.startswith("person.") and actor is None]
        assert console == [
            "person.create",
            "person.disable",
            "person.enable",
            "person.password_reset",
            "person.totp_reset",
        ]
        assert [actor for a, actor in done if a == "person.password_change"] == [who.actor_id]
    finally:
        node.close()


def test_person_passwd_refuses_a_short_password_and_wrong_factors(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    who = _enrolled(base, org)
    code_, _, err = run([*base, "person", "passwd", who.actor_id], input=f"{who.password}\n123456\nshort\nshort\n")
    assert code_ == 2 and "/new_password: must be at least 12 characters long" in err
    wrong = "wrong\n123456\nlong enough 123\nlong enough 123\n"
    code_, _, err = run([*base, "person", "passwd", who.actor_id], input=wrong)
    assert code_ == 2 and "the current password or code is wrong" in err
    for command in ("disable", "enable", "reset-password", "reset-totp", "passwd"):
        code_, _, err = run([*base, "person", command, "act_nope"], input="x\n1\nlong enough 123\nlong enough 123\n")
        assert code_ == 2 and "no person act_nope" in err, (command, err)
