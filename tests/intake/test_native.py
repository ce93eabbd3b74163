"""The native NDJSON format: round trip, detection, and the bad-input cases every format must meet."""

from __future__ import annotations

import gzip
import io
import zipfile

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.errors import Invalid, PayloadTooLarge
from accord.intake.exporters.native import NativeExporter
from accord.intake.formats import ExportContext, ImportOptions
from accord.intake.importers.native import NATIVE
from accord.intake.source import open_input
from accord.model.report import ReportIn
from tests.intake.strategies import native_report_in, stored

CTX = ExportContext(org_id="org_x", org_name="Test Hotline", generated_at=stored.__globals__["datetime"](2026, 11, 25))


def read(data: bytes, **kw: object) -> list:
    return list(NATIVE.read(io.BufferedReader(io.BytesIO(data)), ImportOptions(name="f.ndjson", **kw)))  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.lists(native_report_in, min_size=1, max_size=5))
def test_export_then_import_gives_back_the_same_reports(reports: list[ReportIn]) -> None:
    out = io.BytesIO()
    assert NativeExporter().write([stored(r, i) for i, r in enumerate(reports)], out, CTX) == len(reports)
    items = read(out.getvalue())
    assert [i.report for i in items] == reports
    # the same content digest too, transfers included: re-sending the export to a node is a duplicate
    assert [stored(i.report).digest for i in items] == [stored(r).digest for r in reports]


def test_line_numbers_blank_lines_and_faults() -> None:
    good = orjson.dumps({"source": "hotline", "received_at": "2026-01-01T00:00:00Z", "incident_type": "other"})
    items = read(good + b"\n\n" + b'{"source": 1}\n' + b"not json\n" + good)
    assert [(i.line, i.report is not None) for i in items] == [(1, True), (3, False), (4, False), (5, True)]
    assert "/source" in items[1].faults and "" in items[2].faults


def test_a_line_over_the_limit_is_refused_without_being_held() -> None:
    good = orjson.dumps({"source": "hotline", "received_at": "2026-01-01T00:00:00Z", "incident_type": "other"})
    items = read(good + b"\n" + b"x" * 5000 + b"\n" + good + b"\n", max_line_bytes=1000)
    assert [i.line for i in items] == [1, 2, 3]
    assert "longer than 1,000 bytes" in items[1].faults[""]
    assert items[2].report is not None


def test_utf16_file_is_refused_with_the_file_named() -> None:
    with pytest.raises(Invalid, match=r"f\.ndjson: not UTF-8"):
        read('{"source": "hotline"}\n'.encode("utf-16"))


def test_gzip_and_zip_inputs_and_their_bombs() -> None:
    body = b'{"a": 1}\n' * 10
    assert open_input(io.BytesIO(gzip.compress(body)), "f.gz", 1000).read() == body
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("r.ndjson", body)
    assert open_input(io.BytesIO(buf.getvalue()), "f.zip", 1000).read() == body
    bomb = gzip.compress(b"\n" * 10_000_000)  # 10 MB of newlines in about 10 KB
    with pytest.raises(PayloadTooLarge, match="expands beyond"):
        open_input(io.BytesIO(bomb), "bomb.gz", 1 << 20).read()
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("r.ndjson", b"\n" * 10_000_000)
    with pytest.raises(PayloadTooLarge, match="over the"):
        open_input(io.BytesIO(zbuf.getvalue()), "bomb.zip", 1 << 20)


def test_json_document_forms() -> None:
    doc = {"source": "hotline", "received_at": "2026-01-01T00:00:00Z", "incident_type": "other"}
    assert [i.line for i in read(orjson.dumps([doc, doc]))] == [1, 2]
    with pytest.raises(Invalid, match="malformed JSON"):
        read(b'[{"source": "hotline"')


class _Endless(io.RawIOBase):
    """``size`` bytes of one line without a newline, made up on the fly (never held in memory)."""

    def __init__(self, size: int, tail: bytes) -> None:
        self.left, self.tail = size, tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer)
        if self.left > 0:
            n = min(len(view), self.left)
            view[:n] = b"x" * n
            self.left -= n
            return n
        n = min(len(view), len(self.tail))
        view[:n], self.tail = self.tail[:n], self.tail[n:]
        return n


def test_a_2_gb_line_is_refused_in_bounded_memory_and_the_next_line_still_counts() -> None:
    import resource

    good = orjson.dumps({"source": "hotline", "received_at": "2026-01-01T00:00:00Z", "incident_type": "other"})
    stream = io.BufferedReader(_Endless(2 << 30, b"\n" + good + b"\n"), buffer_size=1 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    items = list(NATIVE.read(stream, ImportOptions(name="huge.ndjson", max_line_bytes=1 << 20)))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert [i.line for i in items] == [1, 2]
    assert "huge.ndjson:1: line longer than 1,048,576 bytes" in items[0].faults[""]
    assert items[1].report is not None
    assert grown_mib < 64, f"reading a 2 GB line grew the process by {grown_mib:.0f} MiB"
