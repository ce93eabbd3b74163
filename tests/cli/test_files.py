"""The CLI's one way to write an output file: whole or not at all, with a clean error."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.cli.files import replacing
from accord.errors import Invalid


def test_the_file_appears_only_when_the_block_completes(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text("old")
    with pytest.raises(RuntimeError), replacing(out) as partial:
        partial.write_text("half")
        raise RuntimeError("the export failed midway")
    assert out.read_text() == "old"
    assert list(tmp_path.iterdir()) == [out]  # no .partial left behind
    with replacing(out) as partial:
        partial.write_text("new")
    assert out.read_text() == "new" and list(tmp_path.iterdir()) == [out]


def test_a_file_system_error_is_a_clean_invalid(tmp_path: Path) -> None:
    with pytest.raises(Invalid) as err, replacing(tmp_path / "no-such-dir" / "out.json") as partial:
        partial.write_text("x")
    assert "cannot write" in str(err.value.errors)
