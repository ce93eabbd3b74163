"""The analytics inputs' JSON-lines reader: objects with their true line numbers, bad lines named alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.errors import Invalid
from accord.graph.ndjson import objects
from accord.graph.records import read_world


def test_objects_keep_their_file_line_numbers(tmp_path: Path) -> None:
    f = tmp_path / "x.ndjson"
    f.write_bytes(b'{"a": 1}\n\n  \n{"b": 2}\n')
    assert list(objects(f)) == [(1, {"a": 1}), (4, {"b": 2})]


@pytest.mark.parametrize(("line", "words"), [(b"{nope", "not JSON"), (b"[1, 2]", "not a JSON object")])
def test_a_bad_line_is_named_by_file_and_line(tmp_path: Path, line: bytes, words: str) -> None:
    f = tmp_path / "x.ndjson"
    f.write_bytes(b'{"a": 1}\n\n' + line + b"\n")
    with pytest.raises(Invalid) as err:
        list(objects(f))
    assert err.value.errors == {"/lines/3": f"{f}:3: {words}"}


def test_a_missing_file_names_the_hint(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match=r"no such file \(simulate it\)"):
        list(objects(tmp_path / "none.ndjson", "simulate it"))


def test_world_errors_count_blank_lines(tmp_path: Path) -> None:
    (tmp_path / "truth.json").write_text("{}")
    first = '{"external_id": "r1", "received_at": "2026-01-01T00:00:00Z", "subjects": []}'
    (tmp_path / "reports.ndjson").write_text(first + '\n\n{"subjects": []}\n')
    with pytest.raises(Invalid, match=r"reports.ndjson:3: a simulated report needs an external_id"):
        read_world(tmp_path)
