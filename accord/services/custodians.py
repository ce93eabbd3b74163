"""Custodians: an organisation admin registers the Ed25519 key with which a custodian signs approvals."""

from __future__ import annotations

from accord.errors import Conflict, Invalid, NotFound
from accord.model.custodian import Custodian, CustodianId, CustodianIn
from accord.model.organisation import Actor, Role
from accord.safeguards import approvals, policy
from accord.safeguards.policy import Action
from accord.services.audit import draft, refusals
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import custodians as store
from accord.store import orgs as org_store
from accord.store.errors import DuplicateKey

__all__ = ["get", "list_all", "register", "revoke"]


def register(node: Node, actor: Actor, cin: CustodianIn, request_id: str | None = None) -> Custodian:
    """Register ``cin.public_key`` for one of the organisation's custodians. A custodian may hold several
    keys (a new one before the old is revoked); approvals still count per person, not per key."""
    with refusals(node, actor, "custodian.register", request_id) as seen:
        policy.require(actor, Action.custodian_manage)
        raw = approvals.parse_public_key(cin.public_key)
        with node.db.write() as conn:
            try:
                holder = org_store.actor_by_id(conn, cin.actor_id)
            except NotFound:
                holder = None
            if holder is None or holder.org_id != actor.org_id:
                raise NotFound(f"no actor {cin.actor_id}")  # another organisation's actor reads as missing
            seen.object("actor", holder.id)
            if not holder.has(Role.custodian):
                raise Invalid.at("/actor_id", f"actor {holder.id} does not hold the custodian role")
            custodian = Custodian(
                id=CustodianId(node.ids("cus")),
                org_id=actor.org_id,
                actor_id=holder.id,
                public_key=approvals.public_key_text(raw),
                registered_by=actor.id,
                registered_at=node.clock.now(),
                revoked_at=None,
            )
            try:
                store.insert_custodian(conn, custodian)
            except DuplicateKey:
                raise Conflict("this public key is already registered in your organisation") from None
            audit_store.append(
                conn,
                [
                    draft(
                        node,
                        actor,
                        "custodian.register",
                        "custodian",
                        custodian.id,
                        request_id=request_id,
                        detail={"actor_id": holder.id},
                    )
                ],
            )
    return custodian


def list_all(node: Node, actor: Actor, request_id: str | None = None) -> list[Custodian]:
    with refusals(node, actor, "custodian.list", request_id):
        policy.require(actor, Action.custodian_read)
        with node.db.write() as conn:
            items = store.list_all(conn, actor)
            audit_store.append(
                conn,
                [
                    draft(
                        node, actor, "custodian.list", "custodian", request_id=request_id, detail={"count": len(items)}
                    )
                ],
            )
    return items


def get(node: Node, actor: Actor, custodian_id: str, request_id: str | None = None) -> Custodian:
    with refusals(node, actor, "custodian.read", request_id):
        policy.require(actor, Action.custodian_read)
        with node.db.write() as conn:
            custodian = store.get(conn, actor, custodian_id)
            audit_store.append(
                conn, [draft(node, actor, "custodian.read", "custodian", custodian.id, request_id=request_id)]
            )
    return custodian


def revoke(node: Node, actor: Actor, custodian_id: str, request_id: str | None = None) -> Custodian:
    """Revoke a key: approvals it signed stop counting towards openings not yet made."""
    with refusals(node, actor, "custodian.revoke", request_id):
        policy.require(actor, Action.custodian_manage)
        with node.db.write() as conn:
            custodian = store.revoke(conn, actor, custodian_id, node.clock.now())
            audit_store.append(
                conn, [draft(node, actor, "custodian.revoke", "custodian", custodian.id, request_id=request_id)]
            )
    return custodian
