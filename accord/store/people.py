"""People: their password hash, sealed TOTP secret and sign-in attempts. Lookups for sign-in are by id
and unscoped (nobody is signed in yet); everything an admin reads or changes is scoped to their org."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from accord.errors import NotFound
from accord.model.organisation import Actor
from accord.model.person import Person
from accord.safeguards.signin import Attempts
from accord.store.orgs import actor_of
from accord.store.schema import actors, organisations, people

__all__ = [
    "PersonRow",
    "accept_sign_in",
    "add_refused",
    "get_person",
    "insert_person",
    "list_people",
    "person_for_sign_in",
    "save_attempts",
    "set_disabled",
    "set_password",
    "set_totp",
    "unlock",
]


@dataclass(frozen=True)
class PersonRow:
    """What sign-in needs: the actor, the credentials as stored, and the attempts so far."""

    actor: Actor
    created_at: datetime
    password_hash: str
    totp_sealed: bytes
    totp_last_step: int
    attempts: Attempts
    disabled_at: datetime | None = None
    must_change_password: bool = False

    def person(self, now: datetime) -> Person:
        return Person(
            actor_id=self.actor.id,
            org_id=self.actor.org_id,
            name=self.actor.name,
            roles=sorted(self.actor.roles),
            created_at=self.created_at,
            locked_until=self.attempts.locked_until if self.attempts.locked(now) else None,
            disabled_at=self.disabled_at,
            must_change_password=self.must_change_password,
        )


def insert_person(conn: Connection, actor: Actor, password_hash: str, totp_sealed: bytes, created_at: datetime) -> None:
    conn.execute(
        insert(people).values(
            actor_id=actor.id,
            org_id=actor.org_id,
            password_hash=password_hash,
            totp_sealed=totp_sealed,
            totp_last_step=0,
            failures=0,
            refused_while_locked=0,
            created_at=created_at,
        )
    )


def _query() -> Any:
    return (
        select(
            people,
            actors.c.name,
            actors.c.kind,
            actors.c.roles,
            organisations.c.operator,
        )
        .join(actors, actors.c.id == people.c.actor_id)
        .join(organisations, organisations.c.id == people.c.org_id)
    )


def _row(row: Any) -> PersonRow:
    return PersonRow(
        actor=actor_of(row, row.actor_id),
        created_at=row.created_at,
        password_hash=row.password_hash,
        totp_sealed=bytes(row.totp_sealed),
        totp_last_step=row.totp_last_step,
        attempts=Attempts(row.failures, row.failures_since, row.locked_until, row.refused_while_locked),
        disabled_at=row.disabled_at,
        must_change_password=bool(row.must_change_password),
    )


def person_for_sign_in(conn: Connection, actor_id: str, *, lock: bool = False) -> PersonRow | None:
    """Unscoped, for sign-in only. ``lock`` holds the row (PostgreSQL ``FOR UPDATE``; SQLite's one writer
    serialises anyway) so that concurrent failures are all counted and a code is accepted once."""
    q = _query().where(people.c.actor_id == actor_id)
    if lock:
        q = q.with_for_update(of=people)
    row = conn.execute(q).first()
    return None if row is None else _row(row)


def save_attempts(conn: Connection, actor_id: str, attempts: Attempts) -> None:
    conn.execute(
        update(people)
        .where(people.c.actor_id == actor_id)
        .values(
            failures=attempts.failures,
            failures_since=attempts.window_start,
            locked_until=attempts.locked_until,
            refused_while_locked=attempts.refused,
        )
    )


def add_refused(conn: Connection, actor_id: str) -> None:
    """One more attempt refused while locked: a counter, not an audit event."""
    conn.execute(
        update(people)
        .where(people.c.actor_id == actor_id)
        .values(refused_while_locked=people.c.refused_while_locked + 1)
    )


def accept_sign_in(conn: Connection, actor_id: str, step: int) -> None:
    """Record the accepted code's step (older and equal steps are refused from now on), clear the attempts."""
    conn.execute(
        update(people)
        .where(people.c.actor_id == actor_id)
        .values(totp_last_step=step, failures=0, failures_since=None, locked_until=None, refused_while_locked=0)
    )


def list_people(conn: Connection, actor: Actor) -> list[PersonRow]:
    q = _query().where(people.c.org_id == actor.org_id).order_by(people.c.actor_id)
    return [_row(r) for r in conn.execute(q)]


def get_person(conn: Connection, actor: Actor, actor_id: str, *, lock: bool = False) -> PersonRow:
    """One of the organisation's people (another organisation's reads as missing); ``lock`` as in
    ``person_for_sign_in``."""
    q = _query().where(people.c.actor_id == actor_id, people.c.org_id == actor.org_id)
    if lock:
        q = q.with_for_update(of=people)
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no person {actor_id}")
    return _row(row)


def unlock(conn: Connection, actor: Actor, actor_id: str) -> PersonRow:
    """An admin releases a lockout early and clears the failures counted so far; returns the row as it
    was, whose counts the caller records in the audit trail."""
    before = get_person(conn, actor, actor_id)  # 404 for another organisation's person
    conn.execute(
        update(people)
        .where(people.c.actor_id == actor_id, people.c.org_id == actor.org_id)
        .values(failures=0, failures_since=None, locked_until=None, refused_while_locked=0)
    )
    return before


def set_disabled(conn: Connection, actor_id: str, at: datetime | None) -> None:
    """Disable (``at``) or enable (None) a person whose row the caller has read in its scope."""
    conn.execute(update(people).where(people.c.actor_id == actor_id).values(disabled_at=at))


def set_password(conn: Connection, actor_id: str, password_hash: str, *, must_change: bool) -> None:
    conn.execute(
        update(people)
        .where(people.c.actor_id == actor_id)
        .values(password_hash=password_hash, must_change_password=must_change)
    )


def set_totp(conn: Connection, actor_id: str, totp_sealed: bytes) -> None:
    """A new TOTP secret. The last accepted step stays: steps only move forward, whatever the secret."""
    conn.execute(update(people).where(people.c.actor_id == actor_id).values(totp_sealed=totp_sealed))
