"""People's credentials never reach the disk, the audit trail or the logs in clear (RELIABILITY C2, C3):
the initial password, the TOTP secret (as text and as the key bytes it encodes), session tokens, wrong
passwords tried at sign-in, passwords a person chooses (and a wrong current one given to change it), an
admin's reset password, and a re-enrolled TOTP secret. The canary technique of ``test_at_rest.py``."""

from __future__ import annotations

import base64
import logging
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from accord.model.organisation import Role
from accord.store.schema import audit_events
from tests.conftest import PG_URL, World, auth
from tests.signin import attempt, change_password, code, enrol, from_enrolment, sign_in

WRONG_PASSWORD = "CANARY-WRONG-PASSWORD-81d3"
CHOSEN = "CANARY-CHOSEN-PASSWORD-5e07"
CHOSEN_AFTER_RESET = "CANARY-CHOSEN-AFTER-RESET-c2a9"
WRONG_CURRENT = "CANARY-WRONG-CURRENT-44f1"


def raw_store(world: World, tmp_path: Path, request: pytest.FixtureRequest) -> bytes:
    if world.node.db.is_sqlite:
        files = list((tmp_path / "node").glob("accord.db*"))  # the database and its WAL
        assert files, "no database files found"
        return b"".join(p.read_bytes() for p in files)
    schema = request.getfixturevalue("pg_schema").name
    dump = subprocess.run(
        ["pg_dump", "--schema", schema, PG_URL.replace("postgresql+psycopg", "postgresql")],
        capture_output=True,
        check=True,
    )
    assert b"CREATE TABLE" in dump.stdout
    return dump.stdout


def test_credential_canaries_absent_from_store_audit_and_logs(
    client: TestClient,
    world: World,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    _, admin = world.org("A", [Role.admin])
    with caplog.at_level(logging.DEBUG):
        who = enrol(client, admin, ["analyst"])
        assert attempt(client, who, clock, password=WRONG_PASSWORD).status_code == 401
        token = sign_in(client, who, clock)
        assert client.get("/v1/reports", headers=auth(token)).status_code == 200
        assert client.delete("/v1/sessions/current", headers=auth(token)).status_code == 204
        second = sign_in(client, who, clock)  # a live session's token too
        initial = who.password
        wrong_current = {
            "current_password": WRONG_CURRENT,
            "totp": code(who.secret, clock.now()),
            "new_password": CHOSEN + "-no",
        }
        r = client.post("/v1/sessions/current/password", json=wrong_current, headers=auth(second))
        assert r.status_code == 403
        assert change_password(client, second, who, clock, CHOSEN).status_code == 204
        reset = client.post(f"/v1/people/{who.actor_id}/password-reset", headers=auth(admin)).json()["password"]
        who.password = reset
        after_reset = sign_in(client, who, clock)
        assert change_password(client, after_reset, who, clock, CHOSEN_AFTER_RESET).status_code == 204
        renewed = client.post(f"/v1/people/{who.actor_id}/totp-reset", headers=auth(admin)).json()["totp_uri"]
        new_secret = from_enrolment({"actor_id": who.actor_id, "org_id": who.org_id}, who.password, renewed).secret
        for _ in range(5):
            assert attempt(client, who, clock, password=WRONG_PASSWORD).status_code == 401  # locks
    canaries = {
        "password": initial.encode(),
        "totp secret": who.secret.encode(),
        "totp key bytes": base64.b32decode(who.secret),
        "otpauth uri": who.uri.encode(),
        "session token": token.encode(),
        "live session token": second.encode(),
        "wrong password": WRONG_PASSWORD.encode(),
        "chosen password": CHOSEN.encode(),
        "refused new password": (CHOSEN + "-no").encode(),
        "wrong current password": WRONG_CURRENT.encode(),
        "reset password": reset.encode(),
        "chosen after reset": CHOSEN_AFTER_RESET.encode(),
        "re-enrolled totp secret": new_secret.encode(),
        "re-enrolled totp key bytes": base64.b32decode(new_secret),
        "re-enrolled otpauth uri": renewed.encode(),
    }

    logged = "\n".join(r.getMessage() for r in caplog.records).encode()
    with world.node.db.read() as conn:
        trail = repr([r._asdict() for r in conn.execute(sa.select(audit_events))]).encode()
    assert b"session.lockout" in trail and who.actor_id.encode() in trail  # the trail is real
    for action in (b"person.password_change", b"person.password_reset", b"person.totp_reset"):
        assert action in trail
    raw = raw_store(world, tmp_path, request)
    assert who.actor_id.encode() in raw  # the grep itself works

    found = {
        (where, name)
        for where, text in (("logs", logged), ("audit", trail), ("database", raw))
        for name, canary in canaries.items()
        if canary in text
    }
    assert found == set()
