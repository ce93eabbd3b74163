"""Sealed values never reach the disk, the audit trail or the logs in clear (RELIABILITY C3, C2 canaries)."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from accord.model.organisation import Role
from tests.conftest import PG_URL, World, auth, report_json

NARRATIVE = "CANARY-NARRATIVE-5f1e2d"
VICTIM = "canary-victim-7a9c@example.org"


def submit_with_canaries(client: TestClient, token: str) -> None:
    body = report_json(
        "sealed-1",
        narrative=NARRATIVE,
        subjects=[
            {"role": "suspect", "identifiers": [{"kind": "email", "value": "suspect@example.org"}]},
            {"role": "victim", "identifiers": [{"kind": "email", "value": VICTIM}]},
        ],
    )
    assert client.post("/v1/reports", json=body, headers=auth(token)).status_code == 201
    bad = dict(body, external_id="sealed-2", marking="NOT-A-MARKING")
    assert client.post("/v1/reports", json=bad, headers=auth(token)).status_code == 422
    rid = client.get("/v1/reports", headers=auth(token)).json()["items"][0]["id"]
    assert client.get(f"/v1/reports/{rid}", headers=auth(token)).status_code == 200


def test_canaries_absent_from_store_and_logs(
    client: TestClient, world: World, caplog: pytest.LogCaptureFixture, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _, token = world.org("A", [Role.analyst])
    with caplog.at_level(logging.DEBUG):
        submit_with_canaries(client, token)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert NARRATIVE not in logged and VICTIM not in logged
    db = world.node.db
    if db.is_sqlite:
        files = list((tmp_path / "node").glob("accord.db*"))  # the database and its WAL
        assert files, "no database files found"
        raw = b"".join(p.read_bytes() for p in files)
    else:
        schema = request.getfixturevalue("pg_schema").name
        dump = subprocess.run(
            ["pg_dump", "--schema", schema, PG_URL.replace("postgresql+psycopg", "postgresql")],
            capture_output=True,
            check=True,
        )
        raw = dump.stdout
        assert b"CREATE TABLE" in raw and b"sealed-1" in raw  # the dump is real and holds the report
    assert NARRATIVE.encode() not in raw
    assert VICTIM.encode() not in raw
    assert b"suspect@example.org" in raw  # indexed identifiers are stored: the grep itself works
