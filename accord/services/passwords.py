"""A person changes their own password: the current password and a fresh TOTP code again, then the new one.

Why both factors again, from inside a session: a session left open on a shared screen, or a stolen token,
must not be enough to take the account over for good. Wrong factors count towards the lockout exactly as
failed sign-ins do (a session must be no way around it), and a code is used up as at sign-in.

Why the person's other sessions end: a password is changed because it may be known to someone else, who
may be signed in with it. The session the change is made from stays (its holder has just proved both
factors); at the console, with no session, all of them end.
"""

from __future__ import annotations

from accord.errors import Forbidden, Invalid, NotFound
from accord.model.organisation import Actor
from accord.model.person import PasswordChange
from accord.safeguards.signin import is_session_token, new_password_problem, token_digest
from accord.services import sessions
from accord.services.audit import draft, refusals
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import people as people_store
from accord.store import sessions as session_store
from accord.store.people import PersonRow

__all__ = ["CHANGE_FAILED", "change_password", "change_password_local"]

CHANGE_FAILED = "the current password or code is wrong, or the account is locked for a while"


def _validate(body: PasswordChange) -> None:
    problem = new_password_problem(body.new_password, body.current_password)
    if problem is not None:
        raise Invalid.at("/new_password", problem)


def _change(node: Node, row: PersonRow, body: PasswordChange, keep: str | None, request_id: str | None) -> int:
    """Check both factors and set the new password; returns how many other sessions ended."""
    now = node.clock.now()
    if row.attempts.locked(now):  # refused unchecked, as a sign-in
        with node.db.write() as conn:
            people_store.add_refused(conn, row.actor.id)
        raise Forbidden(CHANGE_FAILED)
    factors = sessions.check_factors(node, row, body.current_password, body.totp, now)
    new_hash = node.keys.hash(body.new_password)
    with node.db.write() as conn:
        current = people_store.person_for_sign_in(conn, row.actor.id, lock=True)
        assert current is not None  # people are never deleted
        reason = sessions.failure_reason(current, factors, now)
        if reason is not None:
            sessions.record_failure(
                node, conn, current, reason, "person.password_change", by=row.actor, request_id=request_id
            )
        else:
            assert factors.step is not None
            people_store.accept_sign_in(conn, current.actor.id, factors.step)
            people_store.set_password(conn, current.actor.id, new_hash, must_change=False)
            ended = session_store.end_sessions_of(conn, current.actor.id, now, "password", keep=keep)
            event = draft(
                node,
                row.actor,
                "person.password_change",
                "person",
                current.actor.id,
                request_id=request_id,
                detail={
                    "sessions_ended": ended,
                    "was_required": current.must_change_password,
                    "refused_while_locked": current.attempts.refused,
                },
            )
            audit_store.append(conn, [event])
    if reason is not None:
        raise Forbidden(CHANGE_FAILED)
    return ended


def change_password(
    node: Node, actor: Actor, token: str | None, body: PasswordChange, request_id: str | None = None
) -> int:
    """The person signed in with ``token`` (already authenticated as ``actor``) changes their password."""
    if not token or not is_session_token(token):
        raise NotFound("the request carries an API key, not a person's session: there is no password to change")
    with node.db.read() as conn:
        live = session_store.session_for_auth(conn, token_digest(token))
        row = people_store.person_for_sign_in(conn, actor.id)
    if live is None or row is None:  # pragma: no cover - authentication has just found both
        raise NotFound("no live session")
    with refusals(node, actor, "person.password_change", request_id) as seen:
        seen.object("person", actor.id)
        _validate(body)
    return _change(node, row, body, live.id, request_id)


def change_password_local(node: Node, actor_id: str, body: PasswordChange) -> int:
    """``accord person passwd``: the person at the operator's console, with both factors; every session ends."""
    with node.db.read() as conn:
        row = people_store.person_for_sign_in(conn, actor_id)
    if row is None:
        raise NotFound(f"no person {actor_id}")
    with refusals(node, row.actor, "person.password_change") as seen:
        seen.object("person", actor_id)
        if row.disabled_at is not None:
            raise Forbidden(f"{actor_id} is disabled: an admin must enable them first")
        _validate(body)
    return _change(node, row, body, None, None)
