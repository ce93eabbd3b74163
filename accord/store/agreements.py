"""Local agreements: the ``agreements`` table and its ``agreement_parties`` index (docs/federation.md,
"Stored agreements").

A local agreement binds organisations hosted on this node; banks, retention caps and TAXII collections
refer to it by id, so a row is never deleted: ending one closes its window (``valid_until``). Scoping lives
here: an organisation reads only the agreements it is party to, anything else is ``NotFound``, the same
answer as an id that names nothing; ``org_id`` None (the operator's admins) reads them all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from accord.errors import NotFound
from accord.model.agreement import LocalAgreement
from accord.store.schema import agreement_parties, agreements

__all__ = ["end", "get", "insert_agreement", "list_agreements"]


def _agreement(row: Any, now: datetime) -> LocalAgreement:
    in_force = row.valid_from <= now and (row.valid_until is None or row.valid_until > now)
    return LocalAgreement(
        id=row.id,
        parties=list(row.parties),
        purposes=list(row.purposes),
        legal_bases=list(row.legal_bases),
        categories=list(row.categories),
        max_marking=row.max_marking,
        retention_days=row.retention_days,
        onward_sharing=row.onward_sharing,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        created_at=row.created_at,
        in_force=in_force,
    )


def insert_agreement(conn: Connection, a: LocalAgreement) -> None:
    values = a.model_dump(exclude={"in_force"})
    conn.execute(insert(agreements).values(**values))
    conn.execute(insert(agreement_parties), [{"agreement_id": a.id, "org_id": org} for org in a.parties])


def _scoped(org_id: str | None) -> Any:
    q = select(agreements)
    if org_id is not None:
        p = agreement_parties.c
        party = select(p.agreement_id).where(p.org_id == org_id)
        q = q.where(agreements.c.id.in_(party))
    return q


def list_agreements(
    conn: Connection, org_id: str | None, now: datetime, *, in_force: bool = False
) -> list[LocalAgreement]:
    """The agreements ``org_id`` is party to (None: all), oldest first; ``in_force``: only those valid now."""
    q = _scoped(org_id)
    if in_force:
        a = agreements.c
        q = q.where(a.valid_from <= now, or_(a.valid_until.is_(None), a.valid_until > now))
    return [_agreement(r, now) for r in conn.execute(q.order_by(agreements.c.created_at, agreements.c.id))]


def get(
    conn: Connection, org_id: str | None, agreement_id: str, now: datetime, *, lock: bool = False
) -> LocalAgreement:
    q = _scoped(org_id).where(agreements.c.id == agreement_id)
    row = conn.execute(q.with_for_update() if lock else q).one_or_none()
    if row is None:
        raise NotFound(f"no agreement {agreement_id}")
    return _agreement(row, now)


def end(conn: Connection, agreement_id: str, until: datetime, now: datetime) -> LocalAgreement:
    """Close the agreement's window at ``until`` (the caller has checked it is open after it)."""
    conn.execute(update(agreements).where(agreements.c.id == agreement_id).values(valid_until=until))
    return get(conn, None, agreement_id, now)
