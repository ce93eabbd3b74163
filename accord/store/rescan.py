"""What a bank re-scan reads of the stored history: one organisation's media (or URL) records by page,
the reports holding them, and the matches already recorded (docs/matching.md, "Re-scan")."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from accord.store.schema import matches, observables, report_observables, reports

__all__ = ["count", "recorded", "records_page", "reports_holding"]

_CHUNK = 5000


def records_page(conn: Connection, org_id: str, prefix: str, after: int, limit: int) -> list[tuple[int, str]]:
    """(id, key) of the organisation's records whose key starts with ``prefix`` ("pdq:"), in id order."""
    o = observables.c
    q = (
        select(o.id, o.key)
        .where(o.org_id == org_id, o.key.startswith(prefix, autoescape=True), o.id > after)
        .order_by(o.id)
        .limit(limit)
    )
    return [(r.id, r.key) for r in conn.execute(q)]


def reports_holding(conn: Connection, org_id: str, record_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    """Per record, (report id, report digest) of the organisation's stored reports holding it."""
    links, r = report_observables.c, reports.c
    out: dict[int, list[tuple[str, str]]] = {}
    ids = sorted(set(record_ids))
    for start in range(0, len(ids), _CHUNK):
        q = (
            select(links.observable_id, r.id, r.digest)
            .join_from(report_observables, reports, r.id == links.report_id)
            .where(links.observable_id.in_(ids[start : start + _CHUNK]), r.org_id == org_id)
            .order_by(links.observable_id, links.id)
        )
        for row in conn.execute(q):
            out.setdefault(row.observable_id, []).append((row.id, row.digest))
    return out


def recorded(conn: Connection, org_id: str, report_ids: Sequence[str], bank_id: str) -> set[tuple[str, str, int]]:
    """(report id, key, entry id) of the matches against the bank already recorded for these reports."""
    m = matches.c
    out: set[tuple[str, str, int]] = set()
    ids = sorted(set(report_ids))
    for start in range(0, len(ids), _CHUNK):
        q = select(m.report_id, m.key, m.entry_id).where(
            m.org_id == org_id, m.report_id.in_(ids[start : start + _CHUNK]), m.bank_id == bank_id
        )
        out.update((r.report_id, r.key, r.entry_id) for r in conn.execute(q))
    return out


def count(conn: Connection, org_id: str, prefix: str) -> int:
    """How many of the organisation's records a re-scan of ``prefix`` keys searches (for progress)."""
    o = observables.c
    q = select(func.count()).where(o.org_id == org_id, o.key.startswith(prefix, autoescape=True))
    return int(conn.execute(q).scalar_one())
