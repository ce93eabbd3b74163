"""The peer registry: the nodes this node federates with, their published identity documents and trust.

A peer is added ``pending`` (its document is on file but opens nothing), becomes ``trusted`` when an
operator says so, and ``removed`` keeps the row (envelopes and custody leaves still name the node) while
its keys stop opening anything. The identity document is stored verbatim: the same canonical bytes the
peer publishes, so a later comparison with ``GET /v1/federation/identity`` is byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from accord.errors import Conflict, NotFound
from accord.exchange.identity import IdentityDocument
from accord.store.schema import peers

__all__ = [
    "PEER_STATES",
    "Peer",
    "get_peer",
    "insert_peer",
    "list_peers",
    "set_identity",
    "set_state",
    "trusted_documents",
]

PEER_STATES = ("pending", "trusted", "removed")


@dataclass(frozen=True)
class Peer:
    node_id: str
    base_url: str
    identity: IdentityDocument
    orgs: list[str]
    state: str
    added_at: datetime
    updated_at: datetime


def _peer(row: Any) -> Peer:
    return Peer(
        row.node_id,
        row.base_url,
        IdentityDocument.from_json(row.identity),
        list(row.orgs),
        row.state,
        row.added_at,
        row.updated_at,
    )


def insert_peer(conn: Connection, peer: Peer) -> None:
    if conn.execute(select(peers.c.node_id).where(peers.c.node_id == peer.node_id)).first() is not None:
        raise Conflict(f"peer {peer.node_id} is already registered")
    conn.execute(
        insert(peers).values(
            node_id=peer.node_id,
            base_url=peer.base_url,
            identity=peer.identity.to_json().decode(),
            orgs=peer.orgs,
            state=peer.state,
            added_at=peer.added_at,
            updated_at=peer.updated_at,
        )
    )


def get_peer(conn: Connection, node_id: str) -> Peer:
    row = conn.execute(select(peers).where(peers.c.node_id == node_id)).first()
    if row is None:
        raise NotFound(f"no peer {node_id}")
    return _peer(row)


def list_peers(conn: Connection, *, include_removed: bool = False) -> list[Peer]:
    q = select(peers).order_by(peers.c.added_at, peers.c.node_id)
    if not include_removed:
        q = q.where(peers.c.state != "removed")
    return [_peer(r) for r in conn.execute(q)]


def set_state(conn: Connection, node_id: str, state: str, at: datetime) -> Peer:
    if state not in PEER_STATES:
        raise ValueError(f"unknown peer state {state!r}")
    done = conn.execute(update(peers).where(peers.c.node_id == node_id).values(state=state, updated_at=at))
    if done.rowcount != 1:
        raise NotFound(f"no peer {node_id}")
    return get_peer(conn, node_id)


def set_identity(conn: Connection, node_id: str, identity: IdentityDocument, at: datetime) -> Peer:
    """Replace the stored identity document (the caller has checked that it extends the stored one)."""
    done = conn.execute(
        update(peers).where(peers.c.node_id == node_id).values(identity=identity.to_json().decode(), updated_at=at)
    )
    if done.rowcount != 1:
        raise NotFound(f"no peer {node_id}")
    return get_peer(conn, node_id)


def trusted_documents(conn: Connection, node_ids: Sequence[str] | None = None) -> dict[str, IdentityDocument]:
    """The identity documents whose keys may open envelopes here: trusted peers only."""
    q = select(peers.c.node_id, peers.c.identity).where(peers.c.state == "trusted")
    if node_ids is not None:
        q = q.where(peers.c.node_id.in_(list(node_ids)))
    return {r.node_id: IdentityDocument.from_json(r.identity) for r in conn.execute(q)}
