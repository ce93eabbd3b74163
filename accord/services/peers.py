"""The peer registry and the signed agreements held for it (docs/federation.md).

Both speak for the whole node, so each change is the operator's: an operator admin's key (``actor``) or the
operator at the console (``actor`` None, audited as the node). A peer is added ``pending`` and opens
nothing until it is trusted; an agreement is stored only once every party's signature verifies against
the keys on file, and only if this node speaks for one of its parties, an organisation hosted here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import urlsplit

from sqlalchemy import Connection

from accord.errors import Invalid, NotFound, Unavailable
from accord.exchange.agreement import SignedAgreement
from accord.exchange.identity import IdentityDocument, NodeKey
from accord.exchange.wire import canonical
from accord.model.agreement import Agreement
from accord.model.organisation import Actor
from accord.safeguards.policy import Action
from accord.services import federation
from accord.services.audit import authorize, draft
from accord.services.audit import record as audit_record
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import federation as fed_store
from accord.store import orgs as org_store
from accord.store import peers as store
from accord.store.peers import Peer

__all__ = [
    "add_peer",
    "agreement_documents",
    "countersign",
    "get_peer",
    "list_agreements",
    "list_peers",
    "remove_peer",
    "store_agreement",
    "trust_peer",
    "update_peer",
    "update_peer_from_url",
]


def _authorize(node: Node, actor: Actor | None, request_id: str | None) -> None:
    if actor is not None:
        authorize(node, actor, Action.peer_manage, request_id)


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid.at("/base_url", f"{url!r} is not an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise Invalid.at("/base_url", "a base URL carries no query or fragment")
    return url.rstrip("/")


def add_peer(
    node: Node,
    actor: Actor | None,
    base_url: str,
    identity: bytes | str,
    orgs: list[str] | None = None,
    request_id: str | None = None,
) -> Peer:
    """Register a peer as ``pending``: its identity document (its published JSON) and where to reach it."""
    _authorize(node, actor, request_id)
    url = _base_url(base_url)
    try:
        document = IdentityDocument.from_json(identity)
    except ValueError as e:
        raise Invalid.at("/identity", str(e)) from None
    if document.node_id == node.me.node_id:
        raise Invalid.at("/identity", f"{document.node_id} is this node's own identity")
    now = node.clock.now()
    peer = Peer(document.node_id, url, document, sorted(set(orgs or [])), "pending", now, now)
    with node.db.write() as conn:
        store.insert_peer(conn, peer)
        audit_store.append(conn, [_event(node, conn, actor, "peer.add", peer.node_id, request_id, url=url)])
    return peer


def _event(
    node: Node, conn: Connection, actor: Actor | None, action: str, node_id: str, request_id: str | None, **detail: str
) -> audit_store.AuditDraft:
    org = None if actor is not None else org_store.operator_org_id(conn)
    return draft(node, actor, action, "peer", node_id, request_id=request_id, detail=dict(detail), org_id=org)


def _set_state(node: Node, actor: Actor | None, node_id: str, state: str, request_id: str | None) -> Peer:
    _authorize(node, actor, request_id)
    with node.db.write() as conn:
        peer = store.set_state(conn, node_id, state, node.clock.now())
        audit_store.append(conn, [_event(node, conn, actor, f"peer.{state}", node_id, request_id)])
    return peer


def trust_peer(node: Node, actor: Actor | None, node_id: str, request_id: str | None = None) -> Peer:
    """From now on the peer's published keys open envelopes here (under an agreement in force)."""
    return _set_state(node, actor, node_id, "trusted", request_id)


def remove_peer(node: Node, actor: Actor | None, node_id: str, request_id: str | None = None) -> Peer:
    """The peer's keys open nothing any more; its row stays, since envelopes and custody leaves name it."""
    return _set_state(node, actor, node_id, "removed", request_id)


def rotation_fault(stored: IdentityDocument, new: IdentityDocument) -> str | None:
    """Why ``new`` is not ``stored`` after key rotations, or None if it is: the same node id; every stored
    key still listed, in its place, with the same window, except that the stored current key's window may
    now be closed; and at least one new key, each new window opening at or after the one before it closes.
    A retired key can thus never be reopened, replaced or moved, so what it signed in its window keeps
    verifying, and nothing can be dated into a window that was not published before."""
    if new.node_id != stored.node_id:
        return f"the document is the identity of {new.node_id}, not of {stored.node_id}"
    old = stored.keys
    if len(new.keys) <= len(old):
        return "it adds no key (a rotation lists every key on file and at least one new one after them)"
    for i, (was, now) in enumerate(zip(old, new.keys, strict=False)):
        if now.keyid != was.keyid:
            return f"key {i + 1} is {now.keyid[:16]}..., not the stored {was.keyid[:16]}... (keys are only ever added)"
        closed_now = i == len(old) - 1 and was.not_after is None and now.not_after is not None
        if now.not_before != was.not_before or (now.not_after != was.not_after and not closed_now):
            return f"key {was.keyid[:16]}... has another window than the one on file"
    previous: NodeKey = new.keys[len(old) - 1]
    for k in new.keys[len(old) :]:
        if previous.not_after is None:
            return f"key {previous.keyid[:16]}... is still open when {k.keyid[:16]}... starts (close it first)"
        if k.not_before < previous.not_after:
            return f"key {k.keyid[:16]}... starts before key {previous.keyid[:16]}... closes"
        previous = k
    return None


def update_peer(
    node: Node, actor: Actor | None, node_id: str, identity: bytes | str, request_id: str | None = None
) -> Peer:
    """Take a peer's new identity document if it is the stored one after key rotations (``rotation_fault``);
    audited ``peer.update`` with the keys added. Anything else is refused naming the reason (``Invalid`` at
    ``/identity``, audited ``peer.update`` outcome ``refused``) and changes nothing."""
    _authorize(node, actor, request_id)
    try:
        document = IdentityDocument.from_json(identity)
    except ValueError as e:
        raise Invalid.at("/identity", str(e)) from None
    with node.db.write() as conn:
        stored = store.get_peer(conn, node_id)
        fault = rotation_fault(stored.identity, document)
        if fault is None:
            peer = store.set_identity(conn, node_id, document, node.clock.now())
            added = ",".join(k.keyid for k in document.keys[len(stored.identity.keys) :])
            audit_store.append(conn, [_event(node, conn, actor, "peer.update", node_id, request_id, added=added)])
            return peer
        event = _event(node, conn, actor, "peer.update", node_id, request_id, reason=fault)
    audit_record(node, replace(event, outcome="refused"))
    raise Invalid.at("/identity", f"not a key rotation of {node_id}: {fault}")


async def update_peer_from_url(node: Node, actor: Actor | None, node_id: str, request_id: str | None = None) -> Peer:
    """``update_peer`` with the document the peer publishes (``GET /v1/federation/identity`` at its base
    URL on file) instead of one the operator carries: the same rotation checks, since who answers at a URL
    proves nothing (a document that is not a rotation of the stored one is refused, whoever served it). A
    peer that does not answer is ``Unavailable``, audited ``peer.update`` outcome ``failed``."""
    _authorize(node, actor, request_id)
    with node.db.read() as conn:
        peer = store.get_peer(conn, node_id)
    try:
        raw = await federation.fetch_identity(node, peer.base_url)
    except Unavailable as e:
        with node.db.read() as conn:
            event = _event(node, conn, actor, "peer.update", node_id, request_id, reason=e.detail)
        audit_record(node, replace(event, outcome="failed"))
        raise
    return update_peer(node, actor, node_id, raw, request_id)


def get_peer(node: Node, actor: Actor | None, node_id: str) -> Peer:
    _authorize(node, actor, None)
    with node.db.read() as conn:
        return store.get_peer(conn, node_id)


def list_peers(node: Node, actor: Actor | None, *, include_removed: bool = False) -> list[Peer]:
    _authorize(node, actor, None)
    with node.db.read() as conn:
        return store.list_peers(conn, include_removed=include_removed)


def _known(node: Node) -> dict[str, IdentityDocument]:
    """Whose signatures an agreement may carry: this node and every peer on file (pending ones too: an
    operator stores the agreement, then trusts the peer)."""
    with node.db.read() as conn:
        docs = {p.node_id: p.identity for p in store.list_peers(conn)}
    return {**docs, node.me.node_id: node.me.document}


def _parse(raw: bytes) -> SignedAgreement:
    try:
        return SignedAgreement.from_json(raw)
    except ValueError as e:
        raise Invalid.at("", f"signed agreement: {e}") from None


def countersign(node: Node, raw: bytes) -> bytes:
    """This node's signature added to a signed agreement (or to a bare one: ``{"agreement": ..., "signatures":
    []}``): what the operator sends back to the other party. Stores nothing."""
    try:  # a draft may be written by hand: any JSON spelling; what is signed is the canonical agreement
        signed = _parse(canonical(json.loads(raw)))
    except ValueError as e:
        raise Invalid.at("", f"signed agreement: {e}") from None
    try:
        return signed.sign(node.me).to_json()
    except ValueError as e:
        raise Invalid.at("/agreement/nodes", str(e)) from None


def store_agreement(
    node: Node, actor: Actor | None, raw: bytes, request_id: str | None = None, *, upstream: bool = False
) -> Agreement:
    """Keep a signed agreement that every party has signed; envelopes under it open from now on.

    ``upstream``: an agreement this node is no party to, held only so that objects a peer received under
    it and shares on can be checked here (its onward-sharing clause); nothing is ever sent under it."""
    _authorize(node, actor, request_id)
    signed = _parse(raw)
    try:
        agreement = signed.verify(_known(node))
    except ValueError as e:
        raise Invalid.at("/signatures", str(e)) from None
    own = agreement.party_of(node.me.node_id)
    if own is None and upstream:
        with node.db.read() as conn:
            own = org_store.operator_org_id(conn)
    elif own is None:
        raise Invalid.at("/agreement/nodes", f"this node ({node.me.node_id}) speaks for no party to it")
    with node.db.write() as conn:
        if own is None or not (upstream or org_store.org_exists(conn, own)):
            raise Invalid.at("/agreement/nodes", f"this node speaks for {own}, which is no organisation here")
        fed_store.insert_signed_agreement(conn, signed, node.clock.now())
        event = draft(
            node,
            actor,
            "agreement.store",
            "agreement",
            agreement.id,
            request_id=request_id,
            detail={"parties": list(agreement.parties)},
            org_id=own,
        )
        audit_store.append(conn, [event])
    return agreement


def list_agreements(node: Node, actor: Actor | None = None) -> list[SignedAgreement]:
    _authorize(node, actor, None)
    with node.db.read() as conn:
        return fed_store.list_signed_agreements(conn)


def agreement_documents(node: Node, agreement_id: str, actor: Actor | None = None) -> SignedAgreement:
    _authorize(node, actor, None)
    with node.db.read() as conn:
        try:
            return fed_store.get_signed_agreement(conn, agreement_id)
        except NotFound:
            raise NotFound(f"no agreement {agreement_id}") from None
