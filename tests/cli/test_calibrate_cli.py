"""``accord bank calibrate`` writes its chart, table and summary, and refuses bad options naming them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.cli.helpers import run


def test_calibrate_writes_its_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run(
        ["bank", "calibrate", "--images", "12", "--seed", "2", "--target-fmr", "0.05", "--out-dir", str(out)]
    )
    assert code == 0, stdout
    summary = json.loads((out / "calibration.json").read_text())
    assert summary["images"] == 12 and summary["pairs"] == 66 and summary["target_fmr"] == 0.05
    assert f"threshold {summary['threshold']}:" in stdout
    rows = list(csv.DictReader((out / "calibration.csv").read_text().splitlines()))
    assert len(rows) == 257 and int(rows[summary["threshold"]]["false_pairs"]) == summary["false_pairs"]
    assert (out / "calibration.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--target-fmr", "0"], "--target-fmr: a false-match rate is between 0 and 1"),
        (["--images", "1"], "--images: calibration needs at least 2 images"),
    ],
)
def test_bad_options(tmp_path: Path, args: list[str], words: str) -> None:
    code, _, stderr = run(["bank", "calibrate", *args, "--out-dir", str(tmp_path / "out")])
    assert code == 2 and words in stderr
    assert not (tmp_path / "out").exists()


def test_out_dir_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    code, _, stderr = run(["bank", "calibrate", "--images", "2", "--out-dir", str(target)])
    assert code == 2 and "is not a directory" in stderr
