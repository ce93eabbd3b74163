"""/v1/federation/peers, /agreements and /shares: the node's peer registry, its stored signed agreements and
the organisation's share rules, for an operator admin (docs/federation.md, "API").

What ``accord peer`` and ``accord agreement`` do at the console, with the same services, checks and audit
events; the services ask for ``peer.manage``, which only the operator's admins hold. Share rules are the
caller's organisation's: another organisation's share id is "not found".
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.exchange.agreement import SignedAgreement
from accord.exchange.wire import canonical
from accord.model.federation import PeerIn, PeerOut, PeerPatch, ShareIn, ShareOut, StoredAgreement, StoredAgreementIn
from accord.model.organisation import Actor
from accord.services import peers, shares
from accord.services.node import Node
from accord.store.peers import Peer

__all__ = ["router"]

router = APIRouter(prefix="/v1/federation", tags=["federation"])


def _peer(p: Peer) -> PeerOut:
    return PeerOut(
        node_id=p.node_id,
        base_url=p.base_url,
        state=p.state,
        orgs=list(p.orgs),
        current_keyid=p.identity.current.keyid,
        identity=json.loads(p.identity.to_json()),
        added_at=p.added_at,
        updated_at=p.updated_at,
    )


def _agreement(node: Node, signed: SignedAgreement) -> StoredAgreement:
    a = signed.agreement
    return StoredAgreement(
        id=a.id,
        parties=list(a.parties),
        nodes={str(k): list(v) for k, v in a.nodes.items()},
        purposes=list(a.purposes),
        categories=list(a.categories),
        max_marking=a.max_marking,
        onward_sharing=a.onward_sharing,
        valid_from=a.valid_from,
        valid_until=a.valid_until,
        upstream=a.party_of(node.me.node_id) is None,
        signed_by=[s.node for s in signed.signatures],
        signed=json.loads(signed.to_json()),
    )


def _raw(document: dict[str, Any]) -> bytes:
    return canonical(document)


@router.get("/peers", response_model=list[PeerOut])
def list_peers(actor: CurrentActor, node: NodeDep, include_removed: bool = False) -> list[PeerOut]:
    """The peers on file, their state and keys (``include_removed``: removed ones too)."""
    return [_peer(p) for p in peers.list_peers(node, actor, include_removed=include_removed)]


@router.post("/peers", status_code=201, response_model=PeerOut)
def add_peer(body: PeerIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> PeerOut:
    """Register a peer from its identity document, ``pending`` until it is trusted (409 if it is on file)."""
    return _peer(peers.add_peer(node, actor, body.base_url, _raw(body.identity), body.orgs, rid))


@router.get("/peers/{node_id}", response_model=PeerOut)
def get_peer(node_id: str, actor: CurrentActor, node: NodeDep) -> PeerOut:
    """One peer on file."""
    return _peer(peers.get_peer(node, actor, node_id))


def _change(node: Node, actor: Actor, node_id: str, body: PeerPatch, rid: str) -> Peer:
    if body.identity is not None:
        return peers.update_peer(node, actor, node_id, _raw(body.identity), rid)
    change = peers.trust_peer if body.state == "trusted" else peers.remove_peer
    return change(node, actor, node_id, rid)


@router.patch("/peers/{node_id}", response_model=PeerOut)
async def update_peer(node_id: str, body: PeerPatch, actor: CurrentActor, node: NodeDep, rid: RequestId) -> PeerOut:
    """Trust a peer (or remove it), or take its identity document after a key rotation: the one given, or
    with ``fetch_identity`` the one it publishes at its base URL. A document that is not the stored one after
    rotations is refused naming why (422, audited) and changes nothing; a peer that does not answer, 503."""
    if body.fetch_identity:
        return _peer(await peers.update_peer_from_url(node, actor, node_id, rid))
    return _peer(await run_in_threadpool(_change, node, actor, node_id, body, rid))


@router.delete("/peers/{node_id}", response_model=PeerOut)
def remove_peer(node_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> PeerOut:
    """Stop accepting anything from the peer; its record stays (envelopes and custody leaves name it)."""
    return _peer(peers.remove_peer(node, actor, node_id, rid))


@router.get("/agreements", response_model=list[StoredAgreement])
def list_agreements(actor: CurrentActor, node: NodeDep) -> list[StoredAgreement]:
    """The signed agreements stored here, upstream ones included."""
    return [_agreement(node, s) for s in peers.list_agreements(node, actor)]


@router.post("/agreements", status_code=201, response_model=StoredAgreement)
def store_agreement(body: StoredAgreementIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> StoredAgreement:
    """Store an agreement every party has signed (422 naming the fault otherwise; 409 if it is stored)."""
    agreement = peers.store_agreement(node, actor, _raw(body.signed), rid, upstream=body.upstream)
    return _agreement(node, peers.agreement_documents(node, agreement.id, actor))


@router.get("/agreements/{agreement_id}", response_model=StoredAgreement)
def get_agreement(agreement_id: str, actor: CurrentActor, node: NodeDep) -> StoredAgreement:
    """One stored agreement, with the signed document as stored."""
    return _agreement(node, peers.agreement_documents(node, agreement_id, actor))


@router.get("/shares", response_model=list[ShareOut])
def list_shares(actor: CurrentActor, node: NodeDep, rid: RequestId) -> list[ShareOut]:
    """The organisation's banks shared into agreements' feeds and its report share rules, in force."""
    return [ShareOut.model_validate(asdict(s)) for s in shares.list_shares(node, actor, rid)]


@router.post("/shares", status_code=201, response_model=ShareOut)
def add_share(body: ShareIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> ShareOut:
    """Share a bank (its entries now and every later change) or the organisation's reports of a category
    into an agreement's feed. Checked against every peer party first: a refusal names the clause (403,
    audited ``federation.send``) and shares nothing; a share already in force is a conflict (409)."""
    rule = shares.share(
        node,
        actor,
        kind=body.kind,
        agreement_id=body.agreement_id,
        category=body.category,
        bank=body.bank,
        marking_max=body.marking_max,
        request_id=rid,
    )
    return ShareOut.model_validate(asdict(rule))


@router.delete("/shares/{share_id}", status_code=204, response_class=Response)
def remove_share(share_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Response:
    """Stop a share: no new change or report enters the feed through it. What it shared stays with the
    receivers and nothing is retracted; a removed bank share still carries retractions of its entries."""
    shares.unshare(node, actor, actor.org_id, share_id, rid)
    return Response(status_code=204)
