"""A prepared report flattened to plain values: the form bulk intake stores, and what crosses from the
parse helper process to the writer.

Why a flat record: the writer needs column values (JSON already serialised), the keys to link by, and a
few fields for its custody leaf and audit event. Pickling ``Prepared`` (pydantic models) across the
process boundary cost about 105 µs a report, as much as parsing it; this record costs about 15 µs, so
the parse and the serialisation can run beside the writer instead of in front of it.

What is not here, because the writer stamps it: the report id, the organisation, the submitting actor,
the ingestion time and the sealed blob (sealing binds the blob to the id, and the sealing key stays in
the writer's process). ``sealed_payload`` is the plaintext to seal, which the helper already read.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from pydantic import TypeAdapter

from accord.intake.prepare import Prepared
from accord.model.media import Media
from accord.model.report import Subject

__all__ = ["FlatReport", "TransferRow", "flatten"]

_SUBJECTS: TypeAdapter[list[Subject]] = TypeAdapter(list[Subject])
_MEDIA: TypeAdapter[list[Media]] = TypeAdapter(list[Media])
_STRINGS: TypeAdapter[list[str]] = TypeAdapter(list[str])


# reference, at, source key, target key, amount, currency, rail, from_country, to_country, as sent (JSON)
TransferRow = tuple[str | None, datetime, str, str, float, str, str | None, str | None, str | None, str]
"""(reference, at, from key, to key, amount, currency, rail, from country, to country)."""


class FlatReport(NamedTuple):
    external_id: str | None
    source: str
    received_at: datetime
    incident_type: str
    urgency: str  # JSON text of the codes
    urgent: bool
    score: int
    marking: str
    location: str  # JSON text, None fields left out
    subjects: str  # JSON text of the public subjects
    media: str  # JSON text
    sealed_payload: bytes | None
    sealed_fields: str  # JSON text of the sealed fields' pointers
    sealed_count: int  # how many there are
    digest: str
    identifier_keys: tuple[str, ...]  # the public subjects' identifiers, to link by
    media_keys: tuple[str, ...]  # md5:/sha256:/pdq: keys of the media, distinct
    transfers: tuple[TransferRow, ...] = ()  # the payments the report carries, instruments as keys


def flatten(p: Prepared) -> FlatReport:
    """The stored columns of ``p`` as JSON text and plain values (the same text ``model_dump_json`` gives,
    None fields left out, as the report's JSON columns have always held)."""
    rin = p.report_in
    media = rin.media
    return FlatReport(
        rin.external_id,
        rin.source,
        rin.received_at,
        rin.incident_type,
        _STRINGS.dump_json(rin.urgency).decode(),
        p.urgent,
        p.score,
        rin.marking,
        rin.location.model_dump_json(exclude_none=True),
        _SUBJECTS.dump_json(p.public_subjects, exclude_none=True).decode(),
        _MEDIA.dump_json(media, exclude_none=True).decode(),
        p.sealed_payload,
        _STRINGS.dump_json(p.sealed_pointers).decode(),
        len(p.sealed_pointers),
        p.digest,
        tuple(sorted(p.identifier_keys)),  # sorted: a set's order differs from process to process
        tuple(dict.fromkeys(k for m in media for k in m.keys)) if media else (),
        tuple(
            (
                t.reference,
                t.at,
                t.from_.key,
                t.to.key,
                t.amount,
                t.currency,
                t.rail,
                t.from_country,
                t.to_country,
                t.model_dump_json(by_alias=True, exclude_none=True),
            )
            for t in rin.transfers
        ),
    )
