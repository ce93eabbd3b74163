"""The report filters a caller asks for, checked once for every adapter.

The API (query parameters) and the CLI (options) offer the same filters; each names a fault in its
own spelling (``?incident_type``, ``--incident-type``), so the check takes a function that spells a
filter's name the caller's way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from accord.errors import Invalid
from accord.store.reports import ReportFilter
from accord.vocab.loader import Vocabularies

__all__ = ["report_filter"]


def report_filter(
    vocab: Vocabularies,
    spell: Callable[[str], str],
    *,
    received_after: datetime | None = None,
    received_before: datetime | None = None,
    incident_type: str | None = None,
    urgency: str | None = None,
    urgent: bool | None = None,
    source: str | None = None,
) -> ReportFilter:
    """The filter, or ``Invalid`` naming the first unknown code or time without a zone."""
    for voc, code, name in (
        (vocab.categories, incident_type, "incident_type"),
        (vocab.urgency, urgency, "urgency"),
        (vocab.sources, source, "source"),
    ):
        if code is not None and code not in voc:
            where = spell(name)
            raise Invalid(
                f"{where}: unknown {voc.name} code {code!r} (vocabulary {voc.name} v{voc.version})",
                {where: f"unknown code {code!r}"},
            )
    for name, value in (("received_after", received_after), ("received_before", received_before)):
        if value is not None and value.tzinfo is None:
            where = spell(name)
            raise Invalid(f"{where}: needs a time zone", {where: "timestamp needs a time zone (Z or +hh:mm)"})
    return ReportFilter(received_after, received_before, incident_type, urgency, urgent, source)
