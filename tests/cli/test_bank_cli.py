"""``accord bank`` and ``accord match`` on SQLite: create, add, import (both layouts), remove, export (CSV
read back by the importer; STIX checked by stix2-validator), and NDJSON matching in input order."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from stix2validator import ValidationOptions, validate_string

from accord.services.node import open_node
from accord.settings import Settings
from accord.store import schema
from tests.cli.helpers import run
from tests.cli.test_cli import init_node

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def flip(bits: int) -> str:
    return f"{int(PDQ, 16) ^ (((1 << bits) - 1) << (256 - bits)):064x}"


def entry_count(tmp_path: Path) -> int:
    import sqlalchemy as sa

    node = open_node(Settings(data_dir=tmp_path / "node"))
    try:
        with node.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(schema.bank_entries)).scalar_one())
    finally:
        node.close()


def test_bank_commands_and_match(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    code, out, err = run([*base, "bank", "create", "known", "--type", "pdq", "--threshold", "20", "--org", org])
    assert code == 0 and "threshold 20" in out and "version 1" in out, err
    code, _, err = run([*base, "bank", "create", "known", "--type", "pdq", "--org", org])
    assert code == 2 and "already has a bank named 'known'" in err
    code, _, err = run([*base, "bank", "create", "t", "--type", "pdq", "--threshold", "257", "--org", org])
    assert code == 2 and "/threshold" in err

    code, out, err = run([*base, "bank", "add", "known", PDQ, flip(100), "--org", org])
    assert code == 0 and "added 2" in out, err

    # HMA's CSV layout (threatexchange dataset --csv), one bad row: nothing is imported
    csv_file = tmp_path / "hma.csv"
    csv_file.write_text(f"signal_type,signal_str,collab,category,tags\npdq,{flip(60)},c,,\npdq,nothex,c,,\n")
    code, _, err = run([*base, "bank", "import", "known", str(csv_file), "--org", org])
    assert code == 2 and "line 3" in err, err
    assert entry_count(tmp_path) == 2
    csv_file.write_text(f"signal_type,signal_str,collab,category,tags\npdq,{flip(60)},c,,\npdq,{PDQ},c,,\n")
    code, out, err = run([*base, "bank", "import", "known", str(csv_file), "--org", org])
    assert code == 0 and "added 1, already present 1" in out, err
    plain = tmp_path / "plain.txt"
    plain.write_text(f"# one a line\n{flip(70)}\n\npdq {flip(80)}\n")
    code, out, err = run([*base, "bank", "import", "known", str(plain), "--org", org])
    assert code == 0 and "added 2" in out, err
    code, _, err = run([*base, "bank", "import", "known", str(plain), "--org", org])
    assert code == 0

    # export to CSV, read back into a new bank: the same values
    exported = tmp_path / "out.csv"
    code, out, err = run([*base, "bank", "export", "known", "--format", "csv", "--out", str(exported), "--org", org])
    assert code == 0 and "5 entries" in out, err
    lines = exported.read_text().splitlines()
    assert lines[0] == "signal_type,signal_str,collab,category,tags" and len(lines) == 6
    assert all(line.startswith("pdq,") and line.endswith(",known,,") for line in lines[1:])
    run([*base, "bank", "create", "copy", "--type", "pdq", "--org", org])
    code, out, err = run([*base, "bank", "import", "copy", str(exported), "--org", org])
    assert code == 0 and "added 5" in out, err

    stix = tmp_path / "out.stix.json"
    code, _, err = run([*base, "bank", "export", "known", "--format", "stix", "--out", str(stix), "--org", org])
    assert code == 0, err
    result = validate_string(stix.read_text(), ValidationOptions(version="2.1", strict=False))
    assert result.is_valid, [str(e) for r in result.object_results for e in r.errors]
    assert sum(o["type"] == "indicator" for o in json.loads(stix.read_text())["objects"]) == 5

    # match: one object per input line, in order; a bad line fails the run before printing anything
    queries = tmp_path / "q.txt"
    queries.write_text(f"{flip(10)}\n{flip(30)}\n{PDQ.upper()}\n")
    code, out, err = run([*base, "match", "--bank", "known", "--input", str(queries), "--org", org])
    assert code == 0, err
    got = [orjson.loads(x) for x in out.splitlines()]
    assert [g["hash"] for g in got] == [flip(10), flip(30), PDQ.upper()]  # 30 from any entry
    assert [[m["distance"] for m in g["matches"]] for g in got] == [[10], [], [0]]
    assert got[0]["matches"][0]["bank"] == "known"
    queries.write_text(f"{PDQ}\nnot-a-hash\n")
    code, out, err = run([*base, "match", "--bank", "known", "--input", str(queries), "--org", org])
    assert code == 2 and out == "" and "line 2" in err

    code, out, err = run([*base, "bank", "remove", "known", str(got[0]["matches"][0]["entry"]), "--org", org])
    assert code == 0 and "removed in version" in out, err
    code, _, err = run([*base, "bank", "remove", "known", "999999", "--org", org])
    assert code == 2 and "no entry 999999" in err
    code, _, err = run([*base, "bank", "add", "nosuch", PDQ, "--org", org])
    assert code == 2 and "no bank named 'nosuch'" in err
