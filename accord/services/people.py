"""People: enrolment by an organisation's admin, the admin's list, and releasing a lockout early.

A person is an actor of kind ``user`` whose credentials are a password (argon2id, like API keys) and a
TOTP secret (sealed with the node Sealer: unlike a password it must be read back to check a code, so
it is encrypted, not hashed). Both are shown once, at enrolment, and never again.
"""

from __future__ import annotations

from dataclasses import dataclass

from accord.errors import Invalid, NotFound
from accord.ids import ActorId, OrgId
from accord.model.organisation import Actor, ActorKind, Role
from accord.model.person import Person, PersonIn
from accord.safeguards import signin, totp
from accord.safeguards.policy import Action
from accord.services.audit import authorize, draft
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import orgs as org_store
from accord.store import people as store

__all__ = ["Enrolment", "enrol", "enrol_local", "list_people", "totp_record", "unlock", "unlock_local"]


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


def unlock_local(node: Node, actor_id: str) -> Person:
    """For the operator at the console (``accord person unlock``)."""
    with node.db.read() as conn:
        row = store.person_for_sign_in(conn, actor_id)
    if row is None:
        raise NotFound(f"no person {actor_id}")
    return _unlock(node, row.actor, None, actor_id, None)
