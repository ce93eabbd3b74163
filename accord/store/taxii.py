"""TAXII 2.1's own rows: the agreements an organisation may open as collections, the reports published
under an agreement, add-objects status resources and pull cursors (docs/federation.md, "TAXII 2.1").

Scoping lives here: a collection is an agreement the organisation is party to and that is valid now;
anything else is ``NotFound``, the same answer as an agreement that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from accord.errors import NotFound
from accord.model.agreement import Agreement
from accord.model.report import Report
from accord.store.reports import _PUBLIC, _report
from accord.store.schema import agreement_parties, agreements, reports, taxii_cursors, taxii_statuses

__all__ = [
    "Collection",
    "collection",
    "collections",
    "cursor",
    "insert_status",
    "publish",
    "published",
    "save_cursor",
    "status",
]


@dataclass(frozen=True)
class Collection:
    """An agreement seen as a TAXII collection; ``terms`` the agreement itself (its clauses are checked on
    what is served and added)."""

    id: str
    parties: list[str]
    max_marking: str
    created_at: datetime
    terms: Agreement


def _valid_for(org_id: str, now: datetime) -> Any:
    a, p = agreements.c, agreement_parties.c
    return (
        select(agreements)
        .join(agreement_parties, p.agreement_id == a.id)
        .where(p.org_id == org_id, a.valid_from <= now, or_(a.valid_until.is_(None), a.valid_until > now))
    )


def _collection(r: Any) -> Collection:
    terms = Agreement.model_validate(
        {k: r._mapping[k] for k in agreements.c.keys()}  # noqa: SIM118 - a Row is no mapping
    )
    return Collection(r.id, list(r.parties), r.max_marking, r.created_at, terms)


def collections(conn: Connection, org_id: str, now: datetime) -> list[Collection]:
    rows = conn.execute(_valid_for(org_id, now).order_by(agreements.c.id))
    return [_collection(r) for r in rows]


def collection(conn: Connection, org_id: str, collection_id: str, now: datetime) -> Collection:
    row = conn.execute(_valid_for(org_id, now).where(agreements.c.id == collection_id)).one_or_none()
    if row is None:
        raise NotFound(f"no collection {collection_id}")
    return _collection(row)


def published(conn: Connection, c: Collection) -> list[Report]:
    """The reports held under the agreement by its parties, oldest first."""
    r = reports.c
    q = select(*_PUBLIC).where(r.agreement_id == c.id, r.org_id.in_(c.parties)).order_by(r.ingested_at, r.id)
    return [_report(row) for row in conn.execute(q)]


def publish(conn: Connection, org_id: str, report_ids: list[str], agreement_id: str) -> None:
    """Put the organisation's reports under the agreement (those held under none only)."""
    r = reports.c
    conn.execute(
        update(reports)
        .where(r.org_id == org_id, r.id.in_(report_ids), r.agreement_id.is_(None))
        .values(agreement_id=agreement_id)
    )


def insert_status(
    conn: Connection, status_id: str, org_id: str, collection_id: str, at: datetime, resource: dict[str, Any]
) -> None:
    conn.execute(
        insert(taxii_statuses).values(
            id=status_id, org_id=org_id, collection=collection_id, requested_at=at, resource=resource
        )
    )


def status(conn: Connection, org_id: str, status_id: str) -> dict[str, Any]:
    t = taxii_statuses.c
    row = conn.execute(select(t.resource).where(t.id == status_id, t.org_id == org_id)).one_or_none()
    if row is None:
        raise NotFound(f"no status {status_id}")
    return dict(row.resource)


def cursor(conn: Connection, org_id: str, source: str) -> str | None:
    t = taxii_cursors.c
    value = conn.execute(select(t.added_after).where(t.org_id == org_id, t.source == source)).scalar_one_or_none()
    return str(value) if value is not None else None


def save_cursor(conn: Connection, org_id: str, source: str, added_after: str, at: datetime) -> None:
    t = taxii_cursors.c
    done = conn.execute(
        update(taxii_cursors)
        .where(t.org_id == org_id, t.source == source)
        .values(added_after=added_after, updated_at=at)
    )
    if done.rowcount == 0:
        conn.execute(insert(taxii_cursors).values(org_id=org_id, source=source, added_after=added_after, updated_at=at))
