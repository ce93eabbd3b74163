"""``accord analyze keyplayers`` end to end on small files; ``accord analyze resolve`` and ``decide`` on a small
simulated world and on a node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accord.graph.dismantling import auc10, lcc_curve, robustness
from accord.graph.edgelist import read_edgelist
from accord.model.organisation import CredentialIn, Role
from accord.model.report import ReportIn
from accord.services import admin, reports
from accord.services.node import open_node
from accord.settings import Settings
from accord.simulate import generate
from accord.simulate.reports import stream_reports
from accord.simulate.world import build_world
from tests.cli.helpers import run
from tests.cli.test_cli import init_node

EDGES = """# two triangles joined through 'bridge', a self-loop and a repeated edge
a b
b c
c a
c bridge
bridge d
d e
e f
f d
a a
b a
"""


@pytest.fixture
def edgelist(tmp_path: Path) -> Path:
    path = tmp_path / "net.edges"
    path.write_text(EDGES, encoding="utf-8")
    return path


@pytest.mark.parametrize("method", ["accord", "hda", "hba", "corehd", "ci"])
def test_writes_the_full_order_of_original_ids(tmp_path: Path, edgelist: Path, method: str) -> None:
    out = tmp_path / "order.txt"
    code, stdout, stderr = run(
        ["analyze", "keyplayers", "--edgelist", str(edgelist), "--order-out", str(out), "--method", method]
    )
    assert code == 0, stderr
    ids = out.read_text(encoding="utf-8").split()
    assert sorted(ids) == sorted(["a", "b", "c", "bridge", "d", "e", "f"])
    graph = read_edgelist(edgelist)
    curve = lcc_curve(graph, [graph.ids.index(i) for i in ids])
    assert f"R = {robustness(curve):.6f}" in stdout
    assert f"AUC10 = {auc10(curve):.4f}" in stdout
    assert "dropped 1 self-loop(s) and 1 duplicate edge(s)" in stderr
    if method in ("accord", "hba"):
        assert ids[0] in {"c", "bridge", "d"}


def test_choose_among_actionable_nodes(tmp_path: Path, edgelist: Path) -> None:
    actionable = tmp_path / "nl.txt"
    actionable.write_text("# nodes in the Netherlands\na\nd\nbridge\n", encoding="utf-8")
    args = ["analyze", "keyplayers", "--edgelist", str(edgelist), "--order-out", str(tmp_path / "o.txt")]
    code, stdout, stderr = run([*args, "--k", "1", "--actionable", str(actionable)])
    assert code == 0, stderr
    assert "best 1 to act on (exact): largest component left 3" in stdout
    assert stdout.strip().splitlines()[-1] == "bridge"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a b\nc\n", "net.edges:2: expected two node ids"),
        ("# nodes=2\n0 1\n1 2\n", "net.edges:3: node id '2'"),
    ],
)
def test_bad_input_exits_2_naming_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "net.edges"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "order.txt"
    code, _, stderr = run(["analyze", "keyplayers", "--edgelist", str(path), "--order-out", str(out)])
    assert code == 2
    assert message in stderr
    assert not out.exists()


def test_other_bad_input(tmp_path: Path, edgelist: Path) -> None:
    out = str(tmp_path / "o.txt")
    code, _, stderr = run(["analyze", "keyplayers", "--edgelist", str(tmp_path / "no.edges"), "--order-out", out])
    assert (code, "no such file" in stderr) == (2, True)
    code, _, stderr = run(["analyze", "keyplayers", "--edgelist", str(edgelist), "--order-out", out, "--method", "x"])
    assert (code, "unknown method" in stderr) == (2, True)
    bad = tmp_path / "act.txt"
    bad.write_text("zed\n", encoding="utf-8")
    code, _, stderr = run(
        ["analyze", "keyplayers", "--edgelist", str(edgelist), "--order-out", out, "--k", "1", "--actionable", str(bad)]
    )
    assert (code, "node 'zed' is not in" in stderr) == (2, True)
    code, _, stderr = run(
        ["analyze", "keyplayers", "--edgelist", str(edgelist), "--order-out", out, "--actionable", str(bad)]
    )
    assert (code, "--actionable needs --k" in stderr) == (2, True)


def test_empty_graph_gives_an_empty_order(tmp_path: Path) -> None:
    path = tmp_path / "empty.edges"
    path.write_text("# nothing\n", encoding="utf-8")
    out = tmp_path / "order.txt"
    code, stdout, _ = run(["analyze", "keyplayers", "--edgelist", str(path), "--order-out", str(out)])
    assert code == 0
    assert out.read_text(encoding="utf-8") == ""
    assert "0 nodes, 0 edges; R = 0.000000, AUC10 = 0.0000" in stdout


def test_resolve_a_world_with_a_decisions_file(tmp_path: Path) -> None:
    generate(9, 300, tmp_path / "w")
    out = tmp_path / "entities.json"
    code, stdout, err = run(["analyze", "resolve", "--world", str(tmp_path / "w"), "--out", str(out)])
    assert code == 0, err
    assert "against the truth" in stdout
    doc = json.loads(out.read_text())
    joined = next(e for e in doc["entities"] if len(e["records"]) > 1)
    a, b = joined["links"][0]["a"], joined["links"][0]["b"]
    (tmp_path / "d.jsonl").write_text(json.dumps({"kind": "split", "a": a, "b": b}) + "\n")
    w, d = str(tmp_path / "w"), str(tmp_path / "d.jsonl")
    code, _, err = run(["analyze", "resolve", "--world", w, "--out", str(out), "--decisions", d])
    assert code == 0, err
    doc = json.loads(out.read_text())
    where = {r: e["id"] for e in doc["entities"] for r in e["records"]}
    assert where[a] != where[b]


def test_bad_decisions_file_exits_2(tmp_path: Path) -> None:
    generate(9, 50, tmp_path / "w")
    (tmp_path / "d.jsonl").write_text('{"kind": "maybe", "a": "x", "b": "y"}\n')
    w, d = str(tmp_path / "w"), str(tmp_path / "d.jsonl")
    code, _, err = run(["analyze", "resolve", "--world", w, "--out", str(tmp_path / "o.json"), "--decisions", d])
    assert code == 2 and "d.jsonl:1" in err
    assert not (tmp_path / "o.json").exists()


def test_resolve_on_a_node_respects_a_stored_split(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    node = open_node(Settings(data_dir=tmp_path / "node"))
    try:
        roles = [Role.submitter, Role.analyst, Role.investigator]
        token = admin.create_credential_local(node, org, CredentialIn(name="analyst", roles=roles)).token
        actor = admin.authenticate(node, token)
        for sim in stream_reports(build_world(9, 250)):
            reports.submit(node, actor, ReportIn.model_validate(sim.report))
    finally:
        node.close()
    out = tmp_path / "entities.json"
    code, stdout, err = run([*base, "analyze", "resolve", "--out", str(out), "--key", token])
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert doc["records"] >= 250 and "against the truth" not in stdout
    joined = next(e for e in doc["entities"] if len(e["records"]) > 1)
    a, b = joined["links"][0]["a"], joined["links"][0]["b"]
    code, stdout, err = run([*base, "analyze", "decide", "split", a, b, "--key", token, "--note", "two people"])
    assert code == 0 and "split" in stdout, err
    code, _, err = run([*base, "analyze", "resolve", "--out", str(out), "--key", token])
    assert code == 0, err
    doc = json.loads(out.read_text())
    where = {r: e["id"] for e in doc["entities"] for r in e["records"]}
    assert where[a] != where[b]
    code, _, err = run([*base, "analyze", "decide", "maybe", a, b, "--key", token])
    assert code == 2 and "merge or split" in err
