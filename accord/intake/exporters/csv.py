"""CSV out: one row per stored report in Accord's own layout (``csv_default.yaml``), which the CSV
importer reads back without a mapping and without loss.

Why one row per report with list cells, not numbered columns (``subject_1_email``...): a report may
carry up to 200 subjects of up to 100 identifiers and 1,000 media, so numbered columns would need the
whole export scanned before the header could be written, or a cap that loses data. A cell holding one
subject or media object per line stays readable in a spreadsheet and streams.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable
from datetime import UTC
from typing import IO

from accord.intake.formats import ExportContext
from accord.intake.importers.csv import default_mapping, encode_media, encode_subjects, neutralise
from accord.model.report import Report
from accord.plugins.hookspecs import hookimpl

__all__ = ["CsvExporter"]

# One writer per field the default layout can name; narrative is never in a stored report.
_CELLS: dict[str, Callable[[Report], str]] = {
    "external_id": lambda r: r.external_id or "",
    "source": lambda r: r.source,
    "received_at": lambda r: r.received_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    "incident_type": lambda r: r.incident_type,
    "urgency": lambda r: "\n".join(r.urgency),
    "marking": lambda r: r.marking,
    "location.country": lambda r: r.location.country or "",
    "location.timezone": lambda r: r.location.timezone or "",
    "subjects": lambda r: encode_subjects(r.subjects),
    "media": lambda r: encode_media(r.media),
}


class CsvExporter:
    name = "csv"
    description = "CSV, one report per row in Accord's layout (subjects and media one per line in their cell)"
    media_type = "text/csv"
    suffix = ".csv"

    def write(self, reports: Iterable[Report], out: IO[bytes], context: ExportContext) -> int:
        columns = default_mapping().columns
        cells = [_CELLS[spec.field] for spec in columns.values()]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180

        def flush() -> None:
            out.write(buf.getvalue().encode("utf-8"))
            buf.seek(0)
            buf.truncate()

        out.write(codecs.BOM_UTF8)
        writer.writerow(list(columns))
        flush()
        n = 0
        for r in reports:
            writer.writerow([neutralise(cell(r)) for cell in cells])
            flush()
            n += 1
        return n


@hookimpl
def accord_exporters() -> list[CsvExporter]:
    return [CsvExporter()]
