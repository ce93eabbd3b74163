"""The audit table: appended in the same transaction as the action it records, read by auditors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select, text

from accord.model.audit import AuditEvent
from accord.safeguards.audit_chain import GENESIS, HASHED_FIELDS, event_hash
from accord.store.bulk import insert_rows
from accord.store.schema import audit_events
from accord.store.types import sqlite_text

__all__ = ["AuditDraft", "AuditQuery", "append", "iterate", "query"]

_LOCK_KEY = 0x0ACC0D  # PostgreSQL advisory lock serialising appends to the one chain


@dataclass(frozen=True)
class AuditDraft:
    at: datetime
    actor_id: str | None
    org_id: str | None
    action: str
    object_type: str | None
    object_id: str | None
    request_id: str | None
    outcome: str = "success"
    detail: dict[str, Any] | None = None


def append(conn: Connection, drafts: Sequence[AuditDraft]) -> None:
    if not drafts:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    seq, prev = head(conn) or (0, GENESIS)
    if conn.dialect.name == "sqlite":
        _append_sqlite(conn, drafts, seq, prev)
        return
    rows = []
    for d in drafts:
        seq += 1
        fields = {
            "seq": seq,
            "at": d.at,
            "actor_id": d.actor_id,
            "org_id": d.org_id,
            "action": d.action,
            "object_type": d.object_type,
            "object_id": d.object_id,
            "request_id": d.request_id,
            "outcome": d.outcome,
            "detail": d.detail or {},
        }
        digest = event_hash(prev, fields)
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    insert_rows(conn, audit_events, rows)


_SQLITE_COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
_SQLITE_INSERT = (
    f"INSERT INTO audit_events ({', '.join(_SQLITE_COLUMNS)}) VALUES ({', '.join('?' * len(_SQLITE_COLUMNS))})"
)


def _append_sqlite(conn: Connection, drafts: Sequence[AuditDraft], seq: int, prev: str) -> None:
    """The same rows as the Core would write, as driver tuples. Why: a bulk batch appends one event per
    report, and the Core's per-value bind processing (times, JSON) was most of an append's cost. A time is
    formatted once for a run of events at that time (a bulk batch has one): its chain spelling (what
    ``canonical`` makes of it) and the text the column stores."""
    raw = conn.connection.driver_connection  # in the connection's transaction
    assert isinstance(raw, sqlite3.Connection)
    rows = []
    last: datetime | None = None
    chain_at = stored_at = ""
    for d in drafts:
        seq += 1
        if d.at is not last:
            if d.at.tzinfo is None:
                raise ValueError("naive datetime given to the store")
            last, chain_at, stored_at = d.at, d.at.isoformat(timespec="microseconds"), sqlite_text(d.at)
        detail = d.detail or {}
        fields = {
            "seq": seq,
            "at": chain_at,
            "actor_id": d.actor_id,
            "org_id": d.org_id,
            "action": d.action,
            "object_type": d.object_type,
            "object_id": d.object_id,
            "request_id": d.request_id,
            "outcome": d.outcome,
            "detail": detail,
        }
        digest = event_hash(prev, fields)
        rows.append(
            (
                seq,
                stored_at,
                d.actor_id,
                d.org_id,
                d.action,
                d.object_type,
                d.object_id,
                d.request_id,
                d.outcome,
                orjson.dumps(detail).decode(),  # the engine's json_serializer (store.db)
                prev,
                digest,
            )
        )
        prev = digest
    raw.executemany(_SQLITE_INSERT, rows)


@dataclass(frozen=True)
class AuditQuery:
    actor_id: str | None = None
    action: str | None = None  # exact, or a family ending in ".*" ("unseal.*")
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None
    object_type: str | None = None


def _event(row: Any) -> AuditEvent:
    return AuditEvent.model_validate(row._mapping)


def query(conn: Connection, org_id: str, q: AuditQuery, after: int | None, limit: int) -> list[AuditEvent]:
    """Events of one organisation: an auditor sees the trail of their own organisation only."""
    s = select(audit_events).where(audit_events.c.org_id == org_id)
    if q.actor_id:
        s = s.where(audit_events.c.actor_id == q.actor_id)
    if q.action and q.action.endswith(".*"):
        s = s.where(audit_events.c.action.startswith(q.action[:-1], autoescape=True))
    elif q.action:
        s = s.where(audit_events.c.action == q.action)
    if q.outcome:
        s = s.where(audit_events.c.outcome == q.outcome)
    if q.object_type:
        s = s.where(audit_events.c.object_type == q.object_type)
    if q.object_id:
        s = s.where(audit_events.c.object_id == q.object_id)
    if q.since:
        s = s.where(audit_events.c.at >= q.since)
    if q.until:
        s = s.where(audit_events.c.at < q.until)
    if after is not None:
        s = s.where(audit_events.c.seq > after)
    return [_event(r) for r in conn.execute(s.order_by(audit_events.c.seq).limit(limit))]


def iterate(conn: Connection, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Every event of the node in chain order, for verification."""
    last = 0
    while True:
        rows = conn.execute(
            select(audit_events).where(audit_events.c.seq > last).order_by(audit_events.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        for r in rows:
            yield dict(r._mapping)
        last = rows[-1].seq


def head(conn: Connection) -> tuple[int, str] | None:
    row = conn.execute(
        select(audit_events.c.seq, audit_events.c.hash).order_by(audit_events.c.seq.desc()).limit(1)
    ).first()
    return None if row is None else (int(row.seq), str(row.hash))


def hash_at(conn: Connection, seq: int) -> str | None:
    row = conn.execute(select(audit_events.c.hash).where(audit_events.c.seq == seq)).first()
    return None if row is None else str(row.hash)
