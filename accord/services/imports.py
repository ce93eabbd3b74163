"""Importing a file in any registered format: open it safely, tell its format, and feed the bulk intake."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from accord import plugins
from accord.errors import Invalid
from accord.intake.formats import Importer, ImportOptions
from accord.intake.importers.native import NATIVE, numbered_lines
from accord.intake.offload import read_in_helper
from accord.intake.source import check_text_encoding, open_input
from accord.model.organisation import Actor
from accord.services import reports
from accord.services.node import Node
from accord.services.reports import BulkResult

__all__ = ["ImportOutcome", "detect", "import_stream"]


@dataclass(frozen=True)
class ImportOutcome:
    format: str
    result: BulkResult


def detect(head: bytes, name: str) -> Importer:
    """The first importer whose sniff accepts the file; a clear error naming the file when none does."""
    for candidate in plugins.importers().values():
        if candidate.sniff(head, name):
            return candidate
    check_text_encoding(head, name)  # every format is text: a UTF-16 file is why nothing recognised it
    known = ", ".join(sorted(plugins.importers()))
    raise Invalid.at("/format", f"{name}: cannot tell the file's format; name it (one of: {known})")


# Starting the helper (a fresh interpreter importing the model) takes about 0.3 s; at 8 MiB (about 10,000
# reports) the overlap saves more than that.
NATIVE_HELPER_BYTES = 8 << 20


def _multi_core() -> bool:
    return (os.cpu_count() or 1) > 1


def _native_helpers(raw: IO[bytes], path: Path | None) -> int:
    """One parse helper for a large native file on a multi-core machine, else none."""
    if not _multi_core():
        return 0
    try:
        size = path.stat().st_size if path is not None else os.fstat(raw.fileno()).st_size
    except (OSError, AttributeError, ValueError):  # not a real file (an upload stream): no size to go by
        return 0
    return int(size >= NATIVE_HELPER_BYTES)


def import_stream(
    node: Node,
    actor: Actor,
    raw: IO[bytes],
    *,
    name: str,
    format: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    source: str | None = None,
    service: str | None = None,
    request_id: str | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[BulkResult], None] | None = None,
    parse_workers: int | None = None,
    path: Path | None = None,
) -> ImportOutcome:
    """Read ``raw`` (plain, gzip or single-file zip) in ``format`` (detected when None) and store its
    reports. Per-report faults are in the result; a fault of the whole file raises ``Invalid``.

    ``parse_workers``: helper processes that read ahead of the writer (0: none; None: what was measured
    to pay, see docs/benchmarks.md: on a machine with more than one core, one for the other formats when
    ``path`` names the file ``raw`` was opened from, and one for native NDJSON of at least
    ``NATIVE_HELPER_BYTES``, below which starting the helper costs more than it saves)."""
    stream = open_input(raw, name, node.settings.max_import_bytes)
    head = stream.peek(65536)[:65536]
    # Native first, without loading the other formats' libraries (FtM, rdflib, stix2: about 1.5 s and
    # 60 MiB that a native bulk load has no use for).
    if format == NATIVE.name or (format is None and NATIVE.sniff(head, name)):
        importer: Importer = NATIVE
    else:
        importer = plugins.importer(format) if format else detect(head, name)
    options = ImportOptions(
        name=name,
        mapping=mapping,
        source=source,
        service=service,
        max_line_bytes=node.settings.max_body_bytes,
        max_document_bytes=node.settings.max_document_bytes,
    )
    if importer is NATIVE:  # the fast path: parsing can run in a helper process beside the writer
        result = reports.ingest_lines(
            node,
            actor,
            numbered_lines(stream, options),
            request_id=request_id,
            batch_size=batch_size,
            on_batch=on_batch,
            parse_workers=parse_workers if parse_workers is not None else _native_helpers(raw, path),
        )
        return ImportOutcome(importer.name, result)
    helpers = parse_workers if parse_workers is not None else int(_multi_core())
    if helpers > 0 and path is not None:
        # the helper reads the file itself; this handle follows it, so progress reports stay right
        def follow(position: int) -> None:
            raw.seek(position)

        size = batch_size or node.settings.bulk_batch_size
        limit = node.settings.max_import_bytes
        chunks = read_in_helper(path, importer.name, options, limit, node.vocab, size, on_position=follow)
        result = reports.ingest_chunks(node, actor, chunks, request_id=request_id, on_batch=on_batch)
    else:
        items = importer.read(stream, options)
        result = reports.ingest_items(
            node, actor, items, request_id=request_id, batch_size=batch_size, on_batch=on_batch
        )
    return ImportOutcome(importer.name, result)
