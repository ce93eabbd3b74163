from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord.cli.main import app
from accord.simulate import generate

runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate(2, 1200, out)
    return out


def test_network_communities_money_timeline(world: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["analyze", "network", "--world", str(world), "--json", str(tmp_path / "n.json"),
                              "--graphml", str(tmp_path / "n.graphml")])  # fmt: skip
    assert res.exit_code == 0, res.output
    elements = json.loads((tmp_path / "n.json").read_text())
    assert elements["nodes"] and {e["data"]["kind"] for e in elements["edges"]} >= {"co-report", "payment"}
    assert (tmp_path / "n.graphml").read_text().startswith("<?xml")
    res = runner.invoke(app, ["analyze", "communities", "--world", str(world), "--out", str(tmp_path / "c.json"),
                              "--method", "cpm", "--resolution", "0.1", "--seed", "1"])  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["communities"][0]["size"] >= doc["communities"][-1]["size"] >= 3 and doc["communities"][0]["hubs"]
    truth = json.loads((world / "truth.json").read_text())
    target = next(iter(truth["networks"].values()))["money_chains"][0]["instruments"][2]
    res = runner.invoke(app, ["analyze", "money", "--world", str(world), "--out", str(tmp_path / "m.json"),
                              "--trace", target])  # fmt: skip
    assert res.exit_code == 0, res.output
    money = json.loads((tmp_path / "m.json").read_text())
    assert money["traces"][1]["direction"] == "backward" and money["traces"][1]["reached_eur"]
    res = runner.invoke(app, ["analyze", "timeline", "--world", str(world), "--out", str(tmp_path / "t.json"),
                              "--key", target])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "t.json").read_text())["events"]


def test_bad_inputs_exit_2_and_write_nothing(world: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["analyze", "money", "--world", str(tmp_path), "--out", str(tmp_path / "m.json")])
    assert res.exit_code == 2 and "no reports.ndjson" in res.output
    res = runner.invoke(app, ["analyze", "money", "--world", str(world), "--out", str(tmp_path / "m.json"),
                              "--trace", "payment:iban/NOPE"])  # fmt: skip
    assert res.exit_code == 2 and "takes part in no transfer" in res.output
    bad = tmp_path / "events.ndjson"
    bad.write_text('{"at": "2025-03-01T10:00:00", "kind": "login", "source": "a"}\n')
    res = runner.invoke(app, ["analyze", "timeline", "--world", str(world), "--out", str(tmp_path / "t.json"),
                              "--events", str(bad)])  # fmt: skip
    assert res.exit_code == 2 and "events.ndjson:1" in res.output
    assert not list(tmp_path.glob("*.json"))
