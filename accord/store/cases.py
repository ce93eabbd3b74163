"""Cases and their linked reports, scoped to the caller's organisation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from accord.errors import NotFound
from accord.ids import ReportId
from accord.model.case import Case, CaseStatus
from accord.model.organisation import Actor
from accord.store.schema import case_reports, cases

__all__ = ["get", "insert_case", "link", "page", "set_status"]


def _case(row: Any, report_ids: list[ReportId]) -> Case:
    return Case(
        id=row.id,
        org_id=row.org_id,
        title=row.title,
        status=CaseStatus(row.status),
        jurisdiction=row.jurisdiction,
        report_ids=report_ids,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _linked(conn: Connection, case_ids: Sequence[str]) -> dict[str, list[ReportId]]:
    out: dict[str, list[ReportId]] = {c: [] for c in case_ids}
    if case_ids:
        q = select(case_reports.c.case_id, case_reports.c.report_id).where(case_reports.c.case_id.in_(case_ids))
        for r in conn.execute(q.order_by(case_reports.c.report_id)):
            out[r.case_id].append(ReportId(r.report_id))
    return out


def insert_case(conn: Connection, case: Case) -> None:
    conn.execute(
        insert(cases).values(
            id=case.id,
            org_id=case.org_id,
            title=case.title,
            status=case.status.value,
            jurisdiction=case.jurisdiction,
            created_at=case.created_at,
            updated_at=case.updated_at,
        )
    )


def get(conn: Connection, actor: Actor, case_id: str) -> Case:
    row = conn.execute(select(cases).where(cases.c.id == case_id, cases.c.org_id == actor.org_id)).first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    return _case(row, _linked(conn, [row.id])[row.id])


def page(conn: Connection, actor: Actor, status: CaseStatus | None, after: str | None, limit: int) -> list[Case]:
    q = select(cases).where(cases.c.org_id == actor.org_id)
    if status:
        q = q.where(cases.c.status == status.value)
    if after:
        q = q.where(cases.c.id > after)
    rows = list(conn.execute(q.order_by(cases.c.id).limit(limit)))
    linked = _linked(conn, [r.id for r in rows])
    return [_case(r, linked[r.id]) for r in rows]


def set_status(conn: Connection, actor: Actor, case_id: str, status: CaseStatus, at: datetime) -> None:
    conn.execute(
        update(cases)
        .where(cases.c.id == case_id, cases.c.org_id == actor.org_id)
        .values(status=status.value, updated_at=at)
    )


def link(conn: Connection, actor: Actor, case_id: str, report_ids: Sequence[str], at: datetime) -> int:
    """Link reports not yet linked; returns how many were new. Callers check the reports are visible."""
    have = set(_linked(conn, [case_id])[case_id])
    new = [r for r in dict.fromkeys(report_ids) if r not in have]
    if new:
        conn.execute(
            insert(case_reports),
            [{"case_id": case_id, "report_id": r, "org_id": actor.org_id, "linked_at": at} for r in new],
        )
        conn.execute(update(cases).where(cases.c.id == case_id).values(updated_at=at))
    return len(new)
