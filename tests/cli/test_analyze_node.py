"""``accord analyze network|communities|keyplayers|timeline|money|resolve --org`` on a node: the run is stored
like an API run, outputs are written as in the file-based forms, and bad input exits 2 naming the field."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import orjson

from accord.model.analytics import AnalysisKind
from accord.model.organisation import CredentialIn, Role
from accord.model.report import ReportIn
from accord.services import admin, reports
from accord.services.node import open_node
from accord.settings import Settings
from accord.store import analytics as analytics_store
from tests.cli.helpers import run
from tests.cli.test_cli import init_node
from tests.conftest import report_json

TRANSFER = {
    "at": "2025-03-01T10:00:00Z",
    "from": {"kind": "payment", "value": "tok-payer", "instrument": "card-token"},
    "to": {"kind": "payment", "value": "tok-payee", "instrument": "card-token"},
    "amount": 40.0,
    "currency": "EUR",
}


def fill(tmp_path: Path, org: str) -> None:
    node = open_node(Settings(data_dir=tmp_path / "node"))
    try:
        key = admin.create_credential_local(node, org, CredentialIn(name="submitter", roles=[Role.analyst]))
        actor = admin.authenticate(node, key.token)
        for hub, leaves in (("h1", "abc"), ("h2", "def")):
            for leaf in leaves:
                subjects = [
                    {"role": "suspect", "identifiers": [{"kind": "account", "service": "p", "value": v}]}
                    for v in (hub, leaf)
                ]
                body = report_json(f"{hub}-{leaf}", subjects=subjects, media=[])
                reports.submit(node, actor, ReportIn.model_validate(body))
    finally:
        node.close()


def pay(tmp_path: Path, org: str) -> None:
    """One more report, carrying a transfer and no subjects."""
    node = open_node(Settings(data_dir=tmp_path / "node"))
    try:
        key = admin.create_credential_local(node, org, CredentialIn(name="payments", roles=[Role.analyst]))
        body = report_json("paid", subjects=[], media=[], transfers=[TRANSFER])
        reports.submit(node, admin.authenticate(node, key.token), ReportIn.model_validate(body))
    finally:
        node.close()


def stored_runs(tmp_path: Path, org: str) -> list[AnalysisKind]:
    node = open_node(Settings(data_dir=tmp_path / "node"))
    try:
        with node.db.read() as conn:
            return [r.kind for r in analytics_store.list_runs(conn, org, None, 50)]
    finally:
        node.close()


def test_analyses_on_a_node(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    fill(tmp_path, org)
    net_json, graphml = tmp_path / "net.json", tmp_path / "net.graphml"
    outputs = ["--json", str(net_json), "--graphml", str(graphml)]
    code, out, err = run([*base, "analyze", "network", "--org", org, *outputs])
    assert code == 0, err
    assert "8 entities, 6 edges from 6 reports" in out and "run run_" in err
    assert len(orjson.loads(net_json.read_bytes())["nodes"]) == 8
    assert len(ET.parse(graphml).getroot()[-1]) == 14  # 8 nodes + 6 edges
    com = tmp_path / "com.json"
    code, out, err = run([*base, "analyze", "communities", "--org", org, "--out", str(com), "--min-size", "2"])
    assert code == 0 and "2 communities" in out, err
    order = tmp_path / "order.txt"
    code, out, err = run([*base, "analyze", "keyplayers", "--org", org, "--top", "2", "--order-out", str(order)])
    assert code == 0, err
    assert set(order.read_text().split()) == {"account:p/h1", "account:p/h2"}
    code, out, err = run([*base, "analyze", "keyplayers", "--org", org, "--k", "1", "--jurisdiction", "FR"])
    assert code == 0 and "best 0 to act on" in out, err  # every report is from DE: nothing actionable in FR
    tl = tmp_path / "tl.json"
    code, out, err = run([*base, "analyze", "timeline", "--org", org, "--out", str(tl), "--key", "account:p/h2"])
    assert code == 0 and "3 events" in out, err
    pay(tmp_path, org)
    money = tmp_path / "money.json"
    code, out, err = run([*base, "analyze", "money", "--org", org, "--out", str(money)])
    assert code == 0 and "1 transfers" in out, err
    assert orjson.loads(money.read_bytes())["transfers"] == 1
    ents = tmp_path / "entities.json"
    code, out, err = run([*base, "analyze", "resolve", "--org", org, "--out", str(ents)])
    assert code == 0 and "entities; written to" in out, err
    code, out, err = run([*base, "analyze", "network", "--org", org, "--resolve-run", "latest"])
    assert code == 0 and "entities" in out, err
    assert stored_runs(tmp_path, org) == [
        AnalysisKind.network,
        AnalysisKind.resolve,
        AnalysisKind.money,
        AnalysisKind.timeline,
        AnalysisKind.keyplayers,
        AnalysisKind.keyplayers,
        AnalysisKind.communities,
        AnalysisKind.network,
    ]


def test_bad_input_on_a_node(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    code, _, err = run([*base, "analyze", "network", "--org", "org_nosuch"])
    assert code == 2 and "no organisation org_nosuch" in err
    code, _, err = run([*base, "analyze", "network"])
    assert code == 2 and "either --world" in err
    code, _, err = run([*base, "analyze", "network", "--org", org, "--world", str(tmp_path)])
    assert code == 2 and "either --world" in err
    code, _, err = run([*base, "analyze", "keyplayers", "--org", org, "--jurisdiction", "FR"])
    assert code == 2 and "/parameters" in err and "give k too" in err
    bad = ["--out", str(tmp_path / "c"), "--resolution", "0"]
    code, _, err = run([*base, "analyze", "communities", "--org", org, *bad])
    assert code == 2 and "/parameters/resolution" in err
    assert not (tmp_path / "c").exists()
    code, _, err = run([*base, "analyze", "network", "--org", org, "--resolve-run", "run_nosuch"])
    assert code == 2 and "/parameters/resolve_run" in err
    code, _, err = run([*base, "analyze", "money", "--org", org, "--out", str(tmp_path / "m"), "--trace", "x"])
    assert code == 2 and "/parameters/trace" in err and not (tmp_path / "m").exists()
    code, _, err = run([*base, "analyze", "money", "--out", str(tmp_path / "m")])
    assert code == 2 and "either --world" in err
    code, out, err = run([*base, "analyze", "keyplayers", "--org", org, "--k", "2"])
    assert code == 0 and "0 entities, 0 edges" in out, err  # an organisation with no reports
