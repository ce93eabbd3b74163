"""Reports and idempotency keys, always scoped to the caller's organisation; their identifiers and media
are linked through ``store.observables``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Text, cast, insert, select, text
from sqlalchemy.exc import IntegrityError

from accord.errors import NotFound
from accord.ids import ActorId, OrgId, ReportId
from accord.intake.record import FlatReport
from accord.model.media import Media
from accord.model.organisation import Actor
from accord.model.report import Location, Report, Subject
from accord.model.transfer import TransferIn
from accord.store import observables, retention
from accord.store import transfers as transfer_store
from accord.store.bulk import insert_tuples
from accord.store.errors import DuplicateKey
from accord.store.schema import idempotency_keys, reports
from accord.store.types import sqlite_text

__all__ = [
    "NewReport",
    "ReportFilter",
    "existing_by_digest",
    "existing_by_external_id",
    "get",
    "get_many",
    "idempotency_lookup",
    "insert_idempotency",
    "insert_many",
    "org_page",
    "page",
]


class NewReport(NamedTuple):
    """A report ready to insert: its flat columns (``accord.intake.record``) stamped by the writer with an
    id, the organisation and actor, the ingestion time and the sealed blob. The flat record also holds the
    keys to link it by (its public subjects' identifiers and its media's hashes)."""

    id: ReportId
    org_id: OrgId
    submitted_by: ActorId
    ingested_at: datetime
    sealed: bytes | None
    flat: FlatReport

    # what a custody leaf and an audit event say about it, named as on ``Report``
    @property
    def digest(self) -> str:
        return self.flat.digest

    @property
    def source(self) -> str:
        return self.flat.source

    @property
    def incident_type(self) -> str:
        return self.flat.incident_type

    @property
    def urgent(self) -> bool:
        return self.flat.urgent

    @property
    def sealed_count(self) -> int:
        return self.flat.sealed_count


@dataclass(frozen=True)
class ReportFilter:
    received_after: datetime | None = None
    received_before: datetime | None = None
    incident_type: str | None = None
    urgency: str | None = None
    urgent: bool | None = None
    source: str | None = None


def _report(row: Any) -> Report:
    return Report(
        id=row.id,
        org_id=row.org_id,
        submitted_by=row.submitted_by,
        external_id=row.external_id,
        source=row.source,
        received_at=row.received_at,
        ingested_at=row.ingested_at,
        incident_type=row.incident_type,
        urgency=row.urgency,
        urgent=row.urgent,
        score=row.score,
        marking=row.marking,
        location=Location.model_validate(row.location),
        subjects=[Subject.model_validate(s) for s in row.subjects],
        media=[Media.model_validate(m) for m in row.media],
        sealed=row.sealed_fields,
        digest=row.digest,
    )


_PUBLIC = [c for c in reports.c if c.name not in ("sealed", "agreement_id")]


_COLUMNS = (
    "id",
    "org_id",
    "submitted_by",
    "external_id",
    "source",
    "received_at",
    "ingested_at",
    "incident_type",
    "urgency",
    "urgent",
    "score",
    "marking",
    "location",
    "subjects",
    "media",
    "sealed",
    "sealed_fields",
    "digest",
)
_SQLITE_INSERT = f"INSERT INTO reports ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def insert_many(conn: Connection, items: Sequence[NewReport], *, defer: bool = False) -> None:
    """Store the reports and link them to their identifiers' and media's records, in the caller's
    transaction (``defer``: a bulk import's batch, see ``observables.link``). The JSON columns arrive as
    text and go to the driver as they are (on PostgreSQL, COPY parses them into jsonb): serialising them
    again was a fifth of the writer's work."""
    if not items:
        return
    rows = [
        (
            i.id,
            i.org_id,
            i.submitted_by,
            f.external_id,
            f.source,
            f.received_at,
            i.ingested_at,
            f.incident_type,
            f.urgency,
            f.urgent,
            f.score,
            f.marking,
            f.location,
            f.subjects,
            f.media,
            i.sealed,
            f.sealed_fields,
            f.digest,
        )
        for i in items
        for f in (i.flat,)
    ]
    received: Sequence[datetime | str]
    if conn.dialect.name == "sqlite":
        # the stored text of each time, made once: the links' records compare the same text
        received = [sqlite_text(i.flat.received_at) for i in items]
        ingested = _texts(i.ingested_at for i in items)
        raw = _driver(conn)
        try:
            raw.executemany(
                _SQLITE_INSERT, [(*r[:5], rt, it, *r[7:]) for r, rt, it in zip(rows, received, ingested, strict=True)]
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateKey(str(exc)) from exc
    else:
        received = [i.flat.received_at for i in items]
        insert_tuples(conn, reports, _COLUMNS, rows, json_text=True)
    observables.link(
        conn,
        [
            (i.org_id, i.id, at, i.flat.identifier_keys, i.flat.media_keys)
            for i, at in zip(items, received, strict=True)
        ],
        defer=defer,
    )
    carried = [(i.org_id, i.id, i.flat.marking, t) for i in items for t in i.flat.transfers]
    if carried:
        transfer_store.insert(conn, carried)


def _with_transfers(conn: Connection, org_id: str, found: list[Report]) -> list[Report]:
    """The reports with the transfers they carry (one query for the lot; most carry none)."""
    carried = transfer_store.submitted(conn, org_id, [r.id for r in found]) if found else {}
    return [
        r.model_copy(update={"transfers": [TransferIn.model_validate_json(t) for t in carried[r.id]]})
        if r.id in carried
        else r
        for r in found
    ]


def _texts(times: Iterable[datetime]) -> list[str]:
    """SQLite's stored text of each time, formatted once per run of equal times (a bulk batch is stamped
    with one ingestion time)."""
    out: list[str] = []
    last: datetime | None = None
    text_ = ""
    for at in times:
        if at != last:
            last, text_ = at, sqlite_text(at)
        out.append(text_)
    return out


def _driver(conn: Connection) -> sqlite3.Connection:
    raw = conn.connection.driver_connection  # in the connection's transaction
    assert isinstance(raw, sqlite3.Connection)
    return raw


def get(conn: Connection, actor: Actor, report_id: str) -> Report:
    row = conn.execute(select(*_PUBLIC).where(reports.c.id == report_id, reports.c.org_id == actor.org_id)).first()
    if row is None:
        purged = retention.purge_record(conn, actor.org_id, report_id, "report")
        if purged is not None:
            raise retention.gone(purged, f"report {report_id}")
        raise NotFound(f"no report {report_id}")
    return _with_transfers(conn, actor.org_id, [_report(row)])[0]


def get_many(conn: Connection, actor: Actor, report_ids: Iterable[str]) -> dict[str, Report]:
    ids = list(set(report_ids))
    out: dict[str, Report] = {}
    for start in range(0, len(ids), 500):
        q = select(*_PUBLIC).where(reports.c.org_id == actor.org_id, reports.c.id.in_(ids[start : start + 500]))
        found = _with_transfers(conn, actor.org_id, [_report(r) for r in conn.execute(q)])
        out.update((r.id, r) for r in found)
    return out


def existing_by_external_id(conn: Connection, actor: Actor, external_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """external_id → (report id, digest) for those already stored in the caller's organisation."""
    out: dict[str, tuple[str, str]] = {}
    for start in range(0, len(external_ids), 500):
        chunk = list(external_ids[start : start + 500])
        if conn.dialect.name == "sqlite":
            # through the driver: SQLAlchemy compiled the expanding IN anew for every chunk (20 µs a report)
            sql = (
                "SELECT external_id, id, digest FROM reports "
                f"WHERE org_id = ? AND external_id IN ({', '.join('?' * len(chunk))})"
            )
            out.update((e, (i, d)) for e, i, d in _driver(conn).execute(sql, [actor.org_id, *chunk]))
            continue
        if conn.dialect.name == "postgresql":
            # Probe the unique index once per id. With `external_id IN (...)` the planner, working from
            # statistics a bulk load has outrun, chose a scan of every report of the organisation:
            # 566 ms per batch at 840,000 reports.
            q: Any = text(
                "SELECT r.external_id, r.id, r.digest FROM unnest(CAST(:ids AS varchar[])) AS x(ext) "
                "JOIN reports r ON r.org_id = :org AND r.external_id = x.ext"
            ).bindparams(ids=chunk, org=actor.org_id)
        else:
            q = select(reports.c.external_id, reports.c.id, reports.c.digest).where(
                reports.c.org_id == actor.org_id, reports.c.external_id.in_(chunk)
            )
        out.update((r.external_id, (r.id, r.digest)) for r in conn.execute(q))
    return out


def existing_by_digest(conn: Connection, actor: Actor, digests: Sequence[str]) -> dict[str, str]:
    """content digest -> report id, for the caller's stored reports that have no external id."""
    out: dict[str, str] = {}
    for start in range(0, len(digests), 500):
        if conn.dialect.name == "sqlite":
            chunk = list(digests[start : start + 500])
            sql = (
                "SELECT digest, id FROM reports WHERE org_id = ? AND external_id IS NULL "
                f"AND digest IN ({', '.join('?' * len(chunk))})"
            )
            out.update(_driver(conn).execute(sql, [actor.org_id, *chunk]).fetchall())
            continue
        q = select(reports.c.digest, reports.c.id).where(
            reports.c.org_id == actor.org_id,
            reports.c.external_id.is_(None),
            reports.c.digest.in_(list(digests[start : start + 500])),
        )
        out.update((r.digest, r.id) for r in conn.execute(q))
    return out


def page(conn: Connection, actor: Actor, f: ReportFilter, after: str | None, limit: int) -> list[Report]:
    q = select(*_PUBLIC).where(reports.c.org_id == actor.org_id)
    if after:
        q = q.where(reports.c.id > after)
    if f.received_after:
        q = q.where(reports.c.received_at >= f.received_after)
    if f.received_before:
        q = q.where(reports.c.received_at < f.received_before)
    if f.incident_type:
        q = q.where(reports.c.incident_type == f.incident_type)
    if f.source:
        q = q.where(reports.c.source == f.source)
    if f.urgent is not None:
        q = q.where(reports.c.urgent == f.urgent)
    if f.urgency:
        # codes are vocabulary-checked, so a quoted substring match on the JSON array is exact
        q = q.where(cast(reports.c.urgency, Text).contains(f'"{f.urgency}"'))
    rows = conn.execute(q.order_by(reports.c.id).limit(limit))
    return _with_transfers(conn, actor.org_id, [_report(r) for r in rows])


def org_page(conn: Connection, org_id: str, after: str | None, upto: str, limit: int) -> list[Report]:
    """One organisation's reports in id order, after ``after`` and up to ``upto`` (an analysis reads the
    reports that existed when it started, page by page, each page in its own short transaction)."""
    q = select(*_PUBLIC).where(reports.c.org_id == org_id, reports.c.id <= upto)
    if after:
        q = q.where(reports.c.id > after)
    return _with_transfers(conn, org_id, [_report(r) for r in conn.execute(q.order_by(reports.c.id).limit(limit))])


def idempotency_lookup(conn: Connection, actor: Actor, key: str) -> tuple[str, str] | None:
    """(request digest, report id) stored under this key for the caller's organisation."""
    row = conn.execute(
        select(idempotency_keys.c.request_digest, idempotency_keys.c.report_id).where(
            idempotency_keys.c.org_id == actor.org_id, idempotency_keys.c.key == key
        )
    ).first()
    return None if row is None else (row.request_digest, row.report_id)


def insert_idempotency(
    conn: Connection, actor: Actor, key: str, request_digest: str, report_id: str, at: datetime
) -> None:
    try:
        conn.execute(
            insert(idempotency_keys).values(
                org_id=actor.org_id, key=key, request_digest=request_digest, report_id=report_id, created_at=at
            )
        )
    except IntegrityError as exc:
        raise DuplicateKey(str(exc.orig)) from exc
