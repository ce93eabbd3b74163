"""``accord bank`` and ``accord match`` on SQLite: create, add, import (both layouts), remove, export (CSV
read back by the importer; STIX checked by stix2-validator), and NDJSON matching in input order."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import orjson
from PIL import Image
from stix2validator import ValidationOptions, validate_string

from accord.services.node import open_node
from accord.settings import Settings
from accord.signals.pdq import pdq_image
from accord.store import schema
from tests.cli.helpers import run, token_in
from tests.cli.test_cli import init_node
from tests.conftest import report_json

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


def test_rescan_flags_retract_review_and_media_matching(tmp_path: Path) -> None:
    """``bank rescan`` records the history's matches; ``bank retract`` opens reviews listed by ``review
    list``; ``bank flags`` lists (none yet); ``match --image`` and ``--frames`` print NDJSON per file."""
    base, org, _ = init_node(tmp_path)
    _, out, _ = run([*base, "key", "create", "--org", org, "--name", "x", "--role", "submitter"])
    key = token_in(out)
    reports = tmp_path / "reports.ndjson"
    reports.write_bytes(
        b"\n".join(orjson.dumps(report_json(f"r{i}", media=[{"pdq": flip(i)}])) for i in range(3)) + b"\n"
    )
    assert run([*base, "ingest", str(reports), "--key", key])[0] == 0
    assert run([*base, "bank", "create", "known", "--type", "pdq", "--org", org])[0] == 0
    code, out, err = run([*base, "bank", "add", "known", PDQ, "--org", org])
    assert code == 0, err
    code, out, err = run([*base, "bank", "rescan", "known", "--org", org, "--gpu"])
    assert code == 0, err
    assert "searching on the CPU" in err  # no GPU here: said so, and the CPU index ran
    assert "1 new entries (versions 1-2)" in out and "3 new matches in 3 reports" in out, out
    code, out, err = run([*base, "bank", "rescan", "known", "--org", org])
    assert code == 0 and "0 new entries" in out and "0 new matches" in out, out
    code, out, err = run([*base, "bank", "flags", "known", "--org", org])
    assert code == 0 and "0 flagged entries" in out, err

    code, out, err = run([*base, "bank", "retract", "known", "1", "--reason", "wrong", "--org", org])
    assert code == 0 and "retracted" in out, err
    code, out, err = run([*base, "review", "list", "--org", org])
    assert code == 0 and out.count("entry_retracted") == 3, out
    code, _, err = run([*base, "bank", "retract", "known", "99", "--reason", "x", "--org", org])
    assert code == 2 and "no entry 99" in err

    # an image: its PDQ in a bank, matched by the file
    rng = np.random.default_rng(0)
    pixels = (np.linspace(0, 255, 96)[None, :, None] * np.ones((96, 1, 3)) + rng.uniform(0, 60, (96, 96, 3))).astype(
        np.uint8
    )
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    picture = tmp_path / "p.png"
    picture.write_bytes(buf.getvalue())
    not_image = tmp_path / "n.png"
    not_image.write_text("not an image")
    run([*base, "bank", "create", "images", "--type", "pdq", "--org", org])
    run([*base, "bank", "add", "images", pdq_image(buf.getvalue()).hex, "--org", org])
    code, out, err = run([*base, "match", "--bank", "images", "--image", str(picture), "--org", org])
    assert code == 0, err
    line = json.loads(out)
    assert line["file"] == str(picture) and [(m["type"], m["distance"]) for m in line["matches"]] == [("pdq", 0)]
    code, out, err = run(
        [*base, "match", "--bank", "images", "--image", str(picture), "--image", str(not_image), "--org", org]
    )
    assert code == 2 and out == "" and str(not_image) in err and "not an image" in err

    # a vPDQ bank: a video added from a file, a clip of it matched
    frames = "".join(f"{i},100,{flip(40 + i * 50)},{i}.0\n" for i in range(4))
    video, clip = tmp_path / "v.txt", tmp_path / "clip.txt"
    video.write_text(frames)
    clip.write_text("".join(frames.splitlines(keepends=True)[:2]))
    assert run([*base, "bank", "create", "videos", "--type", "vpdq", "--org", org])[0] == 0
    code, out, err = run([*base, "bank", "add-video", "videos", str(video), "--org", org])
    assert code == 0 and "added 1" in out, err
    code, out, err = run([*base, "match", "--bank", "videos", "--frames", str(clip), "--org", org])
    assert code == 0, err
    got = json.loads(out)
    assert [(m["query_match_percent"], m["compared_match_percent"]) for m in got["matches"]] == [(100.0, 50.0)]
    bad = tmp_path / "bad.txt"
    bad.write_text("0,100,nothex,0.0\n")
    code, _, err = run([*base, "bank", "add-video", "videos", str(bad), "--org", org])
    assert code == 2 and str(bad) in err and "line 1" in err
    code, _, err = run([*base, "match", "--bank", "known", "--frames", str(clip), "--org", org])
    assert code == 2 and "holds pdq" in err


def test_vpdq_bank_exports_as_threatexchange_signal_strings(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    video = tmp_path / "v.txt"
    video.write_text("".join(f"{i},{60 + i},{flip(10 + i * 40)},{i}.5\n" for i in range(3)))
    run([*base, "bank", "create", "videos", "--type", "vpdq", "--org", org])
    assert run([*base, "bank", "add-video", "videos", str(video), "--org", org])[0] == 0
    out_file = tmp_path / "v.csv"
    code, _, err = run([*base, "bank", "export", "videos", "--format", "csv", "--out", str(out_file), "--org", org])
    assert code == 0, err
    row = out_file.read_text().splitlines()[1]
    assert row.startswith("vpdq,") and f"{flip(10)},60,0.500" in row
    # read back into a new bank: the same video, exported the same
    run([*base, "bank", "create", "copy", "--type", "vpdq", "--org", org])
    code, out, err = run([*base, "bank", "import", "copy", str(out_file), "--org", org])
    assert code == 0 and "added 1" in out, err
    copy_file = tmp_path / "copy.csv"
    assert run([*base, "bank", "export", "copy", "--out", str(copy_file), "--org", org])[0] == 0
    assert copy_file.read_text().splitlines()[1] == row.replace(",videos,", ",copy,")
    code, _, err = run([*base, "bank", "export", "videos", "--format", "stix", "--out", str(out_file), "--org", org])
    assert code == 2 and "STIX" in err
