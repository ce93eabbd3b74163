"""Receipts: the receiver's signed answer to an envelope, which the sender keeps as proof of hand-over.

A receipt is itself a DSSE envelope (its own payload type, so an envelope can never pass as a receipt)
whose body names the received envelope by digest (SHA-256 of its raw bytes), the receiver, the time and
the verdict: ``accepted``, or ``refused`` with the reason and clause. Both sides' custody logs store
the two raw byte strings, so each can later prove what was handed over and what the other said of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accord.exchange import dsse
from accord.exchange.envelope import Opened, Refused, digest, verified
from accord.exchange.identity import IdentityDocument, NodeIdentity
from accord.exchange.wire import canonical, format_time, parse_time

__all__ = ["RECEIPT_TYPE", "Receipt", "receipt", "verify_receipt"]

RECEIPT_TYPE = "application/vnd.accord.receipt.v1+json"

_FIELDS = {"at", "clause", "envelope", "reason", "receiver", "sender", "verdict"}


@dataclass(frozen=True)
class Receipt:
    envelope: str
    receiver: str
    sender: str | None
    at: datetime
    verdict: str
    reason: str | None
    clause: str | None


def receipt(identity: NodeIdentity, outcome: Opened | Refused, *, raw: bytes, now: datetime) -> bytes:
    """The signed receipt for the envelope ``raw`` that opened as ``outcome`` (accepted, or refused)."""
    accepted = isinstance(outcome, Opened)
    body = {
        "at": format_time(now),
        "clause": None if isinstance(outcome, Opened) else outcome.clause,
        "envelope": digest(raw),
        "reason": None if isinstance(outcome, Opened) else outcome.reason,
        "receiver": identity.node_id,
        "sender": outcome.sender,
        "verdict": "accepted" if accepted else "refused",
    }
    return dsse.write(RECEIPT_TYPE, canonical(body), identity.keyid, identity.sign)


def verify_receipt(raw_receipt: bytes, *, sent: bytes, receiver: IdentityDocument) -> Receipt:
    """Check a receipt for the envelope ``sent`` signed by ``receiver`` (a key current at its time)."""
    node, key, body = verified(raw_receipt, RECEIPT_TYPE, {receiver.node_id: receiver})
    if not isinstance(body, dict) or set(body) != _FIELDS:
        raise Refused("malformed", f"a receipt holds exactly {', '.join(sorted(_FIELDS))}", sender=node)
    if body["receiver"] != node:
        raise Refused("unknown-sender", f"signed by {node} but names {body['receiver']!r}", sender=node)
    if body["envelope"] != digest(sent):
        raise Refused("malformed", "the receipt names another envelope", sender=node)
    try:
        at = parse_time(body["at"])
    except ValueError as e:
        raise Refused("malformed", f"at: {e}", sender=node) from None
    if not key.valid_at(at):
        raise Refused("key-window", f"key {key.keyid[:16]}... of {node} was not current at {body['at']}", sender=node)
    if body["verdict"] not in {"accepted", "refused"}:
        raise Refused("malformed", f"verdict {body['verdict']!r} is neither accepted nor refused", sender=node)
    for name in ("sender", "reason", "clause"):
        if body[name] is not None and not isinstance(body[name], str):
            raise Refused("malformed", f"{name} must be a string or null", sender=node)
    return Receipt(body["envelope"], node, body["sender"], at, body["verdict"], body["reason"], body["clause"])
