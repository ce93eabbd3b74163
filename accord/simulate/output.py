"""Writing a world to disk: ``reports.ndjson`` (one submission per line), ``truth.json`` and
``transfers.ndjson`` (the money moving along the planted chains and around them; ``simulate.transfers``).

Both files are streamed and only renamed into place once complete, so a reader never mistakes a
half-written world for a whole one.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from accord.simulate.reports import stream_reports
from accord.simulate.transfers import stream_transfers
from accord.simulate.truth import header
from accord.simulate.world import DEFAULT_DAYS, DEFAULT_START, build_world, collector_paused

__all__ = ["REPORTS_FILE", "TRANSFERS_FILE", "TRUTH_FILE", "Summary", "generate"]

REPORTS_FILE = "reports.ndjson"
TRUTH_FILE = "truth.json"
TRANSFERS_FILE = "transfers.ndjson"
_FLUSH = 4096


@dataclass(frozen=True, slots=True)
class Summary:
    seed: int
    reports: int
    people: int
    networks: int
    organisations: int
    platforms: int
    identifiers: int
    media_files: int
    reports_path: Path
    truth_path: Path
    transfers: int = 0
    transfers_path: Path | None = field(default=None, compare=False)
    """Where ``transfers.ndjson`` went (not compared, like a location rather than content)."""


def generate(
    seed: int,
    reports: int,
    out: Path,
    progress: Callable[[int], None] | None = None,
    *,
    days: int = DEFAULT_DAYS,
    start: datetime = DEFAULT_START,
    noise: float = 1.0,
) -> Summary:
    """Build the world for ``seed`` and write ``reports`` reports and its ground truth under ``out``.

    ``progress`` is called with the number of reports written so far, about every 1% (at most every
    10,000 reports) and once at the end. The same arguments always give byte-identical files. ``noise``
    is ``build_world``'s.
    """
    with collector_paused():
        return _generate(seed, reports, out, progress, days, start, noise)


def _generate(
    seed: int,
    reports: int,
    out: Path,
    progress: Callable[[int], None] | None,
    days: int,
    start: datetime,
    noise: float,
) -> Summary:
    world = build_world(seed, reports, days=days, start=start, noise=noise)
    out.mkdir(parents=True, exist_ok=True)
    reports_path, truth_path = out / REPORTS_FILE, out / TRUTH_FILE
    reports_tmp, truth_tmp = out / f"{REPORTS_FILE}.partial", out / f"{TRUTH_FILE}.partial"
    org_ids = [o.id for o in world.organisations]
    org_index = {o: i for i, o in enumerate(org_ids)}
    senders = array("I")
    step = max(1, min(10_000, reports // 100))
    dumps = orjson.dumps
    with reports_tmp.open("wb") as rf, truth_tmp.open("wb") as tf:
        head = dumps(header(world))
        tf.write(head[:-1] + b',"reports":{')
        lines: list[bytes] = []
        about: list[bytes] = []
        written = 0
        for sim in stream_reports(world):
            lines.append(dumps(sim.report))
            eid = sim.report["external_id"]
            people = '","'.join(sim.about)
            about.append(f'"{eid}":["{people}"]'.encode())
            senders.append(org_index[sim.submitted_by])
            written += 1
            if len(lines) >= _FLUSH:
                rf.write(b"\n".join(lines) + b"\n")
                tf.write((b"," if written > len(about) else b"") + b",".join(about))
                lines.clear()
                about.clear()
            if progress is not None and written % step == 0:
                progress(written)
        if lines:
            rf.write(b"\n".join(lines) + b"\n")
            tf.write((b"," if written > len(about) else b"") + b",".join(about))
        tf.write(b'},"submitted_by":{')
        prefix = f"sim-{seed}-"
        for lo in range(0, len(senders), _FLUSH):
            chunk = ",".join(f'"{prefix}{lo + i}":"{org_ids[s]}"' for i, s in enumerate(senders[lo : lo + _FLUSH]))
            tf.write((b"," if lo else b"") + chunk.encode())
        tf.write(b"}}")
    transfers_path, transfers_tmp = out / TRANSFERS_FILE, out / f"{TRANSFERS_FILE}.partial"
    transfers = 0
    with transfers_tmp.open("wb") as xf:
        for transfer in stream_transfers(world):
            xf.write(dumps(transfer) + b"\n")
            transfers += 1
    os.replace(reports_tmp, reports_path)
    os.replace(truth_tmp, truth_path)
    os.replace(transfers_tmp, transfers_path)
    if progress is not None and (written == 0 or written % step):
        progress(written)
    return Summary(
        seed=seed,
        reports=written,
        people=len(world.people),
        networks=len(world.networks),
        organisations=len(world.organisations),
        platforms=len(world.platforms),
        identifiers=len(world.keys),
        media_files=sum(len(f.files) for f in world.families),
        reports_path=reports_path,
        truth_path=truth_path,
        transfers=transfers,
        transfers_path=transfers_path,
    )
