"""Opening input safely: size caps, compressed files without bombs, and the encoding check.

Why here and not in each importer: every format arrives through the same doors (a file for the CLI,
a request body or an upload for the API), and the same three attacks apply to all of them: a
compressed file that expands without bound, a single line that never ends, and text in an encoding
the importer would misread.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Iterator
from typing import IO

from accord.errors import Invalid, PayloadTooLarge

__all__ = ["Capped", "bounded_lines", "check_text_encoding", "open_input"]

_GZIP = b"\x1f\x8b"
_ZIP = b"PK\x03\x04"


class Capped(io.RawIOBase):
    """A read-only stream that fails once more than ``limit`` bytes have come out of it."""

    def __init__(self, inner: IO[bytes], limit: int, name: str) -> None:
        self._inner, self._left, self._name, self._limit = inner, limit, name, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer)
        want = min(len(view), self._left + 1)
        data = self._inner.read(want)
        if len(data) > self._left:
            raise PayloadTooLarge.at("", f"{self._name}: expands beyond the {self._limit:,}-byte limit")
        self._left -= len(data)
        view[: len(data)] = data
        return len(data)


def open_input(raw: IO[bytes], name: str, limit: int) -> io.BufferedReader:
    """``raw`` as a buffered stream of at most ``limit`` bytes, gzip and single-file zip unpacked on the
    fly (their expanded size counts against the limit, so a zip bomb stops at the limit)."""
    head = raw.peek(4)[:4] if isinstance(raw, io.BufferedReader) else b""
    if not head and raw.seekable():
        head = raw.read(4)
        raw.seek(0)
    if head.startswith(_GZIP):
        inner: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    elif head.startswith(_ZIP):
        try:
            archive = zipfile.ZipFile(raw)
            members = [m for m in archive.infolist() if not m.is_dir()]
        except zipfile.BadZipFile as exc:
            raise Invalid.at("", f"{name}: not a readable zip file ({exc})") from None
        if len(members) != 1:
            raise Invalid.at("", f"{name}: a zip file must hold exactly one file, it holds {len(members)}")
        if members[0].file_size > limit:
            raise PayloadTooLarge.at("", f"{name}: declares {members[0].file_size:,} bytes, over the {limit:,} limit")
        inner = archive.open(members[0])
    else:
        inner = raw
    return io.BufferedReader(Capped(inner, limit, name), buffer_size=1 << 16)


def check_text_encoding(head: bytes, name: str) -> None:
    """Refuse text that is not UTF-8 before reading it line by line (a UTF-16 file would otherwise be
    rejected one line at a time with a misleading message)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4096]:
        raise Invalid.at("", f"{name}: not UTF-8 text (it looks like UTF-16 or binary); convert it to UTF-8")
    sample = head[:65536]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not merely a character cut by the sample's end
            line = sample.count(b"\n", 0, exc.start) + 1
            raise Invalid.at("", f"{name}:{line}: not UTF-8 text (byte {exc.start}); convert it to UTF-8") from None


def bounded_lines(stream: IO[bytes], limit: int, name: str) -> Iterator[tuple[int, bytes | Invalid]]:
    """(line number, bytes) for each line; a line longer than ``limit`` is skipped without being held
    in memory and given as an ``Invalid`` in its place (a 2 GB line costs ``limit`` bytes of memory)."""
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
                pass
            yield number, Invalid.at("", f"{name}:{number}: line longer than {limit:,} bytes")
            continue
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        yield number, line
