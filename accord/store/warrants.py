"""Recorded warrants, scoped to the caller's organisation. Warrants are never edited: a corrected one is
recorded anew, so what an opening rested on stays as it was."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from accord.errors import NotFound
from accord.model.organisation import Actor
from accord.model.warrant import Warrant, WarrantScope
from accord.store.schema import warrants

__all__ = ["get", "insert_warrant", "page"]


def _warrant(row: Any) -> Warrant:
    return Warrant(
        id=row.id,
        org_id=row.org_id,
        issuing_authority=row.issuing_authority,
        reference=row.reference,
        scope=WarrantScope.model_validate(row.scope),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        document_sha256=row.document_sha256,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


def insert_warrant(conn: Connection, w: Warrant) -> None:
    conn.execute(
        insert(warrants).values(
            id=w.id,
            org_id=w.org_id,
            issuing_authority=w.issuing_authority,
            reference=w.reference,
            scope=w.scope.model_dump(mode="json"),
            valid_from=w.valid_from,
            valid_until=w.valid_until,
            document_sha256=w.document_sha256,
            recorded_by=w.recorded_by,
            recorded_at=w.recorded_at,
        )
    )


def get(conn: Connection, actor: Actor, warrant_id: str) -> Warrant:
    row = conn.execute(select(warrants).where(warrants.c.id == warrant_id, warrants.c.org_id == actor.org_id)).first()
    if row is None:
        raise NotFound(f"no warrant {warrant_id}")
    return _warrant(row)


def page(conn: Connection, actor: Actor, after: str | None, limit: int) -> list[Warrant]:
    q = select(warrants).where(warrants.c.org_id == actor.org_id)
    if after:
        q = q.where(warrants.c.id > after)
    return [_warrant(r) for r in conn.execute(q.order_by(warrants.c.id).limit(limit))]
