"""JSON-lines files of the analytics inputs (a simulated world's reports and transfers): one reader, so every
bad line is reported the same way, by file and line number, at the pointer ``/lines/N``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from accord.errors import Invalid

__all__ = ["objects"]


def objects(path: Path, hint: str = "") -> Iterator[tuple[int, dict[str, Any]]]:
    """Each JSON object of ``path`` with its line number (blank lines skipped, but counted). A missing file, a
    line that is not JSON or not an object raises ``Invalid``; ``hint`` follows "no such file"."""
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        raise Invalid.at("", f"{path}: no such file{f' ({hint})' if hint else ''}") from None
    with fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise Invalid.at(f"/lines/{line_no}", f"{path}:{line_no}: not JSON") from None
            if not isinstance(item, dict):
                raise Invalid.at(f"/lines/{line_no}", f"{path}:{line_no}: not a JSON object")
            yield line_no, item
