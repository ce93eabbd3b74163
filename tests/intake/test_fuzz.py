"""Importers under mutated input (RELIABILITY A4, in its CI form): whatever bytes arrive, an importer
gives items or raises ``AccordError`` naming the fault; it never crashes with anything else, and every
item it gives is either a report or faults.

The seeds are the real-world-shaped example files of each format and our own exports; mutations are
byte flips, truncations, duplications and splices, drawn by Hypothesis so a failure shrinks to a
small reproducer. The long variant (more examples) runs with ACCORD_FUZZ_EXAMPLES=5000.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord import plugins
from accord.errors import AccordError
from accord.intake.formats import ImportOptions

DATA = Path(__file__).parent.parent / "data" / "formats"
EXAMPLES = int(os.environ.get("ACCORD_FUZZ_EXAMPLES", "150"))

SEEDS = {
    "native": [DATA / "native" / "example.ndjson"],
    "csv": [DATA / "csv" / "accord-layout.csv", DATA / "csv" / "hotline-export.csv"],
    "ncmec": [DATA / "ncmec" / "esp-submission.xml", DATA / "ncmec" / "multi.xml"],
    "stix": [DATA / "stix" / "partner-bundle.json"],
    "ftm": [DATA / "ftm" / "partner-entities.ftm.json"],
    "case": [DATA / "case" / "partner-investigation.jsonld"],
}


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "duplicate", "delete", "insert"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "duplicate":
            end = min(len(data), at + draw(st.integers(1, 200)))
            data[at:at] = data[at:end]
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 50))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=20) | st.sampled_from([b'"', b"<", b"{", b"\n", b"\x00"]))
    return bytes(data)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_mutated_files_give_items_or_accord_errors(fmt: str) -> None:
    importer = plugins.importer(fmt)
    seeds = [p.read_bytes() for p in SEEDS[fmt]]

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(seeds).flatmap(mutated))
    def run(data: bytes) -> None:
        stream = io.BufferedReader(io.BytesIO(data))
        try:
            for item in importer.read(stream, ImportOptions(name=f"fuzz.{fmt}", max_document_bytes=1 << 20)):
                assert (item.report is None) != (not item.faults), item
        except AccordError:
            pass

    run()
