"""Reviews owed after a retraction, scoped to the organisation that owes them (docs/matching.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from accord.errors import NotFound
from accord.model.review import Review
from accord.store.schema import case_reports, reviews

__all__ = ["NewReview", "cases_citing", "delete_for_reports", "get", "insert_new", "page", "resolve"]

_CHUNK = 5000


def _review(row: Any) -> Review:
    return Review(
        id=row.id,
        org_id=row.org_id,
        object_type=row.object_type,
        object_id=row.object_id,
        reason=row.reason,
        bank_id=row.bank_id,
        entry_id=row.entry_id,
        matches=row.matches,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
    )


@dataclass(frozen=True)
class NewReview:
    org_id: str
    object_type: str
    object_id: str
    bank_id: str
    entry_id: int
    matches: int


def insert_new(
    conn: Connection, items: Sequence[NewReview], reason: str, new_id: Callable[[], str], at: datetime
) -> list[Review]:
    """Insert the reviews not already owed (one per object and entry); returns those inserted."""
    r = reviews.c
    made: list[Review] = []
    for item in items:
        exists = conn.execute(
            select(r.id).where(
                r.org_id == item.org_id,
                r.object_type == item.object_type,
                r.object_id == item.object_id,
                r.entry_id == item.entry_id,
            )
        ).first()
        if exists is not None:
            continue
        row = {**vars(item), "id": new_id(), "reason": reason, "created_at": at}
        conn.execute(insert(reviews).values(**row))
        made.append(_review(conn.execute(select(reviews).where(r.id == row["id"])).one()))
    return made


def cases_citing(conn: Connection, org_id: str, report_ids: Sequence[str]) -> dict[str, list[str]]:
    """Per case of the organisation, which of ``report_ids`` it cites."""
    c = case_reports.c
    out: dict[str, list[str]] = {}
    ids = sorted(set(report_ids))
    for start in range(0, len(ids), _CHUNK):
        q = select(c.case_id, c.report_id).where(c.org_id == org_id, c.report_id.in_(ids[start : start + _CHUNK]))
        for row in conn.execute(q.order_by(c.case_id, c.report_id)):
            out.setdefault(row.case_id, []).append(row.report_id)
    return out


def page(conn: Connection, org_id: str, *, open_only: bool, after: str | None, limit: int) -> list[Review]:
    r = reviews.c
    q = select(reviews).where(r.org_id == org_id)
    if open_only:
        q = q.where(r.resolved_at.is_(None))
    if after is not None:
        q = q.where(r.id > after)
    return [_review(row) for row in conn.execute(q.order_by(r.id).limit(limit))]


def get(conn: Connection, org_id: str, review_id: str) -> Review:
    r = reviews.c
    row = conn.execute(select(reviews).where(r.id == review_id, r.org_id == org_id)).first()
    if row is None:
        raise NotFound(f"no review {review_id}")
    return _review(row)


def resolve(conn: Connection, org_id: str, review_id: str, by: str | None, at: datetime) -> Review:
    """Mark the review done (resolving it again changes nothing)."""
    current = get(conn, org_id, review_id)
    if current.resolved_at is None:
        r = reviews.c
        conn.execute(update(reviews).where(r.id == review_id).values(resolved_at=at, resolved_by=by))
    return get(conn, org_id, review_id)


def delete_for_reports(conn: Connection, org_id: str, report_ids: Sequence[str]) -> None:
    """A purged report owes no review (a case citing it keeps its own)."""
    r = reviews.c
    for start in range(0, len(report_ids), _CHUNK):
        chunk = list(report_ids[start : start + _CHUNK])
        conn.execute(delete(reviews).where(r.org_id == org_id, r.object_type == "report", r.object_id.in_(chunk)))
