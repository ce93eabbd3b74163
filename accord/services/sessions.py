"""People's sign-in: password and TOTP code for a session token, lockout, sign-out, and authenticating a
request that carries a session token.

What the audit trail gets, and why it stays bounded (a failed sign-in costs the attacker nothing, so
each one must not cost the node a row for ever):

* a known person: one ``session.failure`` event per failed attempt, until the limit is reached, whose
  attempt is recorded as the one ``session.lockout`` event. Attempts while locked are refused without
  checking anything and only counted on the person's row; the count rides on that person's next
  event. So at most ``signin_max_failures`` events per person per lockout period, however hard anyone
  tries;
* no account at all (an unknown sign-in id, a dead or made-up session token): counted per scope in
  ``auth_failure_windows``; only the first failure of each window is audited (``auth.failures``),
  carrying the count of the window before. At most one event per scope per window, node-wide.

Every refusal gives the same message, whatever failed: a caller learns neither whether the id exists
nor which factor was wrong nor whether the account is locked.
"""

from __future__ import annotations

from dataclasses import dataclass

from accord.errors import NotFound, Unauthenticated
from accord.model.organisation import Actor
from accord.model.session import Session, SignIn
from accord.safeguards import totp
from accord.safeguards.signin import SignInPolicy, is_session_token, new_session_token, token_digest
from accord.services.audit import draft
from accord.services.node import Node
from accord.services.people import totp_record
from accord.store import audit as audit_store
from accord.store import people as people_store
from accord.store import sessions as store

__all__ = ["SIGN_IN_FAILED", "IssuedSession", "authenticate", "sign_in", "sign_out"]

SIGN_IN_FAILED = "sign-in failed: the id, password or code is wrong, or the account is locked for a while"
_SESSION_INVALID = "the session has ended or is not known: sign in again"


@dataclass(frozen=True)
class IssuedSession:
    """A new session and its token, which is returned this once and stored only as a SHA-256."""

    session: Session
    token: str


def _policy(node: Node) -> SignInPolicy:
    return SignInPolicy.from_settings(node.settings)


def _count_unowned(node: Node, scope: str, request_id: str | None) -> None:
    now = node.clock.now()
    with node.db.write() as conn:
        opened, previous = store.count_failure(conn, scope, now, _policy(node).failure_window)
        if opened:
            event = draft(
                node,
                None,
                "auth.failures",
                request_id=request_id,
                outcome="failure",
                detail={"scope": scope, "previous_window_failures": previous},
            )
            audit_store.append(conn, [event])


def sign_in(node: Node, body: SignIn, request_id: str | None = None) -> IssuedSession:
    policy = _policy(node)
    now = node.clock.now()
    with node.db.read() as conn:
        row = people_store.person_for_sign_in(conn, body.actor)
    if row is None:
        node.keys.check_nothing(body.password)
        _count_unowned(node, "sign-in", request_id)
        raise Unauthenticated(SIGN_IN_FAILED)
    if row.attempts.locked(now):  # refused unchecked: a locked account is no oracle for its password
        with node.db.write() as conn:
            people_store.add_refused(conn, row.actor.id)
        raise Unauthenticated(SIGN_IN_FAILED)

    # The slow and secret work happens outside the write transaction (SQLite has one writer).
    password_ok = node.keys.check(body.password, row.password_hash)
    secret = node.sealer.open_credential(row.totp_sealed, totp_record(row.actor.id)).decode()
    step = totp.matching_step(secret, body.totp, now)
    token = new_session_token()
    session_id = node.ids("ses")

    with node.db.write() as conn:
        # Decided again on the row held for update: a concurrent attempt may have locked the account or
        # used this very code since the read above.
        current = people_store.person_for_sign_in(conn, body.actor, lock=True)
        assert current is not None  # people are never deleted
        attempts = current.attempts
        reason = None
        if attempts.locked(now):
            people_store.add_refused(conn, current.actor.id)
            reason = "locked"
        elif not password_ok:
            reason = "password"
        elif step is None:
            reason = "totp"
        elif step <= current.totp_last_step:
            reason = "totp replayed"
        if reason is not None and reason != "locked":
            after, locked = attempts.fail(now, policy)
            people_store.save_attempts(conn, current.actor.id, after)
            detail: dict[str, object] = {
                "reason": reason,
                "failures": policy.max_failures if locked else after.failures,
                "refused_while_locked": attempts.refused,
            }
            if locked:
                assert after.locked_until is not None
                detail["locked_until"] = after.locked_until.isoformat()
            # Who tried is unknown (that is the point): the event names the person tried as its object.
            action = "session.lockout" if locked else "session.failure"
            event = draft(
                node,
                None,
                action,
                "person",
                current.actor.id,
                request_id=request_id,
                outcome="failure",
                detail=detail,
                org_id=current.actor.org_id,
            )
            audit_store.append(conn, [event])
        elif reason is None:
            assert step is not None
            expires_at = now + policy.lifetime
            people_store.accept_sign_in(conn, current.actor.id, step)
            store.insert_session(conn, session_id, token_digest(token), current.actor, now, expires_at)
            detail = {"refused_while_locked": attempts.refused}
            event = draft(
                node, current.actor, "session.create", "session", session_id, request_id=request_id, detail=detail
            )
            audit_store.append(conn, [event])
    if reason is not None:
        raise Unauthenticated(SIGN_IN_FAILED)
    session = Session(
        id=session_id,
        actor_id=current.actor.id,
        org_id=current.actor.org_id,
        created_at=now,
        expires_at=expires_at,
        idle_timeout_seconds=int(policy.idle.total_seconds()),
    )
    return IssuedSession(session, token)


def authenticate(node: Node, token: str, request_id: str | None = None) -> Actor:
    """The person behind a session token, if the session is live; a request keeps it alive."""
    policy = _policy(node)
    with node.db.read() as conn:
        row = store.session_for_auth(conn, token_digest(token))
    now = node.clock.now()
    if row is None or row.ended_at is not None:
        _count_unowned(node, "session", request_id)
        raise Unauthenticated(_SESSION_INVALID)
    reason = None
    if now >= row.expires_at:
        reason = "lifetime"
    elif now >= row.last_seen_at + policy.idle:
        reason = "idle"
    if reason is not None:
        with node.db.write() as conn:
            if store.end_session(conn, row.id, now, reason):
                expired = draft(
                    node,
                    row.actor,
                    "session.expire",
                    "session",
                    row.id,
                    request_id=request_id,
                    detail={"reason": reason},
                )
                audit_store.append(conn, [expired])
        raise Unauthenticated(_SESSION_INVALID)
    if now - row.last_seen_at >= policy.touch_interval:
        with node.db.write() as conn:
            store.touch(conn, row.id, now)
    return row.actor


def sign_out(node: Node, actor: Actor, token: str | None, request_id: str | None = None) -> None:
    """End the session the request came with. ``actor`` was authenticated from ``token`` already."""
    if not token or not is_session_token(token):
        raise NotFound("the request carries an API key, not a session: there is no session to end")
    now = node.clock.now()
    with node.db.write() as conn:
        row = store.session_for_auth(conn, token_digest(token))
        if row is None or row.actor.id != actor.id or not store.end_session(conn, row.id, now, "signout"):
            raise NotFound("no live session")  # pragma: no cover - authentication has just checked it
        audit_store.append(conn, [draft(node, actor, "session.end", "session", row.id, request_id=request_id)])
