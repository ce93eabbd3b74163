"""Reading bank files: HMA's CSV layout, threatexchange's TYPE VALUE lines, plain lines; writing the CSV."""

from __future__ import annotations

import pytest

from accord.errors import Invalid
from accord.signals.bank_files import Line, read, write_csv


def test_plain_and_typed_lines() -> None:
    text = ["# comment", "", "abc", "video_md5 0cc175b9c0f1b6a831c399e269772661", "  pdq  ff  "]
    assert list(read(text)) == [
        Line(3, None, "abc"),
        Line(4, "md5", "0cc175b9c0f1b6a831c399e269772661"),
        Line(5, "pdq", "ff"),
    ]


def test_csv_round_trip() -> None:
    written = write_csv("known", "pdq", ["aa", "bb"])
    assert written.splitlines()[0] == "signal_type,signal_str,collab,category,tags"
    assert list(read(written.splitlines())) == [Line(2, "pdq", "aa"), Line(3, "pdq", "bb")]


def test_csv_row_without_a_signal_names_its_line() -> None:
    with pytest.raises(Invalid, match="line 3"):
        list(read(["signal_type,signal_str,collab,category,tags", "pdq,aa,c,,", "pdq,,c,,"]))
