"""Cross-border requests' records (docs/federation.md, "Requests"): each request held here, as requester or
addressee, with its events; the folded state is cached on the request's row."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from accord.model.request import Folded, Request, RequestEvent, fold
from accord.store.schema import request_events, requests

__all__ = ["due", "events", "find", "get", "insert_request", "list_for", "put_events", "set_escalated", "set_folded"]


def events(conn: Connection, origin_node: str, request_id: str) -> list[RequestEvent]:
    t = request_events.c
    q = select(request_events).where(t.origin_node == origin_node, t.request_id == request_id)
    return [
        RequestEvent(side=r.side, n=r.n, transition=r.transition, at=r.at, code=r.code, deadline=r.deadline)
        for r in conn.execute(q.order_by(t.at, t.side.desc(), t.n))
    ]


def _request(conn: Connection, r: Any) -> Request:
    held = events(conn, r.origin_node, r.id)
    folded = fold(r.kind, r.initial_deadline, held)
    return Request(
        id=r.id,
        origin_node=r.origin_node,
        role=r.role,
        org_id=r.org_id,
        peer=r.peer,
        agreement_id=r.agreement_id,
        kind=r.kind,
        legal_basis=r.legal_basis,
        case_id=r.case_id,
        keys=json.loads(r.keys),
        reference=r.reference,
        from_org=r.from_org,
        to_org=r.to_org,
        category=r.category,
        marking=r.marking,
        state=r.state,
        deadline=r.deadline,
        initial_deadline=r.initial_deadline,
        answer_code=r.answer_code,
        answered_at=r.answered_at,
        created_at=r.created_at,
        changed_at=r.changed_at,
        escalated_at=r.escalated_at,
        events=folded.events,
    )


def get(conn: Connection, origin_node: str, request_id: str) -> Request | None:
    t = requests.c
    r = conn.execute(select(requests).where(t.origin_node == origin_node, t.id == request_id)).first()
    return None if r is None else _request(conn, r)


def find(conn: Connection, org_id: str, request_id: str) -> Request | None:
    """The organisation's request of that id (as requester or addressee); None if it holds none."""
    t = requests.c
    r = conn.execute(select(requests).where(t.org_id == org_id, t.id == request_id).limit(1)).first()
    return None if r is None else _request(conn, r)


def list_for(conn: Connection, org_id: str, role: str | None = None, state: str | None = None) -> list[Request]:
    t = requests.c
    q = select(requests).where(t.org_id == org_id)
    if role is not None:
        q = q.where(t.role == role)
    if state is not None:
        q = q.where(t.state == state)
    return [_request(conn, r) for r in conn.execute(q.order_by(t.created_at, t.id))]


def due(conn: Connection, before: datetime) -> list[Request]:
    """Every request sent and not yet answered, refused, expired or withdrawn whose deadline is at or before
    ``before`` (any organisation: the node's tick)."""
    t = requests.c
    q = select(requests).where(t.state.in_(("sent", "acknowledged")), t.deadline <= before)
    return [_request(conn, r) for r in conn.execute(q.order_by(t.deadline, t.id))]


def insert_request(conn: Connection, req: Request) -> None:
    row = req.model_dump(exclude={"events"})
    row["keys"] = json.dumps(req.keys, separators=(",", ":"))
    conn.execute(insert(requests).values(**row))


def put_events(conn: Connection, origin_node: str, request_id: str, new: Sequence[RequestEvent]) -> int:
    """Add the events not held yet (by side and number); how many were added."""
    held = {(e.side, e.n) for e in events(conn, origin_node, request_id)}
    rows = [
        {
            "origin_node": origin_node,
            "request_id": request_id,
            "side": e.side,
            "n": e.n,
            "transition": e.transition,
            "at": e.at,
            "code": e.code,
            "deadline": e.deadline,
        }
        for e in new
        if (e.side, e.n) not in held
    ]
    if rows:
        conn.execute(insert(request_events), rows)
    return len(rows)


def set_folded(conn: Connection, origin_node: str, request_id: str, folded: Folded, at: datetime) -> None:
    t = requests.c
    values: dict[str, Any] = {
        "state": folded.state,
        "deadline": folded.deadline,
        "answer_code": folded.answer_code,
        "answered_at": folded.answered_at,
        "changed_at": at,
    }
    old = conn.execute(select(t.deadline).where(t.origin_node == origin_node, t.id == request_id)).scalar()
    if old is not None and old != folded.deadline:
        values["escalated_at"] = None  # a new deadline is escalated anew when it nears
    conn.execute(update(requests).where(t.origin_node == origin_node, t.id == request_id).values(**values))


def set_escalated(conn: Connection, origin_node: str, request_id: str, at: datetime) -> None:
    t = requests.c
    conn.execute(update(requests).where(t.origin_node == origin_node, t.id == request_id).values(escalated_at=at))
