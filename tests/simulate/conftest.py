"""A small world written once per session and shared by the simulation tests (generation is the slow part)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from accord.simulate import Summary, generate

SEED = 11
SIZE = 2000


@dataclass(frozen=True)
class Written:
    summary: Summary
    lines: list[bytes]
    reports: list[dict[str, Any]]
    truth: dict[str, Any]
    progress: list[int]


@pytest.fixture(scope="session")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    out: Path = tmp_path_factory.mktemp("sim") / "world"
    calls: list[int] = []
    summary = generate(SEED, SIZE, out, calls.append)
    lines = summary.reports_path.read_bytes().splitlines()
    return Written(
        summary=summary,
        lines=lines,
        reports=[orjson.loads(line) for line in lines],
        truth=orjson.loads(summary.truth_path.read_bytes()),
        progress=calls,
    )
