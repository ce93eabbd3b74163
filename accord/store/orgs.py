"""Organisations, actors and credentials. Credential lookups by id serve authentication only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from accord.errors import NotFound
from accord.ids import ActorId, OrgId
from accord.model.organisation import Actor, ActorKind, Credential, Organisation, OrgKind, Role
from accord.store.schema import actors, credentials, organisations

__all__ = [
    "CredentialRow",
    "actor_by_id",
    "actor_of",
    "credential_for_auth",
    "get_org",
    "insert_actor",
    "insert_credential",
    "insert_org",
    "list_credentials",
    "list_orgs",
    "operator_org_id",
    "revoke_credential",
]


def _org(row: Any) -> Organisation:
    return Organisation(
        id=row.id,
        name=row.name,
        kind=OrgKind(row.kind),
        jurisdiction=row.jurisdiction,
        operator=row.operator,
        created_at=row.created_at,
    )


def insert_org(conn: Connection, org: Organisation) -> None:
    conn.execute(insert(organisations).values(**org.model_dump()))


def any_org(conn: Connection) -> bool:
    return conn.execute(select(organisations.c.id).limit(1)).first() is not None


def get_org(conn: Connection, actor: Actor, org_id: str) -> Organisation:
    """An actor sees its own organisation; the operator's admins see all of them."""
    q = select(organisations).where(organisations.c.id == org_id)
    if not actor.operator:
        q = q.where(organisations.c.id == actor.org_id)
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no organisation {org_id}")
    return _org(row)


def list_orgs(conn: Connection, actor: Actor) -> list[Organisation]:
    q = select(organisations).order_by(organisations.c.id)
    if not actor.operator:
        q = q.where(organisations.c.id == actor.org_id)
    return [_org(r) for r in conn.execute(q)]


def operator_org_id(conn: Connection) -> OrgId | None:
    """The organisation that runs the node: node-level events (a custody key rotation) are its own, so its
    auditors see them. None only before ``accord init``."""
    row = conn.execute(select(organisations.c.id).where(organisations.c.operator.is_(True)).limit(1)).first()
    return None if row is None else OrgId(row.id)


def org_exists(conn: Connection, org_id: str) -> bool:
    return conn.execute(select(organisations.c.id).where(organisations.c.id == org_id)).first() is not None


def insert_actor(conn: Connection, actor: Actor, created_at: datetime) -> None:
    conn.execute(
        insert(actors).values(
            id=actor.id,
            org_id=actor.org_id,
            name=actor.name,
            kind=actor.kind.value,
            roles=sorted(r.value for r in actor.roles),
            created_at=created_at,
        )
    )


def insert_credential(
    conn: Connection, key_id: str, actor: Actor, secret_hash: str, created_at: datetime, expires_at: datetime | None
) -> None:
    conn.execute(
        insert(credentials).values(
            id=key_id,
            actor_id=actor.id,
            org_id=actor.org_id,
            secret_hash=secret_hash,
            created_at=created_at,
            expires_at=expires_at,
        )
    )


class CredentialRow:
    """What authentication needs: the stored hash, validity and the actor it stands for."""

    def __init__(self, row: Any) -> None:
        self.key_id: str = row.id
        self.secret_hash: str = row.secret_hash
        self.expires_at: datetime | None = row.expires_at
        self.revoked_at: datetime | None = row.revoked_at
        self.actor = actor_of(row, row.actor_id)


def credential_for_auth(conn: Connection, key_id: str) -> CredentialRow | None:
    q = (
        select(
            credentials.c.id,
            credentials.c.secret_hash,
            credentials.c.expires_at,
            credentials.c.revoked_at,
            credentials.c.actor_id,
            credentials.c.org_id,
            actors.c.name,
            actors.c.kind,
            actors.c.roles,
            organisations.c.operator,
        )
        .join(actors, actors.c.id == credentials.c.actor_id)
        .join(organisations, organisations.c.id == credentials.c.org_id)
        .where(credentials.c.id == key_id)
    )
    row = conn.execute(q).first()
    return None if row is None else CredentialRow(row)


def _credential(row: Any) -> Credential:
    return Credential(
        id=row.id,
        actor_id=row.actor_id,
        org_id=row.org_id,
        name=row.name,
        roles=[Role(r) for r in row.roles],
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _credential_query(actor: Actor) -> Any:
    return (
        select(
            credentials.c.id,
            credentials.c.actor_id,
            credentials.c.org_id,
            actors.c.name,
            actors.c.roles,
            credentials.c.created_at,
            credentials.c.expires_at,
            credentials.c.revoked_at,
        )
        .join(actors, actors.c.id == credentials.c.actor_id)
        .where(credentials.c.org_id == actor.org_id)
    )


def list_credentials(conn: Connection, actor: Actor) -> Sequence[Credential]:
    return [_credential(r) for r in conn.execute(_credential_query(actor).order_by(credentials.c.id))]


def get_credential(conn: Connection, actor: Actor, key_id: str) -> Credential:
    row = conn.execute(_credential_query(actor).where(credentials.c.id == key_id)).first()
    if row is None:
        raise NotFound(f"no credential {key_id}")
    return _credential(row)


def revoke_credential(conn: Connection, actor: Actor, key_id: str, at: datetime) -> Credential:
    get_credential(conn, actor, key_id)  # 404 for another organisation's key
    conn.execute(
        update(credentials)
        .where(credentials.c.id == key_id, credentials.c.org_id == actor.org_id, credentials.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return get_credential(conn, actor, key_id)


def org_by_id(conn: Connection, org_id: str) -> Organisation:
    """Unscoped lookup, for the operator's console commands only."""
    row = conn.execute(select(organisations).where(organisations.c.id == org_id)).first()
    if row is None:
        raise NotFound(f"no organisation {org_id}")
    return _org(row)


def actor_by_id(conn: Connection, actor_id: str) -> Actor:
    """The actor as it is now (roles may have changed since it was last seen): background jobs act
    with the submitter's current rights, never with rights it has lost."""
    q = (
        select(actors, organisations.c.operator)
        .join(organisations, organisations.c.id == actors.c.org_id)
        .where(actors.c.id == actor_id)
    )
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no actor {actor_id}")
    return actor_of(row, row.id)


def actor_of(row: Any, actor_id: str) -> Actor:
    """The actor in a row that joined ``actors`` (name, kind, roles, org_id) and the organisation's
    ``operator`` flag; every credential kind (API key, session, person) builds its actor here."""
    return Actor(
        id=ActorId(actor_id),
        org_id=OrgId(row.org_id),
        name=row.name,
        kind=ActorKind(row.kind),
        roles=frozenset(Role(r) for r in row.roles),
        operator=row.operator,
    )
