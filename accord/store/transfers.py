"""Payment transfers carried by reports, written with the report that carried them and read by money runs,
always scoped to one organisation (one organisation never reads another's transfers)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from accord.intake.record import TransferRow
from accord.store.bulk import insert_tuples
from accord.store.schema import transfers

__all__ = ["COLUMNS", "delete_for_reports", "insert", "known", "page", "submitted"]

COLUMNS = (
    "org_id", "report_id", "marking", "reference", "at", "source", "target", "amount", "currency", "rail",
    "from_country", "to_country", "submitted",
)  # fmt: skip


def insert(conn: Connection, rows: Sequence[tuple[str, str, str, TransferRow]]) -> None:
    """Store (org id, report id, marking, transfer) rows in the caller's transaction (the report's)."""
    if rows:
        insert_tuples(conn, transfers, COLUMNS, [(org, report, marking, *t) for org, report, marking, t in rows])


def page(conn: Connection, org_id: str, upto: str, after: int, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` of the organisation's transfers with row id above ``after`` carried by reports up to
    id ``upto``, in the shape ``accord.graph.money.build_ledger`` reads (``row`` is the row id)."""
    t = transfers.c
    q = (
        select(t.id, t.report_id, t.reference, t.at, t.source, t.target, t.amount, t.currency, t.rail,
               t.from_country, t.to_country)
        .where(t.org_id == org_id, t.report_id <= upto, t.id > after)
        .order_by(t.id)
        .limit(limit)
    )  # fmt: skip
    return [
        {
            "row": r.id,
            "id": r.reference or f"{r.report_id}#{r.id}",
            "report": r.report_id,
            "at": r.at if isinstance(r.at, datetime) else datetime.fromisoformat(r.at),
            "from": r.source,
            "to": r.target,
            "amount": r.amount,
            "currency": r.currency,
            "rail": r.rail,
            "from_country": r.from_country,
            "to_country": r.to_country,
        }
        for r in conn.execute(q)
    ]


def known(conn: Connection, org_id: str, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` pay or receive in one of the organisation's transfers."""
    t = transfers.c
    found: set[str] = set()
    for column in (t.source, t.target):
        q = select(column).where(t.org_id == org_id, column.in_(list(keys))).distinct()
        found.update(r[0] for r in conn.execute(q))
    return found


def submitted(conn: Connection, org_id: str, report_ids: Sequence[str]) -> dict[str, list[str]]:
    """The transfers of each of these reports as they were sent (JSON text), in the order they were sent."""
    t = transfers.c
    out: dict[str, list[str]] = {}
    ids = list(report_ids)
    for start in range(0, len(ids), 500):
        q = select(t.report_id, t.submitted).where(t.org_id == org_id, t.report_id.in_(ids[start : start + 500]))
        for row in conn.execute(q.order_by(t.id)):
            out.setdefault(row.report_id, []).append(row.submitted)
    return out


def delete_for_reports(conn: Connection, org_id: str, report_ids: Sequence[str]) -> None:
    """Remove the transfers the reports carried (their purge)."""
    conn.execute(delete(transfers).where(transfers.c.org_id == org_id, transfers.c.report_id.in_(list(report_ids))))
