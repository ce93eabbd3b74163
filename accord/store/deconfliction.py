"""Deconfliction's records: the PSI runs a node started or answered, their alerts, and the items compared.

Every read is scoped to one organisation (the caller's): another organisation's run or alert is missing.
The items a run compares are the organisation's observables (``store.observables``): its normalised
identifier keys (``email:a@b.example``) or its media keys (``sha256:<hex>``, ``md5:<hex>``, ``pdq:<hex>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from accord.errors import NotFound
from accord.store.schema import deconfliction_alerts, deconfliction_runs, deconfliction_sessions, observables

__all__ = [
    "Alert",
    "Run",
    "Session",
    "count_recent",
    "count_sessions",
    "delete_session",
    "expire_sessions",
    "finish_run",
    "get_run",
    "get_session",
    "has_session",
    "insert_alert",
    "insert_run",
    "list_alerts",
    "list_runs",
    "own_items",
    "put_session",
]

# which observables a set compares (pdq: the media keys that start with ``pdq:``)
_KINDS = {"identifiers": "identifier", "hashes": "media", "pdq": "media"}


@dataclass(frozen=True)
class Run:
    id: str
    org_id: str
    reference: str
    role: str  # "initiator" (this node asked) or "responder" (a peer asked this node)
    peer: str
    peer_org: str
    agreement_id: str
    set: str
    mode: str
    session: str
    state: str  # "running", "done", "failed"
    own_size: int
    peer_size: int | None
    count: int | None
    members: list[str] | None
    detail: str | None
    started_at: datetime
    finished_at: datetime | None
    threshold: int | None = None  # set pdq: the Hamming distance that counts as a near duplicate


@dataclass(frozen=True)
class Session:
    """The responder's half of a session between two messages (``deconfliction_sessions``)."""

    run_id: str
    peer: str
    session: str
    org_id: str
    agreement_id: str
    step: str  # the message expected next: psi-finish, pdq-candidates, pdq-finish
    state: bytes
    expires_at: datetime


@dataclass(frozen=True)
class Alert:
    id: str
    org_id: str
    reference: str
    peer: str
    peer_org: str
    agreement_id: str
    count: int
    at: datetime


def own_items(conn: Connection, org_id: str, kind: str) -> list[str]:
    """The organisation's distinct keys of one set, as search compares them."""
    o = observables
    q = select(o.c.key).where(o.c.org_id == org_id, o.c.kind == _KINDS[kind]).order_by(o.c.key)
    if kind == "pdq":
        q = q.where(o.c.key.startswith("pdq:"))
    return [r.key for r in conn.execute(q)]


def put_session(conn: Connection, session: Session) -> None:
    """Keep (or replace, for the same run) the responder's state until the next message."""
    t = deconfliction_sessions
    conn.execute(delete(t).where(t.c.run_id == session.run_id))
    conn.execute(insert(t).values(**session.__dict__))


def get_session(conn: Connection, peer: str, session: str) -> Session | None:
    t = deconfliction_sessions
    row = conn.execute(select(t).where(t.c.peer == peer, t.c.session == session)).first()
    if row is None:
        return None
    return Session(**{c: getattr(row, c) for c in Session.__dataclass_fields__} | {"state": bytes(row.state)})


def delete_session(conn: Connection, run_id: str) -> bool:
    """Forget a session (it ended or was refused); False when it was already gone (taken meanwhile)."""
    t = deconfliction_sessions
    return conn.execute(delete(t).where(t.c.run_id == run_id)).rowcount == 1


def count_sessions(conn: Connection, peer: str, now: datetime) -> int:
    """How many sessions from ``peer`` are open (not expired) at ``now``."""
    t = deconfliction_sessions
    q = select(func.count()).where(t.c.peer == peer, t.c.expires_at > now)
    return int(conn.execute(q).scalar_one())


def expire_sessions(conn: Connection, now: datetime) -> list[str]:
    """Delete every session expired at ``now``; the ids of their runs (to be marked failed)."""
    t = deconfliction_sessions
    runs = [r.run_id for r in conn.execute(select(t.c.run_id).where(t.c.expires_at <= now))]
    if runs:
        conn.execute(delete(t).where(t.c.run_id.in_(runs)))
    return runs


def insert_run(conn: Connection, run: Run) -> None:
    conn.execute(insert(deconfliction_runs).values(**run.__dict__))


def finish_run(
    conn: Connection,
    run_id: str,
    *,
    state: str,
    at: datetime,
    count: int | None = None,
    peer_size: int | None = None,
    members: list[str] | None = None,
    detail: str | None = None,
) -> None:
    t = deconfliction_runs
    values: dict[str, Any] = {"state": state, "finished_at": at, "detail": detail and detail[:300]}
    if count is not None:
        values |= {"count": count, "peer_size": peer_size, "members": members}
    conn.execute(update(t).where(t.c.id == run_id).values(**values))


def count_recent(conn: Connection, peer: str, role: str, since: datetime) -> int:
    """How many runs of this role with ``peer`` started at or after ``since`` (the rate limit's count)."""
    t = deconfliction_runs
    q = select(func.count()).where(t.c.peer == peer, t.c.role == role, t.c.started_at >= since)
    return int(conn.execute(q).scalar_one())


def has_session(conn: Connection, peer: str, role: str, session: str) -> bool:
    """Whether a run of this role with ``peer`` already used this PSI session id (a session runs once)."""
    t = deconfliction_runs
    q = select(t.c.id).where(t.c.peer == peer, t.c.role == role, t.c.session == session)
    return conn.execute(q).first() is not None


def _run(r: Any) -> Run:
    return Run(**{c: getattr(r, c) for c in Run.__dataclass_fields__})


def get_run(conn: Connection, org_id: str, run_id: str) -> Run:
    t = deconfliction_runs
    row = conn.execute(select(t).where(t.c.id == run_id, t.c.org_id == org_id)).first()
    if row is None:
        raise NotFound(f"no deconfliction run {run_id}")
    return _run(row)


def list_runs(conn: Connection, org_id: str, limit: int = 500) -> list[Run]:
    """The organisation's runs, newest first."""
    t = deconfliction_runs
    q = select(t).where(t.c.org_id == org_id).order_by(t.c.started_at.desc(), t.c.id.desc()).limit(limit)
    return [_run(r) for r in conn.execute(q)]


def insert_alert(conn: Connection, alert: Alert) -> None:
    conn.execute(insert(deconfliction_alerts).values(**alert.__dict__))


def list_alerts(conn: Connection, org_id: str, limit: int = 500) -> list[Alert]:
    t = deconfliction_alerts
    q = select(t).where(t.c.org_id == org_id).order_by(t.c.at.desc(), t.c.id.desc()).limit(limit)
    return [Alert(**{c: getattr(r, c) for c in Alert.__dataclass_fields__}) for r in conn.execute(q)]
