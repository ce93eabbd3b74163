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
  carrying the count of the window before. At most one event per scope per window, node-wide;
* a disabled person: the same window, per person (scope ``disabled:<id>``), as a ``session.failure``;
* an address over its per-address limit (``accord.safeguards.ratelimit``, in memory): the limiter says
  which refusal is an address's first in its window, and only those are counted, in scope
  ``sign-in rate``; the rest cost nothing but a dictionary lookup.

Every refusal gives the same message, whatever failed: a caller learns neither whether the id exists
nor which factor was wrong nor whether the account is locked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from accord.errors import NotFound, RateLimited, Unauthenticated
from accord.model.organisation import Actor
from accord.model.session import Session, SignIn
from accord.safeguards import totp
from accord.safeguards.signin import Attempts, SignInPolicy, is_session_token, new_session_token, token_digest
from accord.services.audit import draft
from accord.services.node import Node
from accord.services.people import totp_record
from accord.store import audit as audit_store
from accord.store import people as people_store
from accord.store import sessions as store
from accord.store.people import PersonRow

__all__ = [
    "SIGN_IN_FAILED",
    "Factors",
    "IssuedSession",
    "authenticate",
    "check_factors",
    "failure_reason",
    "record_failure",
    "sign_in",
    "sign_out",
]

SIGN_IN_FAILED = "sign-in failed: the id, password or code is wrong, or the account is locked for a while"
_SESSION_INVALID = "the session has ended or is not known: sign in again"
_RATE_LIMITED = "too many sign-in attempts from this address: wait and try again"


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


@dataclass(frozen=True)
class Factors:
    """A password and a code checked against a person's row, outside any write transaction (argon2 is
    slow, and SQLite has one writer); ``step`` is the matched code's time step, None for a wrong code."""

    password_ok: bool
    step: int | None


def check_factors(node: Node, row: PersonRow, password: str, code: str, now: datetime) -> Factors:
    password_ok = node.keys.check(password, row.password_hash)
    secret = node.sealer.open_credential(row.totp_sealed, totp_record(row.actor.id)).decode()
    return Factors(password_ok, totp.matching_step(secret, code, now))


def failure_reason(current: PersonRow, factors: Factors, now: datetime) -> str | None:
    """Decided on the row held for update: a concurrent attempt may have locked the account, or used
    this very code, since the factors were checked. "locked" is refused unchecked and not counted."""
    if current.attempts.locked(now):
        return "locked"
    if not factors.password_ok:
        return "password"
    if factors.step is None:
        return "totp"
    if factors.step <= current.totp_last_step:
        return "totp replayed"
    return None


def record_failure(
    node: Node,
    conn: Connection,
    current: PersonRow,
    reason: str,
    action: str,
    *,
    by: Actor | None,
    request_id: str | None,
) -> None:
    """Count a failed proof of both factors on the person's row and audit it as ``action``, or as
    ``session.lockout`` when it is the failure that locks the account. A refusal while locked is only
    counted on the row (bounded audit: see the module docstring)."""
    now = node.clock.now()
    attempts: Attempts = current.attempts
    if reason == "locked":
        people_store.add_refused(conn, current.actor.id)
        return
    policy = _policy(node)
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
    event = draft(
        node,
        by,
        "session.lockout" if locked else action,
        "person",
        current.actor.id,
        request_id=request_id,
        outcome="failure",
        detail=detail,
        org_id=current.actor.org_id,
    )
    audit_store.append(conn, [event])


def _limit(node: Node, address: str | None, request_id: str | None) -> None:
    """The per-address limit, before anything else is looked at (a refusal costs no argon2 and no read).
    Audited like failures that belong to no account: the first refused address of a window is recorded,
    with the count of refused addresses in the window before, so a flood adds no audit rows."""
    if address is None:
        return
    verdict = node.signin_limiter.hit(address, node.clock.now())
    if verdict.allowed:
        return
    if verdict.first_refusal:
        _count_unowned(node, "sign-in rate", request_id)
    raise RateLimited(_RATE_LIMITED, verdict.retry_after)


def _refuse_disabled(node: Node, row: PersonRow, request_id: str | None) -> None:
    """A disabled person is refused without checking anything. Audited once per failure window per person
    (the event carries the count of the window before), so trying a disabled id adds no rows at will."""
    now = node.clock.now()
    with node.db.write() as conn:
        opened, previous = store.count_failure(conn, f"disabled:{row.actor.id}", now, _policy(node).failure_window)
        if opened:
            event = draft(
                node,
                None,
                "session.failure",
                "person",
                row.actor.id,
                request_id=request_id,
                outcome="failure",
                detail={"reason": "disabled", "previous_window_refusals": previous},
                org_id=row.actor.org_id,
            )
            audit_store.append(conn, [event])


def sign_in(node: Node, body: SignIn, request_id: str | None = None, address: str | None = None) -> IssuedSession:
    """``address`` is the client's network address (the API passes it) for the per-address rate limit."""
    _limit(node, address, request_id)
    policy = _policy(node)
    now = node.clock.now()
    with node.db.read() as conn:
        row = people_store.person_for_sign_in(conn, body.actor)
    if row is None:
        node.keys.check_nothing(body.password)
        _count_unowned(node, "sign-in", request_id)
        raise Unauthenticated(SIGN_IN_FAILED)
    if row.disabled_at is not None:  # refused unchecked, as a locked account
        _refuse_disabled(node, row, request_id)
        raise Unauthenticated(SIGN_IN_FAILED)
    if row.attempts.locked(now):  # refused unchecked: a locked account is no oracle for its password
        with node.db.write() as conn:
            people_store.add_refused(conn, row.actor.id)
        raise Unauthenticated(SIGN_IN_FAILED)

    factors = check_factors(node, row, body.password, body.totp, now)
    token = new_session_token()
    session_id = node.ids("ses")

    disabled_since_read = False
    with node.db.write() as conn:
        current = people_store.person_for_sign_in(conn, body.actor, lock=True)
        assert current is not None  # people are never deleted
        if current.disabled_at is not None:  # disabled since the read above: no session, no count
            disabled_since_read = True
            reason: str | None = "disabled"
        else:
            reason = failure_reason(current, factors, now)
        if reason is not None and reason != "disabled":
            record_failure(node, conn, current, reason, "session.failure", by=None, request_id=request_id)
        elif reason is None:
            assert factors.step is not None
            expires_at = now + policy.lifetime
            people_store.accept_sign_in(conn, current.actor.id, factors.step)
            store.insert_session(conn, session_id, token_digest(token), current.actor, now, expires_at)
            detail: dict[str, object] = {"refused_while_locked": current.attempts.refused}
            if current.must_change_password:
                detail["password_change_required"] = True
            event = draft(
                node, current.actor, "session.create", "session", session_id, request_id=request_id, detail=detail
            )
            audit_store.append(conn, [event])
    if disabled_since_read:
        _refuse_disabled(node, current, request_id)
    if reason is not None:
        raise Unauthenticated(SIGN_IN_FAILED)
    session = Session(
        id=session_id,
        actor_id=current.actor.id,
        org_id=current.actor.org_id,
        created_at=now,
        expires_at=expires_at,
        idle_timeout_seconds=int(policy.idle.total_seconds()),
        password_change_required=current.must_change_password,
    )
    return IssuedSession(session, token)


def authenticate(node: Node, token: str, request_id: str | None = None) -> Actor:
    """The person behind a session token, if the session is live; a request keeps it alive.

    While an admin's reset awaits the person's own new password, the session acts with no roles: it can
    change the password (``accord.services.passwords``) and sign out, and every other action is refused
    by the role table like any action the roles do not allow."""
    policy = _policy(node)
    with node.db.read() as conn:
        row = store.session_for_auth(conn, token_digest(token))
    now = node.clock.now()
    # A disabled person's sessions were ended when they were disabled; checked again all the same.
    if row is None or row.ended_at is not None or row.disabled:
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
    if row.must_change_password:
        return row.actor.model_copy(update={"roles": frozenset()})
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
