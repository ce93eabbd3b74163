"""Accord NDJSON out: each stored report as the submission that would recreate it (the import side's
schema), so export-then-import gives back the same reports. Sealed fields are never in a stored
report's public form, so they are never exported."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

import orjson

from accord.intake.formats import ExportContext
from accord.model.report import Report
from accord.plugins.hookspecs import hookimpl

__all__ = ["NativeExporter", "as_submission"]

_SUBMISSION_FIELDS = {
    "external_id",
    "source",
    "received_at",
    "incident_type",
    "urgency",
    "marking",
    "location",
    "subjects",
    "media",
    "transfers",
}


def as_submission(report: Report) -> dict[str, Any]:
    """The ``ReportIn`` document for a stored report (identifiers keep the value the submitter sent)."""
    doc = report.model_dump(mode="json", include=_SUBMISSION_FIELDS, exclude_none=True, by_alias=True)
    if not doc.get("transfers"):
        doc.pop("transfers", None)  # as a report without transfers was sent: its digest leaves the field out
    for subject in doc.get("subjects", []):
        for ident in subject["identifiers"]:
            ident.pop("normalised", None)
    for transfer in doc.get("transfers", []):
        transfer["from"].pop("normalised", None)
        transfer["to"].pop("normalised", None)
    return doc


class NativeExporter:
    name = "native"
    description = "Accord NDJSON, one report per line"
    media_type = "application/x-ndjson"
    suffix = ".ndjson"

    def write(self, reports: Iterable[Report], out: IO[bytes], context: ExportContext) -> int:
        n = 0
        for r in reports:
            out.write(orjson.dumps(as_submission(r)) + b"\n")
            n += 1
        return n


@hookimpl
def accord_exporters() -> list[NativeExporter]:
    return [NativeExporter()]
