"""An importer run in a helper process gives what it gives in this one, faults included."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from accord.errors import Invalid
from accord.intake.formats import ImportOptions
from accord.intake.importers.stix import STIX
from accord.intake.lines import prepare_items
from accord.intake.offload import read_in_helper
from accord.vocab.loader import load

EXAMPLE = Path(__file__).parent.parent / "data" / "formats" / "stix" / "partner-bundle.json"


def test_what_the_helper_prepares_equals_what_is_prepared_here(tmp_path: Path) -> None:
    packed = tmp_path / "bundle.json.gz"
    packed.write_bytes(gzip.compress(EXAMPLE.read_bytes()))
    options = ImportOptions(name="bundle.json.gz")
    vocab = load()
    here = list(STIX.read(io.BufferedReader(io.BytesIO(EXAMPLE.read_bytes())), options))
    positions: list[int] = []
    there = list(read_in_helper(packed, "stix", options, 1 << 30, vocab, 2, on_position=positions.append))
    assert len(here) > 2 and [c.lines for c in there][:-1] == [2] * (len(here) // 2)
    # the same prepared reports and faults, batch by batch (flat records carry no id or time: comparable)
    assert there == [prepare_items(here[i : i + 2], vocab) for i in range(0, len(here), 2)] + (
        [] if len(here) % 2 else [prepare_items([], vocab)]
    )
    assert sum(len(c.reports) for c in there) > 0
    assert positions and positions[-1] == packed.stat().st_size  # the compressed file, read to its end


def test_a_fault_of_the_whole_file_comes_back_as_the_same_error(tmp_path: Path) -> None:
    cut = tmp_path / "cut.json"
    cut.write_bytes(EXAMPLE.read_bytes()[:-40])
    with pytest.raises(Invalid, match=r"cut\.json: truncated or malformed JSON") as caught:
        list(read_in_helper(cut, "stix", ImportOptions(name="cut.json"), 1 << 30, load(), 100))
    assert caught.value.errors == {"": caught.value.detail}
