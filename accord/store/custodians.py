"""Custodians' registered keys, scoped to the caller's organisation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from accord.errors import NotFound
from accord.model.custodian import Custodian
from accord.model.organisation import Actor
from accord.store.errors import DuplicateKey
from accord.store.schema import custodians

__all__ = ["get", "get_many", "insert_custodian", "list_all", "revoke"]


def _custodian(row: Any) -> Custodian:
    return Custodian(
        id=row.id,
        org_id=row.org_id,
        actor_id=row.actor_id,
        public_key=row.public_key,
        registered_by=row.registered_by,
        registered_at=row.registered_at,
        revoked_at=row.revoked_at,
    )


def insert_custodian(conn: Connection, c: Custodian) -> None:
    try:
        conn.execute(insert(custodians).values(**c.model_dump()))
    except IntegrityError as exc:
        raise DuplicateKey(str(exc.orig)) from exc


def get(conn: Connection, actor: Actor, custodian_id: str) -> Custodian:
    row = conn.execute(
        select(custodians).where(custodians.c.id == custodian_id, custodians.c.org_id == actor.org_id)
    ).first()
    if row is None:
        raise NotFound(f"no custodian {custodian_id}")
    return _custodian(row)


def get_many(conn: Connection, actor: Actor, ids: Iterable[str]) -> dict[str, Custodian]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    q = select(custodians).where(custodians.c.org_id == actor.org_id, custodians.c.id.in_(wanted))
    return {r.id: _custodian(r) for r in conn.execute(q)}


def list_all(conn: Connection, actor: Actor) -> list[Custodian]:
    q = select(custodians).where(custodians.c.org_id == actor.org_id).order_by(custodians.c.id)
    return [_custodian(r) for r in conn.execute(q)]


def revoke(conn: Connection, actor: Actor, custodian_id: str, at: datetime) -> Custodian:
    get(conn, actor, custodian_id)  # 404 for another organisation's
    conn.execute(
        update(custodians)
        .where(custodians.c.id == custodian_id, custodians.c.org_id == actor.org_id, custodians.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return get(conn, actor, custodian_id)
