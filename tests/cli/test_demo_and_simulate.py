"""``accord simulate`` and ``accord demo`` from the command line (small worlds, no server)."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.cli.helpers import run


def test_simulate_writes_reports_and_truth(tmp_path: Path) -> None:
    code, out, _ = run(["simulate", "--seed", "3", "--reports", "300", "--out", str(tmp_path / "w")])
    assert code == 0 and "wrote 300 reports" in out
    lines = (tmp_path / "w" / "reports.ndjson").read_bytes().splitlines()
    assert len(lines) == 300
    truth = orjson.loads((tmp_path / "w" / "truth.json").read_bytes())
    assert set(truth["reports"]) == {orjson.loads(line)["external_id"] for line in lines}


def test_demo_loads_a_world_and_refuses_foreign_directories(tmp_path: Path) -> None:
    demo_dir = tmp_path / "demo"
    code, out, err = run(["--data-dir", str(demo_dir), "demo", "--reports", "400", "--no-serve"])
    assert code == 0, err
    assert "demo node ready: 400 reports" in out and "analyst key:  accord_key_" in out
    carried = sum(1 for line in (demo_dir / "world" / "transfers.ndjson").read_text().splitlines() if line)
    reports = -(-carried // 25)
    assert carried > 0 and f"money:        {reports} partner reports carrying the world's transfers" in out
    # the money analysis on the demo node reads those transfers
    org = next(line.split()[-1] for line in out.splitlines() if line.startswith("organisation:"))
    money = tmp_path / "money.json"
    code, _, err = run(["--data-dir", str(demo_dir), "analyze", "money", "--org", org, "--out", str(money)])
    assert code == 0, err
    assert orjson.loads(money.read_bytes())["transfers_stored"] == carried
    code, out, _ = run(["--data-dir", str(demo_dir), "demo", "--reports", "200", "--no-serve"])
    assert code == 0 and "demo node ready: 200 reports" in out  # rebuilt, not appended
    other = tmp_path / "precious"
    other.mkdir()
    (other / "keep.txt").write_text("not a demo")
    code, _, err = run(["--data-dir", str(other), "demo", "--no-serve"])
    assert code == 2 and "not a demo" in err
    assert (other / "keep.txt").exists()
