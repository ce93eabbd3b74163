"""Organisations and credentials: node set-up, organisation admin, and authentication."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from accord.errors import Conflict, Invalid, Unauthenticated
from accord.ids import ActorId, OrgId
from accord.model.organisation import Actor, Credential, CredentialIn, Organisation, OrganisationIn, Role
from accord.safeguards import apikeys, signin
from accord.safeguards.policy import Action
from accord.services import sessions
from accord.services.audit import authorize, draft, record
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import migrate
from accord.store import orgs as store

__all__ = ["IssuedKey", "authenticate", "bootstrap", "create_credential", "create_org", "revoke_credential"]


@dataclass(frozen=True)
class IssuedKey:
    """A new credential and its secret token, which is shown this once and never again."""

    credential: Credential
    token: str


def _issue(node: Node, conn: Connection, org_id: OrgId, cin: CredentialIn, operator: bool) -> IssuedKey:
    now = node.clock.now()
    actor = Actor(
        id=ActorId(node.ids("act")),
        org_id=org_id,
        name=cin.name,
        kind=cin.kind,
        roles=frozenset(cin.roles),
        operator=operator,
    )
    key_id, secret = node.ids("key"), apikeys.new_secret()
    store.insert_actor(conn, actor, now)
    store.insert_credential(conn, key_id, actor, node.keys.hash(secret), now, cin.expires_at)
    cred = Credential(
        id=key_id,
        actor_id=actor.id,
        org_id=org_id,
        name=cin.name,
        roles=sorted(cin.roles),
        created_at=now,
        expires_at=cin.expires_at,
        revoked_at=None,
    )
    return IssuedKey(cred, apikeys.format_key(key_id, secret))


def _new_org(node: Node, oin: OrganisationIn, operator: bool) -> Organisation:
    node.vocab.jurisdictions.check(oin.jurisdiction, "/jurisdiction")
    return Organisation(
        id=OrgId(node.ids("org")),
        name=oin.name,
        kind=oin.kind,
        jurisdiction=oin.jurisdiction,
        operator=operator,
        created_at=node.clock.now(),
    )


def require_current_schema(node: Node) -> None:
    """Refuse to work on a database whose schema is older than this code's (after installing a new version,
    before ``accord upgrade``): otherwise the first query naming a new column fails with a database error
    that does not say what to do. A database that was never initialised passes (``accord init`` migrates)."""
    current, head = migrate.current_revision(node.db), migrate.head_revision()
    if current is not None and current != head:
        raise Conflict(
            f"the database is at schema revision {current} and this version of Accord needs {head}: "
            "back the database up, then run `accord upgrade`"
        )


def upgrade(node: Node) -> tuple[str | None, str | None]:
    """Migrate the schema to this code's newest revision (``accord upgrade``); the revisions before and
    after. A change on an initialised node is audited as the operator organisation's ``node.upgrade``."""
    before = migrate.current_revision(node.db)
    migrate.upgrade(node.db)
    after = migrate.current_revision(node.db)
    if before != after:
        with node.db.write() as conn:
            operator = store.operator_org_id(conn)
            if operator is not None:
                detail: dict[str, object] = {"from": before, "to": after}
                audit_store.append(
                    conn, [draft(node, None, "node.upgrade", "node", None, org_id=operator, detail=detail)]
                )
    return before, after


def bootstrap(node: Node, oin: OrganisationIn, admin_name: str = "node admin") -> tuple[Organisation, IssuedKey]:
    """Migrate the schema and create the operator organisation with its first admin key (``accord init``)."""
    migrate.upgrade(node.db)
    org = _new_org(node, oin, operator=True)
    with node.db.write() as conn:
        if store.any_org(conn):
            raise Conflict("this node is already initialised")
        store.insert_org(conn, org)
        issued = _issue(node, conn, org.id, CredentialIn(name=admin_name, kind="user", roles=[Role.admin]), True)
        audit_store.append(
            conn,
            [
                draft(node, None, "node.init", "organisation", org.id, org_id=org.id),
                draft(
                    node,
                    None,
                    "credential.create",
                    "credential",
                    issued.credential.id,
                    org_id=org.id,
                    detail={"roles": ["admin"]},
                ),
            ],
        )
    return org, issued


def create_org(
    node: Node, actor: Actor, oin: OrganisationIn, admin: CredentialIn | None = None, request_id: str | None = None
) -> tuple[Organisation, IssuedKey | None]:
    """Operator admins add organisations hosted on this node, optionally with the new organisation's first key."""
    authorize(node, actor, Action.org_create, request_id)
    org = _new_org(node, oin, operator=False)
    with node.db.write() as conn:
        store.insert_org(conn, org)
        issued = _issue(node, conn, org.id, admin, False) if admin else None
        events = [draft(node, actor, "org.create", "organisation", org.id, request_id=request_id)]
        if issued is not None and admin is not None:
            events.append(
                draft(
                    node,
                    actor,
                    "credential.create",
                    "credential",
                    issued.credential.id,
                    request_id=request_id,
                    detail={"org_id": org.id, "roles": sorted(admin.roles)},
                )
            )
        audit_store.append(conn, events)
    return org, issued


def create_org_local(node: Node, oin: OrganisationIn) -> Organisation:
    """For the operator at the console (``accord org add``): no API actor, audited as the node itself."""
    org = _new_org(node, oin, operator=False)
    with node.db.write() as conn:
        store.insert_org(conn, org)
        audit_store.append(conn, [draft(node, None, "org.create", "organisation", org.id, org_id=org.id)])
    return org


def create_credential(node: Node, actor: Actor, cin: CredentialIn, request_id: str | None = None) -> IssuedKey:
    """An organisation admin issues a key for their own organisation only."""
    authorize(node, actor, Action.credential_manage, request_id)
    if Role.admin in cin.roles and not actor.has(Role.admin):  # pragma: no cover - only admins manage keys
        raise Invalid.at("/roles", "only an admin may issue an admin key")
    with node.db.write() as conn:
        issued = _issue(node, conn, actor.org_id, cin, actor.operator)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "credential.create",
                    "credential",
                    issued.credential.id,
                    request_id=request_id,
                    detail={"roles": sorted(cin.roles)},
                )
            ],
        )
    return issued


def create_credential_local(node: Node, org_id: str, cin: CredentialIn) -> IssuedKey:
    """For the operator at the console (``accord key create``)."""
    with node.db.write() as conn:
        org = store.org_by_id(conn, org_id)
        issued = _issue(node, conn, org.id, cin, org.operator)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    None,
                    "credential.create",
                    "credential",
                    issued.credential.id,
                    org_id=org.id,
                    detail={"roles": sorted(cin.roles)},
                )
            ],
        )
    return issued


def list_credentials(node: Node, actor: Actor, request_id: str | None = None) -> list[Credential]:
    authorize(node, actor, Action.credential_manage, request_id)
    with node.db.read() as conn:
        return list(store.list_credentials(conn, actor))


def revoke_credential(node: Node, actor: Actor, key_id: str, request_id: str | None = None) -> Credential:
    authorize(node, actor, Action.credential_manage, request_id)
    with node.db.write() as conn:
        cred = store.revoke_credential(conn, actor, key_id, node.clock.now())
        audit_store.append(conn, [draft(node, actor, "credential.revoke", "credential", key_id, request_id=request_id)])
    node.keys.forget(key_id)
    return cred


def list_orgs(node: Node, actor: Actor, request_id: str | None = None) -> list[Organisation]:
    authorize(node, actor, Action.org_read, request_id)
    with node.db.read() as conn:
        return store.list_orgs(conn, actor)


def get_org(node: Node, actor: Actor, org_id: str, request_id: str | None = None) -> Organisation:
    authorize(node, actor, Action.org_read, request_id)
    with node.db.read() as conn:
        return store.get_org(conn, actor, org_id)


def authenticate(node: Node, token: str | None, request_id: str | None = None) -> Actor:
    """The actor behind a bearer token: an API key, or a person's session token (``accord_ses_...``).
    Every failure of a key says the same thing, so keys cannot be probed."""
    failure = Unauthenticated("a valid, unexpired API key is required (Authorization: Bearer accord_...)")
    if not token:
        raise failure
    if signin.is_session_token(token):  # a person signed in: same actor model, same organisation scoping
        return sessions.authenticate(node, token, request_id)
    parsed = apikeys.parse_key(token)
    if parsed is None:
        raise failure
    with node.db.read() as conn:
        row = store.credential_for_auth(conn, parsed.key_id)
    now = node.clock.now()
    reason = None
    if row is None:
        reason = "unknown key"
    elif row.revoked_at is not None:
        reason = "revoked key"
    elif row.expires_at is not None and row.expires_at <= now:
        reason = "expired key"
    elif not node.keys.verify(parsed.key_id, parsed.secret, row.secret_hash):
        reason = "wrong secret"
    if reason is not None:
        record(
            node,
            draft(
                node,
                None,
                "auth.failure",
                "credential",
                parsed.key_id if row else None,
                request_id=request_id,
                outcome="failure",
                detail={"reason": reason},
                org_id=row.actor.org_id if row else None,
            ),
        )
        raise failure
    assert row is not None
    return row.actor
