"""``accord seal`` and ``accord audit export`` on SQLite: key splitting for disaster recovery, custodians'
keys and approvals, the overdue-review run, and the auditor's export."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from accord.clock import FixedClock
from accord.model.custodian import CustodianIn
from accord.model.organisation import CredentialIn, Role
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.model.unseal import OpenIn, UnsealRequestIn
from accord.model.warrant import WarrantIn
from accord.safeguards import shamir
from accord.services import admin, custodians, reports, unsealing, warrants
from accord.services.node import open_node
from accord.settings import Settings
from tests.cli.helpers import run, token_in
from tests.cli.test_cli import init_node
from tests.sealing import sealed_report, warrant_body


def test_split_then_join_restores_the_key(tmp_path: Path) -> None:
    base, _, _ = init_node(tmp_path)
    key_file = tmp_path / "node" / "keys" / "seal.key"
    key = key_file.read_bytes()
    code, out, err = run([*base, "seal", "split", "--k", "3", "--n", "5", "--out", str(tmp_path / "shares")])
    assert code == 0, err
    fp = out.split("key fingerprint: ")[1].split()[0]
    assert fp == shamir.fingerprint(key)
    files = sorted((tmp_path / "shares").iterdir())
    assert [f.name for f in files] == [f"share-{i}-of-5.json" for i in range(1, 6)]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert all(key.hex() not in f.read_text() for f in files)
    code, _, err = run([*base, "seal", "split", "--k", "3", "--n", "5", "--out", str(tmp_path / "shares")])
    assert code == 2 and "already exists" in err

    # Disaster: the key is lost. Any three custodians bring their shares.
    key_file.unlink()
    chosen = [str(files[i]) for i in (4, 0, 2)]
    code, out, err = run([*base, "seal", "join", *chosen[:2]])
    assert code == 2 and "3 shares are needed to restore the key, 2 given" in err and not key_file.exists()
    code, out, err = run([*base, "seal", "join", *chosen, "--expect-fingerprint", "0" * 32])
    assert code == 2 and "not " + "0" * 32 in err and not key_file.exists()
    code, out, err = run([*base, "seal", "join", *chosen, "--expect-fingerprint", fp])
    assert code == 0, err
    assert key_file.read_bytes() == key and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert fp in out
    code, out, _ = run([*base, "seal", "join", *chosen])
    assert code == 0 and "already holds this key" in out

    other = tmp_path / "other.key"
    other.write_bytes(b"x" * 32)
    code, _, err = run([*base, "seal", "join", *chosen, "--out", str(other)])
    assert code == 2 and "holds another key" in err


def test_join_names_the_damaged_share(tmp_path: Path) -> None:
    base, _, _ = init_node(tmp_path)
    run([*base, "seal", "split", "--k", "2", "--n", "3", "--out", str(tmp_path / "s")])
    one, two, _ = sorted((tmp_path / "s").iterdir())
    doc = orjson.loads(two.read_bytes())
    doc["share"] = "ff" + doc["share"][2:]
    two.write_bytes(orjson.dumps(doc))
    code, _, err = run([*base, "seal", "join", str(one), str(two), "--out", str(tmp_path / "k")])
    assert code == 2 and f"{two}: /checksum: checksum mismatch" in err
    code, _, err = run([*base, "seal", "join", str(one), str(tmp_path / "missing.json")])
    assert code == 2 and "no such file" in err


def test_split_needs_an_existing_key_and_sane_k(tmp_path: Path) -> None:
    code, _, err = run(["--data-dir", str(tmp_path / "empty"), "seal", "split", "--k", "2", "--n", "3", "--out", "x"])
    assert code == 2 and "no sealing key here" in err
    base, _, _ = init_node(tmp_path)
    code, _, err = run([*base, "seal", "split", "--k", "4", "--n", "3", "--out", str(tmp_path / "s")])
    assert code == 2 and "2 <= k <= n <= 255" in err


def test_keygen_then_approve_on_the_command_line(tmp_path: Path) -> None:
    base, org, admin_key = init_node(tmp_path)
    keys = {}
    for role in ("investigator", "analyst", "custodian"):
        _, out, _ = run([*base, "key", "create", "--org", org, "--name", role, "--role", role])
        keys[role] = token_in(out)
    code, public, err = run([*base, "seal", "keygen", "--out", str(tmp_path / "c.pem")])
    assert code == 0 and len(public.strip()) == 44, err
    assert stat.S_IMODE((tmp_path / "c.pem").stat().st_mode) == 0o600
    code, _, err = run([*base, "seal", "keygen", "--out", str(tmp_path / "c.pem")])
    assert code == 2 and "already exists" in err

    node = open_node(Settings(data_dir=tmp_path / "node"))
    try:
        analyst = admin.authenticate(node, keys["analyst"])
        inv = admin.authenticate(node, keys["investigator"])
        cust = admin.authenticate(node, keys["custodian"])
        reg = custodians.register(
            node,
            admin.authenticate(node, admin_key),
            parse_obj(CustodianIn, {"actor_id": cust.id, "public_key": public.strip()}),
        )
        rid = reports.submit(node, analyst, parse_obj(ReportIn, sealed_report("cli-1"))).report.id
        now = datetime.now(UTC)
        w = warrants.record(
            node,
            inv,
            parse_obj(
                WarrantIn,
                warrant_body(
                    [rid],
                    valid_from=now.replace(year=now.year - 1).isoformat(),
                    valid_until=now.replace(year=now.year + 1).isoformat(),
                ),
            ),
        )
        req = unsealing.create(node, inv, UnsealRequestIn(warrant_id=w.id, report_id=rid, fields=["/narrative"]))
    finally:
        node.close()

    args = [*base, "seal", "approve", req.id, "--custodian-id", reg.id, "--signing-key", str(tmp_path / "c.pem")]
    code, out, err = run([*args, "--key", keys["custodian"]])
    assert code == 0, err
    assert f"approved {req.id}" in out and "1 of 2 approvals" in out
    code, _, err = run([*args, "--key", keys["custodian"]])
    assert code == 2 and "already approved" in err
    code, _, err = run([*args, "--key", keys["investigator"]])
    assert code == 2 and "do not allow unseal.read" not in err and "unseal.approve" in err
    (tmp_path / "bad.pem").write_text("nope")
    code, _, err = run([*args[:-1], str(tmp_path / "bad.pem"), "--key", keys["custodian"]])
    assert code == 2 and "bad.pem" in err and "PEM" in err
    code, _, err = run([*args[:-1], str(tmp_path / "none.pem"), "--key", keys["custodian"]])
    assert code == 2 and "no such file" in err


def test_overdue_run_escalates_once_and_exits_1(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    settings = Settings(data_dir=tmp_path / "node")
    node = open_node(settings, clock=FixedClock(datetime(2020, 1, 1, tzinfo=UTC)))  # long ago: overdue now
    try:
        analyst = admin.authenticate(
            node, admin.create_credential_local(node, org, CredentialIn(name="a", roles=[Role.analyst])).token
        )
        sup = admin.authenticate(
            node, admin.create_credential_local(node, org, CredentialIn(name="s", roles=[Role.supervisor])).token
        )
        rid = reports.submit(node, analyst, parse_obj(ReportIn, sealed_report("cli-2"))).report.id
        req = unsealing.create(node, sup, UnsealRequestIn(report_id=rid, fields=["/narrative"]))
        unsealing.open_request(node, sup, req.id, OpenIn(emergency=True, reason="imminent danger (synthetic)"))
    finally:
        node.close()
    code, _, err = run([*base, "seal", "overdue"])
    assert code == 1 and f"OVERDUE {req.id}" in err and "2020-01-03" in err
    code, _, err = run([*base, "seal", "overdue"])
    assert code == 1 and req.id in err
    auditor_out = run([*base, "key", "create", "--org", org, "--name", "aud", "--role", "auditor"])[1]
    out_file = tmp_path / "escalations.ndjson"
    code, _, err = run(
        [
            *base,
            "audit",
            "export",
            "--out",
            str(out_file),
            "--key",
            token_in(auditor_out),
            "--action",
            "unseal.escalate",
        ]
    )
    assert code == 0, err
    events = [orjson.loads(line) for line in out_file.read_bytes().splitlines()]
    assert [(e["object_id"], e["outcome"]) for e in events] == [(req.id, "escalated")]  # once, not twice


def test_overdue_run_with_nothing_late(tmp_path: Path) -> None:
    base, _, _ = init_node(tmp_path)
    code, out, _ = run([*base, "seal", "overdue"])
    assert code == 0 and "no overdue" in out


def test_audit_export_filters_and_refusals(tmp_path: Path) -> None:
    base, org, admin_key = init_node(tmp_path)
    aud = token_in(run([*base, "key", "create", "--org", org, "--name", "aud", "--role", "auditor"])[1])
    out_file = tmp_path / "audit.ndjson"
    code, out, err = run([*base, "audit", "export", "--out", str(out_file), "--key", aud])
    assert code == 0, err
    events = [orjson.loads(line) for line in out_file.read_bytes().splitlines()]
    assert f"{len(events)} audit events written" in out
    assert {e["action"] for e in events} >= {"node.init", "credential.create"}
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    code, _, err = run([*base, "audit", "export", "--out", str(out_file), "--key", aud, "--outcome", "refused"])
    assert code == 0 and out_file.read_bytes() == b""
    code, _, err = run([*base, "audit", "export", "--out", str(tmp_path / "no.ndjson"), "--key", admin_key])
    assert code == 2 and "audit.export" in err and not (tmp_path / "no.ndjson").exists()
    code, _, err = run(
        [*base, "audit", "export", "--out", str(out_file), "--key", aud, "--since", "2020-01-01T00:00:00"]
    )
    assert code == 0, err


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACCORD_KEY", "ACCORD_DATABASE_URL", "ACCORD_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
