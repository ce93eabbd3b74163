"""``accord custody``: export a case's evidence bundle, verify it offline (a subprocess with no settings and
no database), verify the whole log after a direct database edit, rotate the signing key."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from accord.model.case import CaseIn
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.services import admin, cases, reports
from accord.services.node import open_node
from accord.settings import Settings
from accord.store.schema import custody_leaves, organisations
from tests.cli.helpers import run, run_sub, subprocess_env, token_in
from tests.cli.test_cli import init_node
from tests.conftest import report_json


def node_with_case(tmp_path: Path) -> tuple[list[str], str, str]:
    """A node (made by ``accord init``) with reports, their custody leaves and a case; returns the CLI base
    arguments, the case id and an analyst's key."""
    base, org, _ = init_node(tmp_path)
    code, out, _ = run([*base, "key", "create", "--org", org, "--name", "an", "--role", "analyst"])
    assert code == 0
    key = token_in(out)
    node = open_node(Settings(data_dir=tmp_path / "node"))
    try:
        actor = admin.authenticate(node, key)
        stored = [reports.submit(node, actor, parse_obj(ReportIn, report_json(f"r{i}"))).report for i in range(4)]
        case = cases.create(
            node, actor, parse_obj(CaseIn, {"title": "t", "jurisdiction": "DE", "report_ids": [stored[1].id]})
        )
    finally:
        node.close()
    return base, case.id, key


def test_export_then_verify_offline(tmp_path: Path) -> None:
    base, case_id, key = node_with_case(tmp_path)
    bundle = tmp_path / "bundle.json"
    code, out, err = run([*base, "custody", "export", case_id, "--out", str(bundle), "--key", key])
    assert code == 0, err
    assert f"written to {bundle}" in out and not bundle.with_name("bundle.json.partial").exists()

    # offline: another directory, no ACCORD_* settings, and no database is opened or created
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_sub(["custody", "verify", str(bundle)], subprocess_env(), elsewhere)
    assert done.returncode == 0, done.stderr
    assert "verifies: 1 item(s), 2 custody entries" in done.stdout
    assert "key taken from the bundle" in done.stdout
    assert list(elsewhere.iterdir()) == []

    doc = json.loads(bundle.read_text())
    doc["items"][0]["digest"] = "0" * 64
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    done = run_sub(["custody", "verify", str(tampered)], subprocess_env(), elsewhere)
    assert done.returncode == 1
    assert f"FAILED items[0] (report {doc['items'][0]['id']}): digest: the item's digest {'0' * 64}" in done.stderr
    assert "does NOT verify (2 failure(s))" in done.stderr  # differs from the received and the exported leaf


def test_verify_against_the_published_key(tmp_path: Path) -> None:
    base, case_id, key = node_with_case(tmp_path)
    bundle = tmp_path / "bundle.json"
    nowhere = tmp_path / "no-such-dir" / "bundle.json"
    code, _, err = run([*base, "custody", "export", case_id, "--out", str(nowhere), "--key", key])
    assert code == 2 and f"{nowhere}: /: cannot write" in err and not nowhere.parent.exists()
    assert run([*base, "custody", "export", case_id, "--out", str(bundle), "--key", key])[0] == 0
    code, out, _ = run([*base, "custody", "keys"])
    assert code == 0
    (published,) = out.split()
    code, out, _ = run(["custody", "verify", str(bundle), "--trusted-key", published])
    assert code == 0 and "key taken from the bundle" not in out and f"signed by {published}" in out
    other = published.rsplit("+", 1)[0].rsplit("+", 1)[0] + "+00000000+" + "A" * 43 + "="
    code, _, err = run(["custody", "verify", str(bundle), "--trusted-key", other])
    assert code == 2 and "--trusted-key" in err
    code, _, err = run(["custody", "verify", str(tmp_path / "missing.json")])
    assert code == 2 and "no such file" in err


def test_whole_log_verification_names_an_edited_leaf(tmp_path: Path) -> None:
    base, _, _ = node_with_case(tmp_path)
    code, out, _ = run([*base, "custody", "verify"])
    assert code == 0 and "custody log intact: 4 leaves" in out
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'node' / 'accord.db'}")
    with engine.begin() as conn:
        leaf = conn.execute(sa.select(custody_leaves.c.leaf).where(custody_leaves.c.seq == 2)).scalar_one()
        conn.execute(
            sa.update(custody_leaves)
            .where(custody_leaves.c.seq == 2)
            .values(leaf=leaf.replace(b"platform", b"hotline"))
        )
    engine.dispose()
    code, _, err = run([*base, "custody", "verify"])
    assert code == 1
    assert "custody leaf 2: its bytes hash to" in err and "first at leaf 2" in err


def test_rotate_key_keeps_the_old_bundle_verifiable(tmp_path: Path) -> None:
    base, case_id, key = node_with_case(tmp_path)
    before = tmp_path / "before.json"
    assert run([*base, "custody", "export", case_id, "--out", str(before), "--key", key])[0] == 0
    code, out, _ = run([*base, "custody", "rotate-key"])
    assert code == 0 and "retired accord/log_" in out and "signed checkpoint at size 5 with both keys" in out
    code, out, _ = run([*base, "custody", "keys"])
    keys = out.split()
    assert len(keys) == 2
    pinned = [a for k in keys for a in ("--trusted-key", k)]
    assert run(["custody", "verify", str(before), *pinned])[0] == 0
    after = tmp_path / "after.json"
    assert run([*base, "custody", "export", case_id, "--out", str(after), "--key", key])[0] == 0
    assert run(["custody", "verify", str(after), "--trusted-key", keys[1]])[0] == 0
    code, _, err = run(["custody", "verify", str(after), "--trusted-key", keys[0]])  # the retired key alone
    assert code == 1 and "checkpoint: signature: the note has no signature by a known key" in err
    code, out, _ = run([*base, "custody", "checkpoint"])
    assert code == 0 and out.startswith("accord/log_") and out.count("\n\u2014 ") == 1
    assert run([*base, "custody", "verify"])[0] == 0


def test_export_needs_a_permitted_key(tmp_path: Path) -> None:
    base, case_id, _ = node_with_case(tmp_path)
    node = open_node(Settings(data_dir=tmp_path / "node"))
    try:
        with node.db.read() as conn:
            org = conn.execute(sa.select(organisations.c.id)).scalar_one()
    finally:
        node.close()
    code, out, _ = run([*base, "key", "create", "--org", org, "--name", "aud", "--role", "auditor"])
    auditor = token_in(out)
    code, _, err = run([*base, "custody", "export", case_id, "--out", str(tmp_path / "b.json"), "--key", auditor])
    assert code == 2 and "custody.export" in err and not (tmp_path / "b.json").exists()
