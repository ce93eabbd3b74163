"""The files ``accord.simulate.generate`` writes: deterministic, valid ``ReportIn`` lines, neutral content."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from accord.model import ReportIn
from accord.simulate import REPORTS_FILE, TRUTH_FILE, generate
from tests.simulate.conftest import SEED, SIZE, Written

KEY_ORDER = [
    "external_id",
    "source",
    "received_at",
    "incident_type",
    "urgency",
    "marking",
    "location",
    "subjects",
    "media",
]


def test_same_seed_gives_identical_bytes(written: Written, tmp_path: Path) -> None:
    again = generate(SEED, SIZE, tmp_path / "again")
    assert again.reports_path.read_bytes() == written.summary.reports_path.read_bytes()
    assert again.truth_path.read_bytes() == written.summary.truth_path.read_bytes()
    assert replace(again, reports_path=Path(), truth_path=Path()) == replace(
        written.summary, reports_path=Path(), truth_path=Path()
    )


def test_same_seed_in_another_process_with_another_hash_seed(written: Written, tmp_path: Path) -> None:
    """Guards against anything that depends on the salted ``hash()`` of strings (set order included)."""
    out = tmp_path / "other-process"
    code = (
        f"from pathlib import Path; from accord.simulate import generate; generate({SEED}, {SIZE}, Path({str(out)!r}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=Path(__file__).parents[2])
    assert (out / REPORTS_FILE).read_bytes() == written.summary.reports_path.read_bytes()
    assert (out / TRUTH_FILE).read_bytes() == written.summary.truth_path.read_bytes()


def test_another_seed_gives_another_world(written: Written, tmp_path: Path) -> None:
    other = generate(SEED + 1, SIZE, tmp_path / "other")
    mine = written.summary.reports_path.read_bytes().splitlines()
    theirs = other.reports_path.read_bytes().splitlines()
    assert len(theirs) == len(mine) == SIZE
    strip = re.compile(rb'^\{"external_id":"sim-\d+-\d+",')
    same = sum(strip.sub(b"", a) == strip.sub(b"", b) for a, b in zip(mine, theirs, strict=True))
    assert same == 0
    assert other.truth_path.read_bytes() != written.summary.truth_path.read_bytes()


def test_every_line_is_a_valid_report_in(written: Written) -> None:
    assert len(written.lines) == SIZE == written.summary.reports
    for line, report in zip(written.lines, written.reports, strict=True):
        ReportIn.model_validate_json(line)
        assert list(report)[: len(KEY_ORDER)] == KEY_ORDER
        assert set(report) - set(KEY_ORDER) <= {"narrative"}
        assert line == orjson.dumps(report), "compact, one object per line"


def test_external_ids_are_unique_and_reports_arrive_in_order(written: Written) -> None:
    ids = [r["external_id"] for r in written.reports]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(rf"sim-{SEED}-\d+", i) for i in ids)
    times = [r["received_at"] for r in written.reports]
    assert times == sorted(times)
    window = written.truth["window"]
    assert window["start"] <= times[0] and times[-1] < window["end"]
    assert len({t[:10] for t in times}) > 150, "spread over the window, not bunched"


def test_progress_is_reported_up_to_the_total(written: Written) -> None:
    calls = written.progress
    assert calls, "progress was never called"
    assert calls == sorted(calls) and len(set(calls)) == len(calls)
    assert calls[-1] == SIZE
    assert len(calls) >= 10


def test_summary_counts_match_the_truth(written: Written) -> None:
    counts = written.truth["counts"]
    s = written.summary
    assert (s.people, s.networks, s.identifiers) == (counts["people"], counts["networks"], counts["identifiers"])
    assert len(written.truth["people"]) == s.people
    assert len(written.truth["identifiers"]) == s.identifiers
    assert not list(s.reports_path.parent.glob("*.partial"))


_NARRATIVE = re.compile(r"ref CAT-\d+ seq \d+")
_TOKEN = re.compile(r"[^\s]{1,100}")
_PHONE = re.compile(r"\+?[\d ]{6,24}")
_IBAN = re.compile(r"[A-Z]{2}\d{2}( [A-Z0-9]{1,4})+")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_no_descriptive_text_anywhere(written: Written) -> None:
    """Only codes, ids, hashes and identifiers: no string in a report reads as prose."""
    narratives = 0
    for report in written.reports:
        if "narrative" in report:
            narratives += 1
            assert _NARRATIVE.fullmatch(report["narrative"]), report["narrative"]
        for s in _strings({k: v for k, v in report.items() if k != "narrative"}):
            assert _TOKEN.fullmatch(s) or _PHONE.fullmatch(s) or _IBAN.fullmatch(s), s
    assert narratives < SIZE * 0.05
