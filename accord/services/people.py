"""People: enrolment by an organisation's admin, the admin's list, releasing a lockout early, disabling and
enabling, and resetting a password or a TOTP enrolment.

A person is an actor of kind ``user`` whose credentials are a password (argon2id, like API keys) and a
TOTP secret (sealed with the node Sealer: unlike a password it must be read back to check a code, so
it is encrypted, not hashed). Both are shown once, at enrolment or at a reset, and never again.

Why an admin may not disable themselves, nor reset their own password or TOTP. Disabling oneself is the
only way an organisation could lose its last admin seat over the API: whoever disables someone else is an
admin who stays, so no count of admins is needed. Two admin people disabling each other at once could
still empty the seats, so the acting person's own row is locked too (both rows in id order) and must
still be enabled: one of the two wins. The resets skip the proof of both factors that a person's own
password change asks for, so a stolen admin session must not use them on its own account. Another admin,
or the operator at the console (who can always enable anyone again), does these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from accord.errors import Conflict, Invalid, NotFound, Unauthenticated
from accord.ids import ActorId, OrgId
from accord.model.organisation import Actor, ActorKind, Role
from accord.model.person import Person, PersonIn
from accord.safeguards import policy, signin, totp
from accord.safeguards.policy import Action
from accord.services.audit import Refusal, authorize, draft, refusals
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import orgs as org_store
from accord.store import people as store
from accord.store import sessions as session_store
from accord.store.people import PersonRow

__all__ = [
    "Enrolment",
    "PasswordReset",
    "TotpReset",
    "disable",
    "disable_local",
    "enable",
    "enable_local",
    "enrol",
    "enrol_local",
    "list_people",
    "reset_password",
    "reset_password_local",
    "reset_totp",
    "reset_totp_local",
    "totp_record",
    "unlock",
    "unlock_local",
]


@dataclass(frozen=True)
class Enrolment:
    """A new person with their initial password and TOTP provisioning URI, shown this once."""

    person: Person
    password: str
    totp_uri: str


def totp_record(actor_id: str) -> str:
    """The record id a TOTP secret is sealed under: bound to its person, and openable by the node only
    because it is a credential (``Sealer.open_credential``)."""
    return f"cred:totp:{actor_id}"


@dataclass(frozen=True)
class _Prepared:
    actor: Actor
    password: str
    password_hash: str
    sealed: bytes
    uri: str


def _prepare(node: Node, org_id: OrgId, pin: PersonIn, operator: bool) -> _Prepared:
    """Everything slow (argon2) or secret happens here, before the write transaction opens."""
    actor = Actor(
        id=ActorId(node.ids("act")),
        org_id=org_id,
        name=pin.name,
        kind=ActorKind.user,
        roles=frozenset(pin.roles),
        operator=operator,
    )
    password, secret = signin.new_password(), totp.new_secret()
    return _Prepared(
        actor=actor,
        password=password,
        password_hash=node.keys.hash(password),
        sealed=node.sealer.seal(secret.encode(), totp_record(actor.id)),
        uri=totp.provisioning_uri(secret, actor.id, node.settings.totp_issuer),
    )


def _insert(node: Node, p: _Prepared, by: Actor | None, request_id: str | None) -> Enrolment:
    now = node.clock.now()
    with node.db.write() as conn:
        org_store.insert_actor(conn, p.actor, now)
        store.insert_person(conn, p.actor, p.password_hash, p.sealed, now)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    by,
                    "person.create",
                    "person",
                    p.actor.id,
                    request_id=request_id,
                    org_id=p.actor.org_id,
                    detail={"roles": sorted(p.actor.roles)},
                )
            ],
        )
    person = Person(
        actor_id=p.actor.id,
        org_id=p.actor.org_id,
        name=p.actor.name,
        roles=sorted(p.actor.roles),
        created_at=now,
        locked_until=None,
    )
    return Enrolment(person, p.password, p.uri)


def enrol(node: Node, actor: Actor, pin: PersonIn, request_id: str | None = None) -> Enrolment:
    """An organisation admin enrols a person of their own organisation (people's credentials are
    credentials: the same permission as API keys)."""
    authorize(node, actor, Action.credential_manage, request_id)
    if Role.admin in pin.roles and not actor.has(Role.admin):  # pragma: no cover - only admins manage credentials
        raise Invalid.at("/roles", "only an admin may enrol an admin")
    return _insert(node, _prepare(node, actor.org_id, pin, actor.operator), actor, request_id)


def enrol_local(node: Node, org_id: str, pin: PersonIn) -> Enrolment:
    """For the operator at the console (``accord person add``): audited as the node itself."""
    with node.db.read() as conn:
        org = org_store.org_by_id(conn, org_id)
    return _insert(node, _prepare(node, org.id, pin, org.operator), None, None)


def list_people(node: Node, actor: Actor, request_id: str | None = None) -> list[Person]:
    authorize(node, actor, Action.credential_manage, request_id)
    now = node.clock.now()
    with node.db.read() as conn:
        return [row.person(now) for row in store.list_people(conn, actor)]


def _unlock(node: Node, scope: Actor, by: Actor | None, actor_id: str, request_id: str | None) -> Person:
    now = node.clock.now()
    with node.db.write() as conn:
        before = store.unlock(conn, scope, actor_id)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    by,
                    "person.unlock",
                    "person",
                    actor_id,
                    request_id=request_id,
                    org_id=scope.org_id,
                    detail={
                        "was_locked": before.attempts.locked(now),
                        "failures": before.attempts.failures,
                        "refused_while_locked": before.attempts.refused,
                    },
                )
            ],
        )
        return store.get_person(conn, scope, actor_id).person(now)


def unlock(node: Node, actor: Actor, actor_id: str, request_id: str | None = None) -> Person:
    """An organisation admin releases one of their people's lockout before it ends by itself."""
    authorize(node, actor, Action.credential_manage, request_id)
    return _unlock(node, actor, actor, actor_id, request_id)


def _scope_local(node: Node, actor_id: str) -> Actor:
    """At the console the operator acts in the person's own organisation."""
    with node.db.read() as conn:
        row = store.person_for_sign_in(conn, actor_id)
    if row is None:
        raise NotFound(f"no person {actor_id}")
    return row.actor


def unlock_local(node: Node, actor_id: str) -> Person:
    """For the operator at the console (``accord person unlock``)."""
    return _unlock(node, _scope_local(node, actor_id), None, actor_id, None)


# --- disabling, enabling and resets: one admin action on one person, with its audit event -------------

# What an action does to the person's row (held for update); returns the audit event's detail.
_Change = Callable[[Connection, PersonRow, datetime], dict[str, object]]

_NOT_ON_YOURSELF = {
    "person.disable": "you cannot disable yourself: another admin must (so the organisation keeps an admin)",
    "person.password_reset": "you cannot reset your own password: change it with POST /v1/sessions/current/password",
    "person.totp_reset": "you cannot re-enrol your own authenticator: another admin must",
}


def _act(
    node: Node,
    scope: Actor,
    by: Actor | None,
    actor_id: str,
    action: str,
    change: _Change,
    request_id: str | None,
    seen: Refusal | None = None,
) -> Person:
    now = node.clock.now()
    with node.db.write() as conn:
        acting = None
        if by is not None and by.id < actor_id:  # rows locked in id order: no deadlock between two admins
            acting = store.person_for_sign_in(conn, by.id, lock=True)
        before = store.get_person(conn, scope, actor_id, lock=True)  # 404 for another organisation's person
        if seen is not None:
            seen.object("person", actor_id)
        if by is not None and by.id == actor_id and action in _NOT_ON_YOURSELF:
            raise Conflict(_NOT_ON_YOURSELF[action])
        if by is not None and by.id > actor_id:
            acting = store.person_for_sign_in(conn, by.id, lock=True)
        if acting is not None and acting.disabled_at is not None:  # disabled by another admin meanwhile
            raise Unauthenticated("the session has ended or is not known: sign in again")
        detail = change(conn, before, now)
        event = draft(node, by, action, "person", actor_id, request_id=request_id, org_id=scope.org_id, detail=detail)
        audit_store.append(conn, [event])
        return store.get_person(conn, scope, actor_id).person(now)


def _admin(node: Node, actor: Actor, actor_id: str, action: str, change: _Change, request_id: str | None) -> Person:
    """An organisation admin (an operator admin for the operator organisation) acts on one of their people;
    a refusal is audited, naming the person only once they are known to be of the admin's organisation."""
    with refusals(node, actor, action, request_id) as seen:
        policy.require(actor, Action.credential_manage)
        return _act(node, actor, actor, actor_id, action, change, request_id, seen)


def _disable(conn: Connection, before: PersonRow, now: datetime) -> dict[str, object]:
    """Disabled people cannot sign in, and their sessions end in the same transaction."""
    if before.disabled_at is None:
        store.set_disabled(conn, before.actor.id, now)
    ended = session_store.end_sessions_of(conn, before.actor.id, now, "disabled")
    return {"was_disabled": before.disabled_at is not None, "sessions_ended": ended}


def _enable(conn: Connection, before: PersonRow, now: datetime) -> dict[str, object]:
    if before.disabled_at is not None:
        store.set_disabled(conn, before.actor.id, None)
    return {"was_disabled": before.disabled_at is not None}


def disable(node: Node, actor: Actor, actor_id: str, request_id: str | None = None) -> Person:
    return _admin(node, actor, actor_id, "person.disable", _disable, request_id)


def enable(node: Node, actor: Actor, actor_id: str, request_id: str | None = None) -> Person:
    return _admin(node, actor, actor_id, "person.enable", _enable, request_id)


def disable_local(node: Node, actor_id: str) -> Person:
    """``accord person disable``: the operator at the console may disable anyone, even an organisation's
    last admin person, since the console can always enable them again."""
    return _act(node, _scope_local(node, actor_id), None, actor_id, "person.disable", _disable, None)


def enable_local(node: Node, actor_id: str) -> Person:
    return _act(node, _scope_local(node, actor_id), None, actor_id, "person.enable", _enable, None)


@dataclass(frozen=True)
class PasswordReset:
    """A person's new initial password, shown this once; they must change it at their next sign-in."""

    person: Person
    password: str


@dataclass(frozen=True)
class TotpReset:
    """A person's new TOTP enrolment URI, shown this once; the old authenticator's codes no longer work."""

    person: Person
    totp_uri: str


def _reset_password(password_hash: str) -> _Change:
    def change(conn: Connection, before: PersonRow, now: datetime) -> dict[str, object]:
        store.set_password(conn, before.actor.id, password_hash, must_change=True)
        return {"sessions_ended": session_store.end_sessions_of(conn, before.actor.id, now, "password-reset")}

    return change


def _reset_totp(sealed: bytes) -> _Change:
    def change(conn: Connection, before: PersonRow, now: datetime) -> dict[str, object]:
        store.set_totp(conn, before.actor.id, sealed)
        return {"sessions_ended": session_store.end_sessions_of(conn, before.actor.id, now, "totp-reset")}

    return change


def _new_password(node: Node) -> tuple[str, _Change]:
    """Slow (argon2) and secret work, before the write transaction opens."""
    password = signin.new_password()
    return password, _reset_password(node.keys.hash(password))


def _new_totp(node: Node, actor_id: str) -> tuple[str, _Change]:
    secret = totp.new_secret()
    sealed = node.sealer.seal(secret.encode(), totp_record(actor_id))
    return totp.provisioning_uri(secret, actor_id, node.settings.totp_issuer), _reset_totp(sealed)


def reset_password(node: Node, actor: Actor, actor_id: str, request_id: str | None = None) -> PasswordReset:
    """A new random initial password for a person who lost theirs. Their sessions end, and their next
    session can do nothing but choose their own password (``must_change_password``): the admin who saw
    this one must not be able to keep using it."""
    password, change = _new_password(node)
    return PasswordReset(_admin(node, actor, actor_id, "person.password_reset", change, request_id), password)


def reset_password_local(node: Node, actor_id: str) -> PasswordReset:
    password, change = _new_password(node)
    scope = _scope_local(node, actor_id)
    return PasswordReset(_act(node, scope, None, actor_id, "person.password_reset", change, None), password)


def reset_totp(node: Node, actor: Actor, actor_id: str, request_id: str | None = None) -> TotpReset:
    """A new TOTP secret for a person who lost their authenticator: the old one's codes stop working, and
    their sessions end (whoever holds the old device may have used it)."""
    uri, change = _new_totp(node, actor_id)
    return TotpReset(_admin(node, actor, actor_id, "person.totp_reset", change, request_id), uri)


def reset_totp_local(node: Node, actor_id: str) -> TotpReset:
    uri, change = _new_totp(node, actor_id)
    scope = _scope_local(node, actor_id)
    return TotpReset(_act(node, scope, None, actor_id, "person.totp_reset", change, None), uri)
