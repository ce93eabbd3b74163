"""Envelopes between nodes: the inbox that receives them and the sending side (docs/federation.md).

Receiving (``receive``): the envelope is opened with the trusted peers' keys, the stored agreements and
the database nonce store, all in one write transaction; if it is accepted, its raw bytes, the receipt
this node signs for it, their two custody leaves (``shared_in``, ``receipt``) and the audit event commit
together in that transaction. If it is refused, the transaction rolls back (the nonce too), so nothing
is stored, and the refusal is audited on its own, with the reason, as the node's (the operator
organisation's) event: a refused envelope may not say truthfully whom it is for.

Sending (``share``): ``check_outgoing`` first (a refusal here never leaves the node), then the envelope
is sealed and recorded (row and ``shared_out`` leaf) before it is posted, so the log shows what left even
if the answer never comes; the receipt that comes back, accepted or refused, is verified against the
peer's published keys and recorded (row and ``receipt`` leaf) in a second transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

import httpx
import orjson
from sqlalchemy import Connection

from accord.custody.entry import CustodyAction, CustodyEntry
from accord.errors import NotFound, Unavailable
from accord.exchange.agreement import ObjectMeta, Refusal, check_outgoing
from accord.exchange.envelope import Opened, Refused, digest, open_envelope, seal
from accord.exchange.receipt import Receipt, receipt, verify_receipt
from accord.ids import ActorId, OrgId
from accord.model.agreement import Agreement
from accord.model.organisation import Actor
from accord.safeguards.policy import Action
from accord.services import custody
from accord.services.audit import authorize, draft
from accord.services.audit import record as audit_record
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import federation as fed_store
from accord.store import orgs as org_store
from accord.store import peers as peer_store
from accord.store.federation import DbNonceStore, EnvelopeRow

__all__ = [
    "IDENTITY_PATH",
    "INBOX_PATH",
    "Delivery",
    "Inbound",
    "audit_refused",
    "deliver",
    "entry",
    "fetch_identity",
    "identity_document",
    "open_in",
    "receive",
    "seal_for",
    "share",
    "store_accepted",
]

INBOX_PATH = "/v1/federation/envelopes"
IDENTITY_PATH = "/v1/federation/identity"
_IDENTITY_MAX_BYTES = 1 << 20


def identity_document(node: Node) -> bytes:
    """The node's public identity document, canonical JSON (what peers register with ``accord peer add``)."""
    return node.me.document.to_json()


def _skew(node: Node) -> timedelta:
    return timedelta(seconds=node.settings.federation_skew_s)


# --- receiving ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    """The inbox's answer: the signed receipt, and the refusal if the envelope was refused."""

    receipt: bytes
    refused: Refused | None = None
    envelope_id: str | None = None


def receive(node: Node, raw: bytes, request_id: str | None = None) -> Inbound:
    """Open an envelope from a peer; store it verbatim with its receipt in custody, or refuse it (module doc)."""
    me, now = node.me, node.clock.now()
    try:
        with node.db.write() as conn:
            opened, agreements = open_in(node, conn, raw)
            env_id, answer = store_accepted(node, conn, opened, agreements[opened.agreement_id], request_id)
        return Inbound(answer, None, env_id)
    except Refused as refused:
        answer = receipt(me, refused, raw=raw, now=now)
        audit_refused(node, raw, refused, request_id)
        return Inbound(answer, refused, None)


def open_in(node: Node, conn: Connection, raw: bytes) -> tuple[Opened, dict[str, Agreement]]:
    """``open_envelope`` with the trusted peers' keys, the stored agreements and the database nonce store,
    in the caller's write transaction (the inbox, the sync feed and the sync puller all open this way)."""
    skew = _skew(node)
    peers = peer_store.trusted_documents(conn)
    agreements = {s.agreement.id: s.agreement for s in fed_store.list_signed_agreements(conn)}
    nonces = DbNonceStore(conn, horizon=max(skew * 2, timedelta(seconds=600)))
    opened = open_envelope(
        raw, me=node.me.node_id, peers=peers, agreements=agreements, nonces=nonces, now=node.clock.now(), skew=skew
    )
    return opened, agreements


def store_accepted(
    node: Node, conn: Connection, opened: Opened, agreement: Agreement, request_id: str | None
) -> tuple[str, bytes]:
    """An accepted envelope kept verbatim with the receipt this node signs for it, their custody leaves
    (``shared_in``, ``receipt``) and the ``federation.receive`` event, in the caller's transaction."""
    me, now, raw = node.me, node.clock.now(), opened.raw
    org = agreement.party_of(me.node_id)
    assert org is not None  # check_incoming refused otherwise (parties)
    answer = receipt(me, opened, raw=raw, now=now)
    env_id = node.ids("env")
    fed_store.insert_envelope(
        conn,
        EnvelopeRow(
            env_id,
            org,
            "in",
            opened.sender,
            opened.agreement_id,
            opened.digest,
            raw,
            answer,
            "accepted",
            None,
            None,
            now,
        ),
    )
    detail = {"peer": opened.sender, "agreement": opened.agreement_id}
    custody.record(
        node,
        conn,
        [
            entry(CustodyAction.SHARED_IN, opened.sender, org, now, "envelope", env_id, raw, detail),
            entry(CustodyAction.RECEIPT, me.node_id, org, now, "receipt", env_id, answer, detail),
        ],
    )
    event = draft(
        node,
        None,
        "federation.receive",
        "envelope",
        env_id,
        request_id=request_id,
        org_id=org,
        detail={**detail, "envelope": opened.digest, "category": opened.category, "marking": opened.marking},
    )
    audit_store.append(conn, [event])
    return env_id, answer


def audit_refused(node: Node, raw: bytes, refused: Refused, request_id: str | None) -> None:
    """A refused envelope's ``federation.receive`` event, the node's own (operator organisation's): a refused
    envelope may not say truthfully whom it is for."""
    with node.db.read() as conn:
        operator = org_store.operator_org_id(conn)
    audit_record(
        node,
        draft(
            node,
            None,
            "federation.receive",
            "envelope",
            None,
            request_id=request_id,
            outcome="refused",
            org_id=operator,
            detail={
                "reason": refused.reason,
                "clause": refused.clause,
                "sender": refused.sender,
                "envelope": digest(raw),
                "detail": refused.detail[:300],
            },
        ),
    )


def entry(
    action: CustodyAction,
    actor_id: str,
    org_id: str,
    at: Any,
    object_type: str,
    object_id: str,
    raw: bytes,
    detail: dict[str, str],
) -> CustodyEntry:
    return CustodyEntry(
        action=action,
        actor_id=ActorId(actor_id),
        org_id=OrgId(org_id),
        at=at,
        object_type=object_type,
        object_id=object_id,
        digest=digest(raw).removeprefix("sha256:"),
        detail=detail,
    )


# --- sending --------------------------------------------------------------------------------------


def _own_agreement(node: Node, actor: Actor, agreement_id: str) -> Agreement:
    """The stored agreement, if the actor's organisation is the party this node speaks for (else missing)."""
    with node.db.read() as conn:
        try:
            agreement = fed_store.get_signed_agreement(conn, agreement_id).agreement
        except NotFound:
            agreement = None
    if agreement is None or agreement.party_of(node.me.node_id) != actor.org_id:
        raise NotFound(f"no agreement {agreement_id}")
    return agreement


def refuse_send(
    node: Node,
    actor: Actor | None,
    refusal: Refusal,
    object_type: str,
    object_id: str,
    request_id: str | None,
    *,
    org_id: str | None = None,
    **detail: object,
) -> NoReturn:
    """An outgoing share the agreement refuses: audited (``federation.send``, refused, naming the clause),
    then raised as ``Refused``. Sending an envelope, sharing a bank and sharing reports all refuse this way."""
    event = draft(
        node,
        actor,
        "federation.send",
        object_type,
        object_id,
        request_id=request_id,
        org_id=org_id,
        outcome="refused",
        detail={**detail, "clause": refusal.clause, "detail": refusal.detail},
    )
    audit_record(node, event)
    raise Refused("agreement", str(refusal), clause=refusal.clause)


def seal_for(
    node: Node,
    actor: Actor,
    *,
    peer: str,
    agreement_id: str,
    purpose: str,
    marking: str,
    category: str,
    obj: dict[str, Any],
    received_under: str | None = None,
    request_id: str | None = None,
) -> bytes:
    """An envelope for ``peer``, once ``check_outgoing`` allows it; a refusal is audited and raised."""
    authorize(node, actor, Action.federation_share, request_id)
    agreement = _own_agreement(node, actor, agreement_id)
    upstream = None
    if received_under is not None:
        with node.db.read() as conn:
            upstream = fed_store.get_signed_agreement(conn, received_under).agreement
    now = node.clock.now()
    meta = ObjectMeta(node.me.node_id, peer, purpose, marking, category, upstream)
    refusal = check_outgoing(agreement, meta, now)
    if refusal is not None:
        refuse_send(node, actor, refusal, "agreement", agreement_id, request_id, peer=peer)
    return seal(
        node.me,
        recipient=peer,
        agreement_id=agreement_id,
        purpose=purpose,
        marking=marking,
        category=category,
        obj=obj,
        now=now,
        received_under=received_under,
    )


@dataclass(frozen=True)
class Delivery:
    """What became of an envelope sent: the peer's verified receipt, and the row holding both."""

    envelope_id: str
    receipt: Receipt

    @property
    def accepted(self) -> bool:
        return self.receipt.verdict == "accepted"


async def deliver(
    node: Node, actor: Actor, *, peer: str, agreement_id: str, raw: bytes, request_id: str | None = None
) -> Delivery:
    """Send an envelope (sealed by ``seal_for``) to a trusted peer and keep its receipt (module docstring).

    The envelope is recorded as sent before it is posted; a peer that does not answer with a receipt it
    signed raises ``Unavailable`` and leaves the row without a receipt (a later retry sends a new envelope).
    """
    authorize(node, actor, Action.federation_share, request_id)
    with node.db.read() as conn:
        target = peer_store.get_peer(conn, peer)
    if target.state != "trusted":
        raise NotFound(f"no trusted peer {peer}")
    now = node.clock.now()
    env_id = node.ids("env")
    detail = {"peer": peer, "agreement": agreement_id}
    with node.db.write() as conn:
        fed_store.insert_envelope(
            conn,
            EnvelopeRow(env_id, actor.org_id, "out", peer, agreement_id, digest(raw), raw, None, None, None, None, now),
        )
        custody.record(
            node, conn, [entry(CustodyAction.SHARED_OUT, actor.id, actor.org_id, now, "envelope", env_id, raw, detail)]
        )
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "federation.send",
                    "envelope",
                    env_id,
                    request_id=request_id,
                    detail={**detail, "envelope": digest(raw)},
                )
            ],
        )
    try:
        answer = await _post(node, target.base_url, raw)
    except Unavailable as e:
        _failed(node, actor, env_id, request_id, e.detail)
        raise
    try:
        got = verify_receipt(answer, sent=raw, receiver=target.identity)
    except Refused as bad:
        _failed(node, actor, env_id, request_id, f"the answer is no valid receipt: {bad.reason}: {bad.detail}")
        raise Unavailable(f"peer {peer} did not answer with a valid receipt ({bad.reason})") from None
    at = node.clock.now()
    with node.db.write() as conn:
        fed_store.set_receipt(conn, env_id, answer, got.verdict, got.reason, got.clause)
        custody.record(
            node,
            conn,
            [
                entry(
                    CustodyAction.RECEIPT,
                    actor.id,
                    actor.org_id,
                    at,
                    "receipt",
                    env_id,
                    answer,
                    {**detail, "verdict": got.verdict},
                )
            ],
        )
        outcome = {"verdict": got.verdict, "reason": got.reason, "clause": got.clause}
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "federation.receipt",
                    "envelope",
                    env_id,
                    request_id=request_id,
                    outcome="success" if got.verdict == "accepted" else "refused",
                    detail={**detail, **{k: v for k, v in outcome.items() if v is not None}},
                )
            ],
        )
    return Delivery(env_id, got)


async def post_signed(node: Node, url: str, raw: bytes) -> httpx.Response:
    """POST signed bytes to a peer through the node's transport, within the federation timeout; a peer that
    does not answer is ``Unavailable`` (the inbox, sync and deconfliction all send this way)."""
    try:
        async with httpx.AsyncClient(transport=node.peer_transport, timeout=node.settings.federation_timeout_s) as c:
            return await c.post(url, content=raw, headers={"content-type": "application/json"})
    except httpx.HTTPError as e:
        raise Unavailable(f"peer at {url} did not answer: {type(e).__name__}") from None


async def fetch_identity(node: Node, base_url: str) -> bytes:
    """A peer's published identity document (``GET /v1/federation/identity``), through the node's transport
    and within the federation timeout; the bytes as served, for the caller to check. A peer that does not
    answer, or answers other than 200, is ``Unavailable``."""
    url = base_url + IDENTITY_PATH
    body = bytearray()
    try:
        async with (
            httpx.AsyncClient(transport=node.peer_transport, timeout=node.settings.federation_timeout_s) as c,
            c.stream("GET", url, headers={"accept": "application/json"}) as r,
        ):
            if r.status_code != 200:
                raise Unavailable(f"peer at {url} answered {r.status_code}, not its identity document")
            async for chunk in r.aiter_bytes():
                body += chunk
                if len(body) > _IDENTITY_MAX_BYTES:  # a document lists a few keys: this is no identity document
                    raise Unavailable(f"peer at {url} answered more than {_IDENTITY_MAX_BYTES} bytes")
    except httpx.HTTPError as e:
        raise Unavailable(f"peer at {url} did not answer: {type(e).__name__}") from None
    return bytes(body)


async def _post(node: Node, base_url: str, raw: bytes) -> bytes:
    """The receipt a peer answers with: the body of a 200, or the ``receipt`` member of a refusal's problem."""
    r = await post_signed(node, base_url + INBOX_PATH, raw)
    if r.status_code == 200:
        return r.content
    try:
        body = orjson.loads(r.content)
        answer = body["receipt"]
        if isinstance(answer, str):
            return answer.encode()
    except (orjson.JSONDecodeError, KeyError, TypeError):
        pass
    raise Unavailable(f"peer at {base_url} answered {r.status_code} without a receipt")


def _failed(node: Node, actor: Actor, env_id: str, request_id: str | None, why: str) -> None:
    audit_record(
        node,
        draft(
            node,
            actor,
            "federation.receipt",
            "envelope",
            env_id,
            request_id=request_id,
            outcome="failed",
            detail={"detail": why},
        ),
    )


async def share(
    node: Node,
    actor: Actor,
    *,
    peer: str,
    agreement_id: str,
    purpose: str,
    marking: str,
    category: str,
    obj: dict[str, Any],
    received_under: str | None = None,
    request_id: str | None = None,
) -> Delivery:
    """Seal an object for a peer under an agreement (checked first), send it, and keep the receipt."""
    raw = seal_for(
        node,
        actor,
        peer=peer,
        agreement_id=agreement_id,
        purpose=purpose,
        marking=marking,
        category=category,
        obj=obj,
        received_under=received_under,
        request_id=request_id,
    )
    return await deliver(node, actor, peer=peer, agreement_id=agreement_id, raw=raw, request_id=request_id)
