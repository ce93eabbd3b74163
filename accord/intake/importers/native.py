"""Accord's own format: NDJSON, one report per line (the schema at /v1/schemas/report.json), or one
JSON document holding a report or an array of reports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import orjson

from accord.errors import AccordError, Invalid
from accord.intake.formats import ImportOptions, Item, fault_item
from accord.intake.source import bounded_lines, check_text_encoding
from accord.model.parse import parse_json
from accord.model.report import ReportIn
from accord.plugins.hookspecs import hookimpl

__all__ = ["NativeImporter", "numbered_lines"]


def _is_document(head: bytes, filename: str) -> bool:
    return filename.endswith(".json") or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def numbered_lines(stream: IO[bytes], options: ImportOptions) -> Iterator[tuple[int, bytes | AccordError]]:
    """(line number, text) for NDJSON; for a JSON document, its reports numbered by position. Streams
    NDJSON: a million-line file is never held in memory."""
    head = stream.peek(65536)[:65536] if hasattr(stream, "peek") else b""
    check_text_encoding(head, options.name)
    if _is_document(head, options.name):
        data = stream.read(options.max_document_bytes + 1)
        if len(data) > options.max_document_bytes:
            raise Invalid.at("", f"{options.name}: document larger than {options.max_document_bytes:,} bytes")
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise Invalid.at("", f"{options.name}: malformed JSON: {exc}") from None
        items = doc if isinstance(doc, list) else [doc]
        yield from ((i, orjson.dumps(item)) for i, item in enumerate(items, 1))
        return
    yield from bounded_lines(stream, options.max_line_bytes, options.name)


class NativeImporter:
    name = "native"
    description = "Accord NDJSON (one report per line) or a JSON report / array of reports"

    def sniff(self, head: bytes, filename: str) -> bool:
        return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")) and b'"incident_type"' in head

    def read(self, stream: IO[bytes], options: ImportOptions) -> Iterator[Item]:
        for number, text in numbered_lines(stream, options):
            if isinstance(text, AccordError):
                yield fault_item(number, text)
            elif text.strip():
                try:
                    yield Item(number, parse_json(ReportIn, text))
                except AccordError as exc:
                    yield fault_item(number, exc)


NATIVE = NativeImporter()


@hookimpl
def accord_importers() -> list[NativeImporter]:
    return [NATIVE]
