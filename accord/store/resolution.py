"""Entity resolution's reads and writes, scoped to the caller's organisation: the report subjects it resolves
(id, time and subjects only, in id order) and the analysts' merge and split decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from accord.model.organisation import Actor
from accord.store.schema import reports, resolution_decisions

__all__ = ["DecisionRow", "decisions", "insert_decision", "org_decisions", "org_subjects_page", "subjects_page"]

DecisionRow = tuple[str, str, str, str, str, datetime, str | None]
"""(id, kind, record_a, record_b, decided_by, decided_at, note)."""


def subjects_page(conn: Connection, actor: Actor, after: str | None, limit: int) -> list[tuple[str, datetime, Any]]:
    """Up to ``limit`` of the organisation's reports after id ``after``: (id, received_at, subjects JSON)."""
    return org_subjects_page(conn, actor.org_id, after, None, limit)


def org_subjects_page(
    conn: Connection, org_id: str, after: str | None, upto: str | None, limit: int
) -> list[tuple[str, datetime, Any]]:
    """``subjects_page`` for an organisation (an analytics run), up to report id ``upto`` where given."""
    q = select(reports.c.id, reports.c.received_at, reports.c.subjects).where(reports.c.org_id == org_id)
    if after:
        q = q.where(reports.c.id > after)
    if upto is not None:
        q = q.where(reports.c.id <= upto)
    return [(r.id, r.received_at, r.subjects) for r in conn.execute(q.order_by(reports.c.id).limit(limit))]


def insert_decision(conn: Connection, actor: Actor, row: DecisionRow) -> None:
    did, kind, a, b, by, at, note = row
    conn.execute(
        insert(resolution_decisions).values(
            id=did, org_id=actor.org_id, kind=kind, record_a=a, record_b=b, decided_by=by, decided_at=at, note=note
        )
    )


def decisions(conn: Connection, actor: Actor) -> list[DecisionRow]:
    """All of the organisation's decisions, oldest first (so a later one on the same pair wins)."""
    return org_decisions(conn, actor.org_id)


def org_decisions(conn: Connection, org_id: str) -> list[DecisionRow]:
    t = resolution_decisions.c
    q = select(t.id, t.kind, t.record_a, t.record_b, t.decided_by, t.decided_at, t.note).where(t.org_id == org_id)
    return [(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in conn.execute(q.order_by(t.decided_at, t.id))]
