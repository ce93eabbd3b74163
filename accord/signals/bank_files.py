"""Bank files: what ``accord bank import`` reads and ``export`` writes.

Two layouts are read, told apart by the first line that is not blank:

- HMA's / python-threatexchange's CSV signal-exchange layout, as ``threatexchange dataset --csv`` writes
  it: a header ``signal_type,signal_str,collab,category,tags`` and one signal a row;
- plain lines: one value a line, or ``TYPE VALUE`` as threatexchange's local-file exchange reads them
  (``threatexchange/exchanges/impl/file_api.py``). Blank lines and ``#`` comments are skipped.

threatexchange names its MD5 type ``video_md5``; it is read as ``md5``. The CSV written has the same
header, with the bank's name as ``collab`` and empty ``category`` and ``tags``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, NamedTuple

from accord.errors import Invalid

__all__ = ["CSV_HEADER", "Line", "read", "write_csv"]

CSV_HEADER = ("signal_type", "signal_str", "collab", "category", "tags")
_ALIASES = {"video_md5": "md5", "photo_md5": "md5"}


class Line(NamedTuple):
    number: int
    type: str | None  # as the file names it (aliases resolved); None when it names none
    value: str


def read(lines: Iterable[str]) -> Iterator[Line]:
    it = iter(enumerate(lines, start=1))
    for number, text in it:
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.split(",")[:2] == list(CSV_HEADER[:2]):
            yield from _csv(number, stripped, it)
        else:
            yield from _plain([(number, text)])
            yield from _plain(it)
        return


def _plain(numbered: Iterable[tuple[int, str]]) -> Iterator[Line]:
    for number, text in numbered:
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        kind, sep, value = stripped.partition(" ")
        if sep:
            yield Line(number, _ALIASES.get(kind, kind), value.strip())
        else:
            yield Line(number, None, stripped)


def _csv(header_line: int, header: str, rest: Iterable[tuple[int, str]]) -> Iterator[Line]:
    names = next(csv.reader([header]))
    for number, text in rest:
        if not text.strip():
            continue
        row = next(csv.reader([text]))
        if len(row) > len(names):
            raise Invalid.at(f"/lines/{number}", f"line {number}: {len(row)} fields, the header has {len(names)}")
        fields = dict(zip(names, row, strict=False))
        value = fields.get("signal_str", "").strip()
        if not value:
            raise Invalid.at(f"/lines/{number}", f"line {number}: no signal_str")
        kind = fields.get("signal_type", "").strip()
        yield Line(number, _ALIASES.get(kind, kind) or None, value)
    del header_line


def write_csv(bank_name: str, type_name: str, values: Sequence[str], out: IO[str] | None = None) -> str:
    """The CSV layout above; written to ``out`` when given, else returned."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for v in values:
        w.writerow((type_name, v, bank_name, "", ""))
    if out is None:
        return buf.getvalue()
    out.write(buf.getvalue())
    return ""
