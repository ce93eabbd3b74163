"""``accord person add`` and ``accord person unlock``: enrolment at the console, then signing in over HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from accord.api.app import create_app
from accord.clock import FixedClock
from accord.services.node import open_node
from accord.settings import Settings
from tests.cli.helpers import run
from tests.cli.test_cli import init_node
from tests.conftest import auth
from tests.signin import attempt, from_enrolment, sign_in


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
