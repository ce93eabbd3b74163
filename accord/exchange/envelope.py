"""Signed envelopes between nodes: ``seal`` on the way out, ``open_envelope`` on the way in.

The body (RFC 8785 canonical JSON, signed through DSSE's PAE) carries::

    {"agreement": ..., "category": ..., "created": "2026-11-26T12:00:00.000000Z", "marking": ...,
     "nonce": <32 hex digits, 128 random bits>, "object": {...}, "purpose": ..., "received_under": null,
     "recipient": <node id>, "sender": <node id>}

``open_envelope`` checks, in this order, and stops at the first failure with ``Refused(reason)``:

1. ``malformed``: the envelope or its body is not in its one canonical form, or a field is missing/wrong;
2. ``unknown-key``: no known peer published the signature's keyid;
3. ``signature``: the signature does not verify over PAE(type, body) with that key;
4. ``unknown-sender``: the body names a sender other than the node that owns the key;
5. ``not-for-us``: the recipient is not this node;
6. ``key-window``: the key was not current at the body's created time (a retired key signs only
   within its window);
7. ``stale`` / ``future``: created more than ``skew`` before / after now;
8. ``replay``: this sender's nonce was seen within the window;
9. ``agreement``: unknown agreement, or a clause refuses (``Refused.clause`` names it: ``parties``,
   ``purposes``, ``categories``, ``max_marking``, ``valid_from``, ``valid_until``, ``onward_sharing``).

The raw bytes are what custody stores verbatim; ``digest(raw)`` names them in receipts.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature

from accord.errors import AccordError
from accord.exchange import dsse
from accord.exchange.agreement import ObjectMeta, Refusal, check_incoming
from accord.exchange.identity import IdentityDocument, NodeIdentity, NodeKey
from accord.exchange.nonce import NonceStore
from accord.exchange.wire import canonical, format_time, load_canonical, parse_time
from accord.model.agreement import Agreement

__all__ = [
    "DEFAULT_SKEW",
    "PAYLOAD_TYPE",
    "Opened",
    "Refused",
    "digest",
    "find_key",
    "open_envelope",
    "seal",
    "verified",
]

PAYLOAD_TYPE = "application/vnd.accord.envelope.v1+json"
DEFAULT_SKEW = timedelta(seconds=300)

_FIELDS = {
    "agreement",
    "category",
    "created",
    "marking",
    "nonce",
    "object",
    "purpose",
    "received_under",
    "recipient",
    "sender",
}


class Refused(AccordError):
    """An envelope (or receipt) that is not accepted; ``reason`` is a stable code, ``clause`` the agreement
    field when the agreement refused it."""

    code = "refused"
    title = "Refused"
    status = 403

    def __init__(self, reason: str, detail: str, *, clause: str | None = None, sender: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.clause = clause
        self.sender = sender  # the node that signed it, once the signature verified


def digest(raw: bytes) -> str:
    """``sha256:<hex>`` of the raw envelope bytes: how receipts and custody name an envelope."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Opened:
    """An accepted envelope, its raw bytes kept for custody."""

    raw: bytes
    digest: str
    keyid: str
    sender: str
    recipient: str
    agreement_id: str
    purpose: str
    marking: str
    category: str
    created: datetime
    nonce: str
    received_under: str | None
    object: dict[str, Any]


def seal(
    identity: NodeIdentity,
    *,
    recipient: str,
    agreement_id: str,
    purpose: str,
    marking: str,
    category: str,
    obj: dict[str, Any],
    now: datetime,
    received_under: str | None = None,
    nonce: str | None = None,
) -> bytes:
    """A signed envelope, as the bytes to send (and to store). Run ``check_outgoing`` first: sealing does
    not judge whether the object may leave."""
    body = {
        "agreement": agreement_id,
        "category": category,
        "created": format_time(now),
        "marking": marking,
        "nonce": nonce if nonce is not None else os.urandom(16).hex(),
        "object": obj,
        "purpose": purpose,
        "received_under": received_under,
        "recipient": recipient,
        "sender": identity.node_id,
    }
    return dsse.write(PAYLOAD_TYPE, canonical(body), identity.keyid, identity.sign)


def find_key(peers: Mapping[str, IdentityDocument], keyid: str) -> tuple[str, NodeKey] | None:
    """The node and key a keyid names (keyids are key fingerprints, so at most one key has it)."""
    for node, document in peers.items():
        key = document.key(keyid)
        if key is not None and document.node_id == node:
            return node, key
    return None


def verified(raw: bytes, payload_type: str, peers: Mapping[str, IdentityDocument]) -> tuple[str, NodeKey, Any]:
    """Steps 1-4 for any Accord DSSE message: the signing node, its key and the parsed body."""
    try:
        envelope = dsse.parse(raw)
    except ValueError as e:
        raise Refused("malformed", str(e)) from None
    if envelope.payload_type != payload_type:
        raise Refused("malformed", f"payloadType {envelope.payload_type!r} is not {payload_type!r}")
    found = find_key(peers, envelope.keyid)
    if found is None:
        raise Refused("unknown-key", f"no known peer has the key {envelope.keyid[:16]}...")
    node, key = found
    try:
        key.public_key.verify(envelope.sig, envelope.signed_bytes())
    except InvalidSignature:
        raise Refused("signature", f"the signature by key {key.keyid[:16]}... of {node} does not verify") from None
    try:
        body = load_canonical(envelope.body, "the payload")
    except ValueError as e:
        raise Refused("malformed", str(e), sender=node) from None
    if not isinstance(body, dict):
        raise Refused("malformed", "the payload must be a JSON object", sender=node)
    return node, key, body


def _field(body: dict[str, Any], name: str, node: str, *, nullable: bool = False) -> Any:
    value = body.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value:
        raise Refused("malformed", f"payload field {name} must be a non-empty string", sender=node)
    return value


def open_envelope(
    raw: bytes,
    *,
    me: str,
    peers: Mapping[str, IdentityDocument],
    agreements: Mapping[str, Agreement],
    nonces: NonceStore,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
) -> Opened:
    """Verify and check an envelope addressed to node ``me``; ``Refused`` says why not (module docstring)."""
    if nonces.horizon < skew:
        raise ValueError("the nonce store must remember nonces at least as long as the clock skew")
    node, key, body = verified(raw, PAYLOAD_TYPE, peers)
    if set(body) != _FIELDS:
        raise Refused("malformed", f"the payload holds exactly {', '.join(sorted(_FIELDS))}", sender=node)
    if body["sender"] != node:
        raise Refused("unknown-sender", f"signed by {node} but names {body['sender']!r} as sender", sender=node)
    recipient = _field(body, "recipient", node)
    if recipient != me:
        raise Refused("not-for-us", f"addressed to {recipient}, this node is {me}", sender=node)
    try:
        created = parse_time(body["created"])
    except ValueError as e:
        raise Refused("malformed", f"created: {e}", sender=node) from None
    if not key.valid_at(created):
        raise Refused(
            "key-window", f"key {key.keyid[:16]}... of {node} was not current at {body['created']}", sender=node
        )
    if created < now - skew:
        raise Refused("stale", f"created {body['created']}, more than {skew} before now", sender=node)
    if created > now + skew:
        raise Refused("future", f"created {body['created']}, more than {skew} after now", sender=node)
    nonce = _field(body, "nonce", node)
    if len(nonce) != 32 or nonce.strip("0123456789abcdef"):
        raise Refused("malformed", "nonce must be 32 lower-case hex digits (128 bits)", sender=node)
    if not isinstance(body["object"], dict):
        raise Refused("malformed", "object must be a JSON object", sender=node)
    agreement_id = _field(body, "agreement", node)
    purpose, marking, category = (_field(body, f, node) for f in ("purpose", "marking", "category"))
    received_under = _field(body, "received_under", node, nullable=True)
    if not nonces.add(node, nonce, created, now):
        raise Refused("replay", f"nonce {nonce} from {node} was already received", sender=node)
    agreement = agreements.get(agreement_id)
    if agreement is None:
        raise Refused("agreement", f"no agreement {agreement_id} in force here", clause="id", sender=node)
    upstream: Agreement | None = None
    if received_under is not None:
        upstream = agreements.get(received_under)
        if upstream is None:
            raise Refused(
                "agreement",
                f"onward object received under agreement {received_under}, which this node does not hold",
                clause="onward_sharing",
                sender=node,
            )
    meta = ObjectMeta(node, recipient, purpose, marking, category, upstream)
    refusal: Refusal | None = check_incoming(agreement, meta, now)
    if refusal is not None:
        raise Refused("agreement", str(refusal), clause=refusal.clause, sender=node)
    return Opened(
        raw,
        digest(raw),
        key.keyid,
        node,
        recipient,
        agreement_id,
        purpose,
        marking,
        category,
        created,
        nonce,
        received_under,
        body["object"],
    )
