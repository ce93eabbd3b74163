"""Case references' records (docs/federation.md, "Sync"): the organisation's cases shared into agreement
feeds, and the references received from peers (their latest version per peer and origin case)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from accord.model.case_ref import CaseReference, CaseShare
from accord.store.schema import case_reports, cases, organisations, sync_case_refs, sync_case_shares

__all__ = [
    "case_owner",
    "case_summary",
    "get_share",
    "last_version",
    "put_received",
    "put_share",
    "received",
    "received_for",
    "shares_of",
]


def case_owner(conn: Connection, case_id: str) -> str | None:
    """The organisation a case belongs to (unscoped: the operator's console only)."""
    return conn.execute(select(cases.c.org_id).where(cases.c.id == case_id)).scalar()


def case_summary(conn: Connection, org_id: str, case_id: str) -> dict[str, Any] | None:
    """What a reference to the organisation's case carries (never its title or report ids); None if the
    organisation holds no such case."""
    c, o = cases.c, organisations.c
    linked = select(func.count()).select_from(case_reports).where(case_reports.c.case_id == c.id).scalar_subquery()
    q = (
        select(c.id, c.jurisdiction, c.status, c.created_at, c.updated_at, c.org_id, o.name, linked.label("n"))
        .join(organisations, o.id == c.org_id)
        .where(c.id == case_id, c.org_id == org_id)
    )
    r = conn.execute(q).first()
    if r is None:
        return None
    return {
        "id": r.id,
        "jurisdiction": r.jurisdiction,
        "status": r.status,
        "lead_org_id": r.org_id,
        "lead_org_name": r.name,
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at),
        "linked_reports": int(r.n),
    }


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _share(r: Any) -> CaseShare:
    return CaseShare(
        case_id=r.case_id,
        agreement_id=r.agreement_id,
        org_id=r.org_id,
        category=r.category,
        marking=r.marking,
        version=r.version,
        withdrawn_at=r.withdrawn_at,
        at=r.at,
    )


def get_share(conn: Connection, case_id: str, agreement_id: str) -> CaseShare | None:
    t = sync_case_shares.c
    r = conn.execute(select(sync_case_shares).where(t.case_id == case_id, t.agreement_id == agreement_id)).first()
    return None if r is None else _share(r)


def shares_of(conn: Connection, case_id: str) -> list[CaseShare]:
    """The case's shares that are not withdrawn, by agreement."""
    t = sync_case_shares.c
    q = select(sync_case_shares).where(t.case_id == case_id, t.withdrawn_at.is_(None)).order_by(t.agreement_id)
    return [_share(r) for r in conn.execute(q)]


def last_version(conn: Connection, case_id: str) -> int:
    """The highest version appended for the case, across every agreement it was shared into (0: none)."""
    t = sync_case_shares.c
    return int(conn.execute(select(func.max(t.version)).where(t.case_id == case_id)).scalar() or 0)


def put_share(conn: Connection, share: CaseShare) -> None:
    t = sync_case_shares.c
    values = {
        "org_id": share.org_id,
        "category": share.category,
        "marking": share.marking,
        "version": share.version,
        "withdrawn_at": share.withdrawn_at,
        "at": share.at,
    }
    where = (t.case_id == share.case_id, t.agreement_id == share.agreement_id)
    if conn.execute(update(sync_case_shares).where(*where).values(**values)).rowcount == 0:
        conn.execute(insert(sync_case_shares).values(case_id=share.case_id, agreement_id=share.agreement_id, **values))


# --- received ---------------------------------------------------------------------------------------


def _ref(r: Any) -> CaseReference:
    return CaseReference.model_validate(dict(r._mapping))


def received(conn: Connection, peer: str, origin_cases: Sequence[str]) -> dict[str, CaseReference]:
    t = sync_case_refs.c
    q = select(sync_case_refs).where(t.peer == peer, t.origin_case.in_(list(origin_cases)))
    return {r.origin_case: _ref(r) for r in conn.execute(q)}


def put_received(conn: Connection, ref: CaseReference, known: bool) -> None:
    """Keep the latest version of a received reference (``known``: a row is there already)."""
    values = ref.model_dump()
    if known:
        t = sync_case_refs.c
        values.pop("received_at")
        conn.execute(
            update(sync_case_refs).where(t.peer == ref.peer, t.origin_case == ref.origin_case).values(**values)
        )
    else:
        conn.execute(insert(sync_case_refs).values(**values))


def received_for(conn: Connection, org_id: str, *, withdrawn: bool = False) -> list[CaseReference]:
    """The references received for the organisation (the withdrawn ones too if asked), by peer and case."""
    t = sync_case_refs.c
    q = select(sync_case_refs).where(t.org_id == org_id)
    if not withdrawn:
        q = q.where(t.status != "withdrawn")
    return [_ref(r) for r in conn.execute(q.order_by(t.peer, t.origin_case))]
