"""Sessions, found by the SHA-256 of their token, and the counters of failures that belong to no account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from accord.model.organisation import Actor
from accord.store.orgs import actor_of
from accord.store.schema import actors, auth_failure_windows, organisations, people, sessions

__all__ = [
    "SessionRow",
    "count_failure",
    "end_session",
    "end_sessions_of",
    "insert_session",
    "session_for_auth",
    "touch",
]


@dataclass(frozen=True)
class SessionRow:
    id: str
    actor: Actor
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    disabled: bool = False
    must_change_password: bool = False


def insert_session(
    conn: Connection, session_id: str, token_hash: str, actor: Actor, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        insert(sessions).values(
            id=session_id,
            token_hash=token_hash,
            actor_id=actor.id,
            org_id=actor.org_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


def session_for_auth(conn: Connection, token_hash: str) -> SessionRow | None:
    """The session and the actor behind it as the actor is *now*: roles changed since sign-in apply."""
    q = (
        select(
            sessions.c.id,
            sessions.c.created_at,
            sessions.c.last_seen_at,
            sessions.c.expires_at,
            sessions.c.ended_at,
            sessions.c.actor_id,
            sessions.c.org_id,
            actors.c.name,
            actors.c.kind,
            actors.c.roles,
            organisations.c.operator,
            people.c.disabled_at,
            people.c.must_change_password,
        )
        .join(actors, actors.c.id == sessions.c.actor_id)
        .join(organisations, organisations.c.id == sessions.c.org_id)
        .join(people, people.c.actor_id == sessions.c.actor_id)
        .where(sessions.c.token_hash == token_hash)
    )
    row: Any = conn.execute(q).first()
    if row is None:
        return None
    actor = actor_of(row, row.actor_id)
    return SessionRow(
        row.id,
        actor,
        row.created_at,
        row.last_seen_at,
        row.expires_at,
        row.ended_at,
        disabled=row.disabled_at is not None,
        must_change_password=bool(row.must_change_password),
    )


def touch(conn: Connection, session_id: str, at: datetime) -> None:
    conn.execute(
        update(sessions).where(sessions.c.id == session_id, sessions.c.ended_at.is_(None)).values(last_seen_at=at)
    )


def end_session(conn: Connection, session_id: str, at: datetime, reason: str) -> bool:
    """End a live session; False when it had already ended (so each end is audited once)."""
    result = conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.ended_at.is_(None))
        .values(ended_at=at, end_reason=reason)
    )
    return bool(result.rowcount == 1)


def end_sessions_of(conn: Connection, actor_id: str, at: datetime, reason: str, keep: str | None = None) -> int:
    """End every live session of a person (but ``keep``, the one asking); returns how many ended."""
    q = update(sessions).where(sessions.c.actor_id == actor_id, sessions.c.ended_at.is_(None))
    if keep is not None:
        q = q.where(sessions.c.id != keep)
    return int(conn.execute(q.values(ended_at=at, end_reason=reason)).rowcount)


def count_failure(conn: Connection, scope: str, now: datetime, window: timedelta) -> tuple[bool, int]:
    """Count one failure in ``scope``. Returns (this failure opens a new window, failures in the window it
    closes): the caller audits only the first failure of each window, carrying the previous count."""
    t = auth_failure_windows
    ins = pg_insert(t) if conn.dialect.name == "postgresql" else sqlite_insert(t)
    conn.execute(ins.values(scope=scope, window_start=now, failures=0).on_conflict_do_nothing(index_elements=["scope"]))
    row = conn.execute(select(t.c.window_start, t.c.failures).where(t.c.scope == scope).with_for_update()).one()
    if row.failures == 0 or now >= row.window_start + window:
        conn.execute(update(t).where(t.c.scope == scope).values(window_start=now, failures=1))
        return True, int(row.failures)
    conn.execute(update(t).where(t.c.scope == scope).values(failures=t.c.failures + 1))
    return False, 0
