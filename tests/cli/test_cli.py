"""The ``accord`` command end to end on SQLite: init, organisations, keys, ingest, audit verify."""

from __future__ import annotations

from pathlib import Path

import orjson
import sqlalchemy as sa

from tests.cli.helpers import run, token_in
from tests.conftest import report_json


def init_node(tmp_path: Path) -> tuple[list[str], str, str]:
    base = ["--data-dir", str(tmp_path / "node")]
    code, out, _ = run([*base, "init", "--org-name", "Hotline", "--jurisdiction", "DE"])
    assert code == 0, out
    org = out.split("operator organisation: ")[1].split()[0]
    return base, org, token_in(out)


def test_init_twice_is_refused(tmp_path: Path) -> None:
    base, _, _ = init_node(tmp_path)
    code, _, err = run([*base, "init"])
    assert code == 2 and "already initialised" in err


def test_init_rejects_unknown_jurisdiction(tmp_path: Path) -> None:
    code, _, err = run(["--data-dir", str(tmp_path / "n"), "init", "--jurisdiction", "XX"])
    assert code == 2 and "/jurisdiction" in err


def test_org_and_key_then_ingest_with_rejections(tmp_path: Path) -> None:
    base, _, _ = init_node(tmp_path)
    code, out, _ = run([*base, "org", "add", "--name", "Platform", "--kind", "platform", "--jurisdiction", "IE"])
    assert code == 0
    org = out.strip()
    code, out, _ = run([*base, "key", "create", "--org", org, "--name", "ingest", "--role", "submitter"])
    assert code == 0
    key = token_in(out)
    lines = [orjson.dumps(report_json(f"r{i}")) for i in range(10)]
    lines[3] = orjson.dumps(report_json("r3", incident_type="not-a-code"))
    lines[6] = b'{"broken": '
    f = tmp_path / "reports.ndjson"
    f.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = run([*base, "ingest", str(f), "--key", key])
    assert code == 2
    assert "8 accepted, 0 duplicates, 2 rejected" in out
    assert f"{f}:4: /incident_type: unknown categories code 'not-a-code'" in err
    assert f"{f}:7: /: malformed JSON" in err
    code, out, _ = run([*base, "ingest", str(f), "--key", key])
    assert "0 accepted, 8 duplicates, 2 rejected" in out


def test_ingest_json_array_and_bad_key(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    _, out, _ = run([*base, "key", "create", "--org", org, "--name", "x", "--role", "analyst"])
    key = token_in(out)
    f = tmp_path / "reports.json"
    f.write_bytes(orjson.dumps([report_json("a"), report_json("b")]))
    code, out, _ = run([*base, "ingest", str(f), "--key", key])
    assert code == 0 and "2 accepted" in out
    code, _, err = run([*base, "ingest", str(f), "--key", key[:-3] + "abc"])
    assert code == 2 and "valid, unexpired API key" in err
    code, _, err = run([*base, "ingest", str(tmp_path / "missing.ndjson"), "--key", key])
    assert code == 2 and "no such file" in err


def test_key_create_rejects_unknown_org_and_bad_role(tmp_path: Path) -> None:
    base, _, _ = init_node(tmp_path)
    code, _, err = run([*base, "key", "create", "--org", "org_nope", "--name", "x", "--role", "analyst"])
    assert code == 2 and "no organisation org_nope" in err
    code, _, _ = run([*base, "key", "create", "--org", "org_nope", "--name", "x", "--role", "wizard"])
    assert code == 2


def test_audit_verify_detects_edits_and_truncation(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    _, out, _ = run([*base, "key", "create", "--org", org, "--name", "x", "--role", "analyst"])
    key = token_in(out)
    f = tmp_path / "r.ndjson"
    f.write_bytes(b"\n".join(orjson.dumps(report_json(f"r{i}")) for i in range(5)))
    run([*base, "ingest", str(f), "--key", key])
    code, out, _ = run([*base, "audit", "verify"])
    assert code == 0 and "audit trail intact" in out
    head = out.split("head ")[1].strip()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'node' / 'accord.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)"))
    code, _, err = run([*base, "audit", "verify", "--expect-head", head])
    assert code == 1 and "not in the chain" in err
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET action = 'report.read' WHERE seq = 3"))
    code, _, err = run([*base, "audit", "verify"])
    assert code == 1 and "audit event 3: hash does not match" in err
    engine.dispose()


def test_export_then_ingest_elsewhere_and_bad_export_input(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    _, out, _ = run([*base, "key", "create", "--org", org, "--name", "x", "--role", "analyst"])
    key = token_in(out)
    f = tmp_path / "reports.ndjson"
    f.write_bytes(
        b"".join(
            orjson.dumps(report_json(f"x{i}", incident_type="grooming" if i % 2 else "csam")) + b"\n" for i in range(6)
        )
    )
    assert run([*base, "ingest", str(f), "--key", key])[0] == 0
    dest = tmp_path / "out.ndjson"
    code, out, err = run([*base, "export", "native", "--out", str(dest), "--key", key, "--incident-type", "grooming"])
    assert code == 0, err
    assert "3 reports written" in out
    assert sorted(orjson.loads(x)["external_id"] for x in dest.read_bytes().splitlines()) == ["x1", "x3", "x5"]
    code, _, err = run(
        [*base, "export", "native", "--out", str(tmp_path / "o2"), "--key", key, "--incident-type", "nope"]
    )
    assert code == 2 and "--incident-type" in err and not (tmp_path / "o2").exists()
    code, _, err = run([*base, "export", "pdf", "--out", str(tmp_path / "o3"), "--key", key])
    assert code == 2 and "unknown export format 'pdf'" in err
    assert not (tmp_path / "o3").exists() and not (tmp_path / "o3.partial").exists()
    base2, org2, _ = init_node(tmp_path / "second")
    _, out, _ = run([*base2, "key", "create", "--org", org2, "--name", "x", "--role", "analyst"])
    code, out, _ = run([*base2, "ingest", str(dest), "--key", token_in(out)])
    assert code == 0 and "native: 3 accepted" in out


def test_ingest_ncmec_xml_names_rejected_elements_and_refuses_a_dtd(tmp_path: Path) -> None:
    """``accord ingest --format ncmec`` of the multi-report example: the wrapper is streamed (files
    joined to their report from the spill), rejected objects are named by element path, and a
    document with a DTD is refused whole, storing nothing."""
    base, org, _ = init_node(tmp_path)
    _, out, _ = run([*base, "key", "create", "--org", org, "--name", "x", "--role", "analyst"])
    key = token_in(out)
    multi = Path(__file__).parents[1] / "data" / "formats" / "ncmec" / "multi.xml"
    code, out, err = run([*base, "ingest", "--format", "ncmec", str(multi), "--key", key])
    assert code == 2, err
    assert "ncmec: 2 accepted, 0 duplicates, 3 rejected" in out
    assert "/reports/report[2]/incidentSummary/incidentDateTime" in err
    assert "/reports/fileDetails[3]/reportId" in err
    hostile = tmp_path / "hostile.xml"
    hostile.write_bytes(b'<?xml version="1.0"?>\n<!DOCTYPE reports [<!ENTITY x "y">]>\n<reports>&x;</reports>\n')
    code, out, err = run([*base, "ingest", "--format", "ncmec", str(hostile), "--key", key])
    assert code == 2 and "hostile.xml: refused: the document has a DTD" in err
    code, out, _ = run([*base, "ingest", "--format", "ncmec", str(multi), "--key", key])
    assert "0 accepted, 2 duplicates, 3 rejected" in out
