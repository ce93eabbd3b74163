"""What every importer and exporter is: the contract between file formats and the intake service.

An importer turns a byte stream in some format into ``Item``s: each is one report (as ``ReportIn``,
validated like any API submission) or the fault that stopped it, with the line or position where it
was found. An exporter writes stored reports in its format. Both are plain objects registered
through the plugin hooks in ``accord.plugins``, so a partner can add a format without touching Accord.

Importers must stream (a million-line file is never held in memory) where the format allows it;
formats that are one document (STIX bundle, JSON-LD graph, XML report) are bounded by
``ImportOptions.max_document_bytes`` and parsed whole before the first item is given out, so a
truncated or malicious document is rejected before anything is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from accord.errors import AccordError, Invalid
from accord.model.report import Report, ReportIn

__all__ = [
    "ExportContext",
    "Exporter",
    "ImportOptions",
    "Importer",
    "Item",
    "fault_item",
    "faults_of",
]


@dataclass(frozen=True)
class Item:
    """One object read from a file: the report, or the faults (JSON pointer or field -> message) that
    rejected it. ``line`` is the 1-based line for line formats, the 1-based position of the object
    in the document otherwise; ``ref`` names it in the document (an XML path, a STIX id) when known."""

    line: int
    report: ReportIn | None = None
    faults: Mapping[str, str] = field(default_factory=dict)
    ref: str | None = None


def faults_of(exc: AccordError) -> Mapping[str, str]:
    """An error as pointer -> message: its field errors, or the whole input (``""``) when it has none."""
    return exc.errors if isinstance(exc, Invalid) and exc.errors else {"": exc.detail}


def fault_item(line: int, exc: AccordError, ref: str | None = None) -> Item:
    return Item(line, None, faults_of(exc), ref)


@dataclass(frozen=True)
class ImportOptions:
    """Settings an importer may use. ``mapping`` is the parsed column mapping for CSV; ``source`` the
    default source code for formats that do not carry one (vocabulary: sources); ``service`` the
    submitter's own service name for formats that do not name it (NCMEC: the reporting ESP)."""

    name: str = "<input>"
    mapping: Mapping[str, Any] | None = None
    source: str | None = None
    service: str | None = None
    max_line_bytes: int = 1 << 20
    max_document_bytes: int = 256 << 20
    scratch_dir: Path | None = None  # where graph formats spill a document while reading it (None: the temp dir)


@runtime_checkable
class Importer(Protocol):
    name: str  # short name used on the command line and in the API: "csv", "stix"
    description: str

    def sniff(self, head: bytes, filename: str) -> bool:
        """Whether a file starting with ``head`` (its first 64 KiB) looks like this format."""
        ...

    def read(self, stream: IO[bytes], options: ImportOptions) -> Iterator[Item]:
        """Items in file order. Raise ``Invalid`` (naming the file and position) for a fault that
        spoils the whole file (wrong encoding, truncated document); per-object faults are items."""
        ...


@dataclass(frozen=True)
class ExportContext:
    """Who exports, when, and under which agreement and marking; exporters put this into the
    formats that carry provenance (STIX identity and markings, CASE provenance records)."""

    org_id: str
    org_name: str
    generated_at: datetime
    agreement_id: str | None = None
    node: str = "accord"


@runtime_checkable
class Exporter(Protocol):
    name: str
    description: str
    media_type: str
    suffix: str  # file name suffix, with the dot

    def write(self, reports: Iterable[Report], out: IO[bytes], context: ExportContext) -> int:
        """Write ``reports`` to ``out``; return how many were written. Never writes sealed fields
        (stored reports do not hold them)."""
        ...
