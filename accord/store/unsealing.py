"""Unseal requests, their approvals, and the sealed part of a report, scoped to the caller's organisation.

The sealed blob is read here and nowhere else in the store: ``reports.get`` never selects it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from accord.errors import NotFound
from accord.model.organisation import Actor
from accord.store import retention
from accord.store.errors import DuplicateKey
from accord.store.schema import observables, report_observables, reports, unseal_approvals, unseal_requests

__all__ = [
    "ApprovalRow",
    "RequestFilter",
    "RequestRow",
    "SealedPart",
    "delete_approval",
    "emergency_for_report",
    "get",
    "insert_approval",
    "insert_request",
    "overdue_all",
    "page",
    "report_keys",
    "sealed_part",
    "set_escalated",
    "set_opened",
    "set_reviewed",
]


@dataclass(frozen=True)
class ApprovalRow:
    approver_id: str
    custodian_id: str
    signature: str
    approved_at: datetime


@dataclass(frozen=True)
class RequestRow:
    id: str
    org_id: str
    warrant_id: str | None
    report_id: str
    fields: list[str]
    nonce: str
    requested_by: str
    requested_at: datetime
    status: str
    emergency: bool
    emergency_reason: str | None = None
    opened_at: datetime | None = None
    opened_by: str | None = None
    review_due_at: datetime | None = None
    escalated_at: datetime | None = None
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    review_outcome: str | None = None
    review_note: str | None = None
    review_signature: str | None = None
    approvals: list[ApprovalRow] = field(default_factory=list)


@dataclass(frozen=True)
class RequestFilter:
    status: str | None = None
    report_id: str | None = None
    emergency: bool | None = None
    overdue_at: datetime | None = None  # emergency disclosures not reviewed and due before this time


_COLUMNS = [c.name for c in unseal_requests.c]


def _approvals(conn: Connection, ids: Sequence[str]) -> dict[str, list[ApprovalRow]]:
    out: dict[str, list[ApprovalRow]] = {i: [] for i in ids}
    if ids:
        q = (
            select(unseal_approvals)
            .where(unseal_approvals.c.request_id.in_(list(ids)))
            .order_by(unseal_approvals.c.approved_at, unseal_approvals.c.approver_id)
        )
        for r in conn.execute(q):
            out[r.request_id].append(ApprovalRow(r.approver_id, r.custodian_id, r.signature, r.approved_at))
    return out


def _rows(conn: Connection, rows: Sequence[Any]) -> list[RequestRow]:
    approvals = _approvals(conn, [r.id for r in rows])
    return [RequestRow(**{c: getattr(r, c) for c in _COLUMNS}, approvals=approvals[r.id]) for r in rows]


def insert_request(conn: Connection, row: RequestRow) -> None:
    conn.execute(insert(unseal_requests).values(**{c: getattr(row, c) for c in _COLUMNS}))


def get(conn: Connection, actor: Actor, request_id: str, *, for_update: bool = False) -> RequestRow:
    q = select(unseal_requests).where(unseal_requests.c.id == request_id, unseal_requests.c.org_id == actor.org_id)
    if for_update:
        q = q.with_for_update()  # PostgreSQL: two openings of one request queue here (SQLite has one writer)
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no unseal request {request_id}")
    return _rows(conn, [row])[0]


def page(conn: Connection, actor: Actor, f: RequestFilter, after: str | None, limit: int) -> list[RequestRow]:
    t = unseal_requests
    q = select(t).where(t.c.org_id == actor.org_id)
    if after:
        q = q.where(t.c.id > after)
    if f.status:
        q = q.where(t.c.status == f.status)
    if f.report_id:
        q = q.where(t.c.report_id == f.report_id)
    if f.emergency is not None:
        q = q.where(t.c.emergency == f.emergency)
    if f.overdue_at is not None:
        q = q.where(t.c.emergency.is_(True), t.c.reviewed_at.is_(None), t.c.review_due_at < f.overdue_at)
    return _rows(conn, list(conn.execute(q.order_by(t.c.id).limit(limit))))


def overdue_all(conn: Connection, now: datetime) -> list[RequestRow]:
    """Every organisation's overdue reviews: for the operator's escalation run only."""
    t = unseal_requests
    q = select(t).where(t.c.emergency.is_(True), t.c.reviewed_at.is_(None), t.c.review_due_at < now)
    return _rows(conn, list(conn.execute(q.order_by(t.c.id))))


def emergency_for_report(conn: Connection, actor: Actor, report_id: str) -> list[RequestRow]:
    t = unseal_requests
    q = select(t).where(
        t.c.org_id == actor.org_id, t.c.report_id == report_id, t.c.emergency.is_(True), t.c.opened_at.is_not(None)
    )
    return _rows(conn, list(conn.execute(q.order_by(t.c.id))))


def insert_approval(
    conn: Connection, actor: Actor, request_id: str, custodian_id: str, signature: str, at: datetime
) -> None:
    """One approval per person and request: a second one is a ``DuplicateKey``."""
    try:
        conn.execute(
            insert(unseal_approvals).values(
                request_id=request_id,
                approver_id=actor.id,
                custodian_id=custodian_id,
                org_id=actor.org_id,
                signature=signature,
                approved_at=at,
            )
        )
    except IntegrityError as exc:
        raise DuplicateKey(str(exc.orig)) from exc


def delete_approval(conn: Connection, actor: Actor, request_id: str) -> None:
    """Drop the caller's approval of a request (it is being replaced by one under a current key)."""
    conn.execute(
        delete(unseal_approvals).where(
            unseal_approvals.c.request_id == request_id,
            unseal_approvals.c.approver_id == actor.id,
            unseal_approvals.c.org_id == actor.org_id,
        )
    )


def set_opened(
    conn: Connection,
    actor: Actor,
    request_id: str,
    at: datetime,
    *,
    emergency: bool,
    reason: str | None,
    review_due_at: datetime | None,
) -> bool:
    """Mark a pending request opened; False when it was not pending any more (opened meanwhile)."""
    t = unseal_requests
    result = conn.execute(
        update(t)
        .where(t.c.id == request_id, t.c.org_id == actor.org_id, t.c.status == "pending")
        .values(
            status="opened",
            opened_at=at,
            opened_by=actor.id,
            emergency=emergency,
            emergency_reason=reason,
            review_due_at=review_due_at,
        )
    )
    return result.rowcount == 1


def set_reviewed(
    conn: Connection, actor: Actor, request_id: str, at: datetime, outcome: str, note: str | None, signature: str
) -> bool:
    t = unseal_requests
    result = conn.execute(
        update(t)
        .where(t.c.id == request_id, t.c.org_id == actor.org_id, t.c.reviewed_at.is_(None))
        .values(
            reviewed_at=at, reviewed_by=actor.id, review_outcome=outcome, review_note=note, review_signature=signature
        )
    )
    return result.rowcount == 1


def set_escalated(conn: Connection, request_ids: Sequence[str], at: datetime) -> None:
    if request_ids:
        t = unseal_requests
        conn.execute(update(t).where(t.c.id.in_(list(request_ids)), t.c.escalated_at.is_(None)).values(escalated_at=at))


@dataclass(frozen=True)
class SealedPart:
    blob: bytes | None
    fields: list[str]
    digest: str
    """The report's content digest: what an opening's custody leaf names (it never names the blob)."""


def sealed_part(conn: Connection, actor: Actor, report_id: str) -> SealedPart:
    """The sealed blob, the names of the sealed fields and the content digest of one of the caller's
    reports. A report purged under retention, or whose sealed part was, is Gone: there is nothing left
    to open."""
    r = reports.c
    row = conn.execute(
        select(r.sealed, r.sealed_fields, r.digest).where(r.id == report_id, r.org_id == actor.org_id)
    ).first()
    if row is None:
        purged = retention.purge_record(conn, actor.org_id, report_id, "report")
        if purged is not None:
            raise retention.gone(purged, f"report {report_id}")
        raise NotFound(f"no report {report_id}")
    if row.sealed is None and row.sealed_fields:
        part = retention.purge_record(conn, actor.org_id, report_id, "sealed")
        if part is not None:
            raise retention.gone(part, f"the sealed fields of report {report_id}")
    return SealedPart(row.sealed, list(row.sealed_fields), row.digest)


def report_keys(conn: Connection, actor: Actor, report_id: str) -> set[str]:
    """The report's indexed identifier keys (a handful per report; victims' identifiers are not among them)."""
    o, links = observables.c, report_observables.c
    q = (
        select(o.key)
        .join_from(report_observables, observables, o.id == links.observable_id)
        .where(links.report_id == report_id, o.org_id == actor.org_id, o.kind == "identifier")
    )
    return {r.key for r in conn.execute(q)}
