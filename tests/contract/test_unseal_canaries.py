"""Sealed values appear nowhere but in the answer of a successful opening (issue 5 part 5; RELIABILITY C2, C3).

A report carries a planted narrative and a planted victim identifier. The whole unsealing flow then runs
over HTTP and the command line: warrants, requests, approvals, every refusal of the attack list, a
lawful opening, an emergency disclosure and its review, an overdue escalation, audit queries and
exports. Afterwards the planted values are searched for in the log records of the whole flow, the
standard output and error of every command run, every audit row, every problem+json body, the audit
exports, every custody leaf (openings and reads are leaves), and the database files (SQLite file and
WAL, or a ``pg_dump``). They must be found only in the answers of the successful openings, which the
test also checks, so the search itself is known to work.
"""

from __future__ import annotations

import logging
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from accord.safeguards import approvals
from accord.services import unsealing
from accord.store.schema import audit_events, custody_leaves
from tests.cli.helpers import run
from tests.conftest import PG_URL, World, auth
from tests.sealing import NARRATIVE, VICTIM, approval, approve_by, ask, ok, review, setup_org, warrant_body

CANARIES = (NARRATIVE, VICTIM)


def cli_base(world: World, tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    base = ["--data-dir", str(tmp_path / "node")]
    if not world.node.db.is_sqlite:
        schema = request.getfixturevalue("pg_schema").name
        base += ["--database-url", f"{PG_URL}?options=-csearch_path%3D{schema}"]
    return base


def test_planted_values_appear_only_in_successful_openings(
    client: TestClient,
    world: World,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    answers: list[str] = []  # every HTTP answer other than a successful opening
    openings: list[str] = []
    cli_output: list[str] = []

    def call(method: str, url: str, token: str, **kw: Any) -> Any:
        r = client.request(method, url, headers=auth(token), **kw)
        (openings if r.status_code == 200 and url.endswith("/open") else answers).append(r.text)
        return r

    with caplog.at_level(logging.DEBUG):
        org = setup_org(client, world, "A")
        b = setup_org(client, world, "B", custodians=1, ext="b-1")
        c0, c1, c2 = org.custodians
        base = cli_base(world, tmp_path, request)

        # Refusals: no warrant, expired warrant, field out of scope, k-1, forged, replayed, twice, foreign.
        call(
            "POST", "/v1/unseal-requests", org.investigator, json={"report_id": org.report_id, "fields": ["/narrative"]}
        )
        old = ok(
            call(
                "POST",
                "/v1/warrants",
                org.investigator,
                json=warrant_body(
                    [org.report_id], valid_from="2026-01-01T00:00:00Z", valid_until="2026-02-01T00:00:00Z"
                ),
            ),
            201,
        )
        body = {"warrant_id": old["id"], "report_id": org.report_id, "fields": ["/narrative"]}
        call("POST", "/v1/unseal-requests", org.investigator, json=body)
        narrow = ok(
            call("POST", "/v1/warrants", org.investigator, json=warrant_body([org.report_id], ["/narrative"])), 201
        )
        body = {"warrant_id": narrow["id"], "report_id": org.report_id, "fields": ["/subjects/1"]}
        call("POST", "/v1/unseal-requests", org.investigator, json=body)
        req = ask(client, org)
        call("POST", f"/v1/unseal-requests/{req['id']}/open", org.investigator)
        outsider, _ = approvals.new_signing_key()
        forged = approval(req, c0, signer=approvals.load_signing_key(outsider))
        call("POST", f"/v1/unseal-requests/{req['id']}/approvals", c0.token, json=forged)
        other = ask(client, org)
        call("POST", f"/v1/unseal-requests/{other['id']}/approvals", c0.token, json=approval(req, c0))
        approve_by(client, req, c0)
        call("POST", f"/v1/unseal-requests/{req['id']}/approvals", c0.token, json=approval(req, c0))
        call("POST", f"/v1/unseal-requests/{req['id']}/open", org.investigator)
        call(
            "POST",
            f"/v1/unseal-requests/{req['id']}/approvals",
            b.custodians[0].token,
            json=approval(req, b.custodians[0]),
        )
        call("POST", f"/v1/unseal-requests/{req['id']}/open", b.investigator)

        # The second approval through the command line, then the lawful opening (and a refused second one).
        code, out, err = run([*base, "seal", "approve", req["id"], "--custodian-id", c1.custodian_id,
                              "--signing-key", str(_pem(tmp_path, c1)), "--key", c1.token])  # fmt: skip
        cli_output += [out, err]
        assert code == 0, err
        assert (
            ok(call("POST", f"/v1/unseal-requests/{req['id']}/open", org.investigator))["fields"]["/narrative"]
            == NARRATIVE
        )
        call("POST", f"/v1/unseal-requests/{req['id']}/open", org.investigator)
        code, out, err = run([*base, "seal", "approve", req["id"], "--custodian-id", c2.custodian_id,
                              "--signing-key", str(_pem(tmp_path, c2)), "--key", c2.token])  # fmt: skip
        cli_output += [out, err]
        assert code == 2 and "already opened" in err

        # An emergency disclosure, overdue, escalated, then reviewed.
        urgent = ok(
            call(
                "POST",
                "/v1/unseal-requests",
                org.supervisor,
                json={"report_id": org.report_id, "fields": ["/subjects/1"]},
            ),
            201,
        )
        call("POST", f"/v1/unseal-requests/{urgent['id']}/open", org.supervisor, json={"emergency": True})
        opened = call(
            "POST",
            f"/v1/unseal-requests/{urgent['id']}/open",
            org.supervisor,
            json={"emergency": True, "reason": "imminent danger (synthetic)"},
        )
        assert VICTIM in opened.text
        clock.advance(timedelta(hours=49))
        assert [r.id for r in unsealing.escalate_overdue(world.node)] == [urgent["id"]]
        call("GET", "/v1/unseal-requests?overdue=true", org.auditor)
        call("POST", f"/v1/unseal-requests/{urgent['id']}/review", c2.token, json=review(urgent, c2))
        call("GET", f"/v1/reports/{org.report_id}/flags", org.analyst)
        call("GET", f"/v1/reports/{org.report_id}", org.analyst)

        # Auditors' views: queries, the export over HTTP and on the command line.
        for params in ({}, {"action": "unseal.*"}, {"outcome": "refused"}, {"object_id": req["id"]}):
            call("GET", "/v1/audit", org.auditor, params=params)
        export = call("GET", "/v1/audit/export", org.auditor)
        assert export.status_code == 200 and export.text.count("\n") > 20
        exported = tmp_path / "audit.ndjson"
        code, out, err = run([*base, "audit", "export", "--out", str(exported), "--key", org.auditor])
        cli_output += [out, err, exported.read_text()]
        assert code == 0, err

    # The search works: the openings hold the values.
    assert len(openings) == 2 and NARRATIVE in openings[0] and VICTIM in openings[1]

    problems = [t for t in answers if '"type":"urn:accord:problem:' in t]
    assert len(problems) >= 12, len(problems)
    places = {
        "log records": "\n".join(r.getMessage() for r in caplog.records),
        "command output": "\n".join(cli_output),
        "other answers and problem bodies": "\n".join(answers),
        "audit rows": _audit_rows(world),
        "custody leaves": _custody_leaves(world),
        "database": _database(world, tmp_path, request),
    }
    for where, text in places.items():
        for canary in CANARIES:
            assert canary not in text, f"{canary} found in the {where}"
    assert "urn:accord:problem:unseal-refused" in places["other answers and problem bodies"]
    assert "refused" in places["audit rows"] and "unseal.open" in places["audit rows"]
    # both openings and the report read are in the log: the leaves searched are the right ones
    leaves = places["custody leaves"]
    assert leaves.count('"action":"unsealed"') == 2 and '"action":"viewed"' in leaves, leaves


def _pem(tmp_path: Path, who: Any) -> Path:
    """Write a custodian's private key where ``accord seal approve`` reads it."""
    from cryptography.hazmat.primitives import serialization

    path = tmp_path / f"{who.custodian_id}.pem"
    if not path.exists():
        path.write_bytes(
            who.private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return path


def _audit_rows(world: World) -> str:
    with world.node.db.read() as conn:
        rows = [{str(k): v for k, v in r._mapping.items()} for r in conn.execute(sa.select(audit_events))]
    assert len(rows) > 50
    return orjson.dumps(rows, default=str).decode()


def _custody_leaves(world: World) -> str:
    with world.node.db.read() as conn:
        return "\n".join(bytes(r.leaf).decode() for r in conn.execute(sa.select(custody_leaves.c.leaf)))


def _database(world: World, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if world.node.db.is_sqlite:
        files = list((tmp_path / "node").glob("accord.db*"))
        assert files
        raw = b"".join(p.read_bytes() for p in files)
        assert b"suspect-unseal@example.org" in raw  # indexed identifiers are stored in clear: the grep works
    else:
        schema = request.getfixturevalue("pg_schema").name
        dump = subprocess.run(
            ["pg_dump", "--schema", schema, PG_URL.replace("postgresql+psycopg", "postgresql")],
            capture_output=True,
            check=True,
        )
        raw = dump.stdout
        assert b"CREATE TABLE" in raw and b"unseal_requests" in raw
    return raw.decode("utf-8", "replace")
