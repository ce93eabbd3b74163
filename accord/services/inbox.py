"""The rate limit in front of the federation inbox endpoints (docs/federation.md, "Inbox rate limits").

``POST /v1/federation/envelopes``, ``/v1/federation/feed``, ``/v1/federation/receipts`` and
``/v1/deconfliction/envelopes`` take no API key: a trusted peer's signature is the credential. So they are
counted per sending peer, and a request whose signature is not a trusted peer's (garbage, an unknown key,
a forged signature) is counted per client address. The four endpoints share one budget per sender:
``ACCORD_FEDERATION_RATE_LIMIT`` requests per ``ACCORD_FEDERATION_RATE_WINDOW_SECONDS``.

Why the signature is checked before counting a request as a peer's: the key id in an envelope is public, so
counting by the key id a request claims would let anyone spend a trusted peer's budget and cut it off. A
request that only claims the peer's key is counted against its own address instead.

Why in the database (``accord.store.inbox``, one row per sender and fixed window): with several worker
processes, counts in each worker's memory would give a sender that many times the budget. Each counted
request costs one small write transaction (an atomic increment); a refusal costs none once the worker knows
the sender is over its limit in the window (``accord.safeguards.ratelimit.SharedLimiter`` remembers it), so
a flood adds at most one write per worker and window. A refusal is audited (``federation.rate-limit``,
outcome ``refused``) only when it is the sender's first in its window across all workers, so a flood adds
one audit row per window and sender, not one per request.
"""

from __future__ import annotations

from datetime import datetime

from cryptography.exceptions import InvalidSignature

from accord.errors import RateLimited
from accord.exchange import dsse
from accord.exchange.envelope import find_key
from accord.services.audit import draft
from accord.services.audit import record as audit_record
from accord.services.node import Node
from accord.store import inbox as store
from accord.store import orgs as org_store
from accord.store import peers as peer_store

__all__ = ["admit", "sender_of"]


def sender_of(node: Node, raw: bytes) -> str | None:
    """The trusted peer whose key made the signature on ``raw`` (any Accord DSSE message), or None."""
    try:
        envelope = dsse.parse(raw)
    except ValueError:
        return None
    with node.db.read() as conn:
        found = find_key(peer_store.trusted_documents(conn), envelope.keyid)
    if found is None:
        return None
    peer, key = found
    try:
        key.public_key.verify(envelope.sig, envelope.signed_bytes())
    except InvalidSignature:
        return None
    return peer


def admit(node: Node, raw: bytes, address: str, path: str, request_id: str | None = None) -> None:
    """Count one request to an inbox endpoint; over the sender's limit, raise ``RateLimited`` (429)."""
    peer = sender_of(node, raw)
    limiter = node.inbox_limiter
    limit, window_s = limiter.limit, int(limiter.window.total_seconds())

    def count(sender: str, window_start: datetime) -> int:
        with node.db.write() as conn:
            return store.count_request(conn, sender, window_start)

    verdict = limiter.hit(f"peer:{peer}" if peer else f"address:{address}"[:200], node.clock.now(), count)
    if verdict.allowed:
        return
    if verdict.first_refusal:
        with node.db.read() as conn:
            operator = org_store.operator_org_id(conn)
        detail: dict[str, object] = {
            "sender": peer,
            "address": None if peer else address,
            "path": path,
            "limit": limit,
            "window_s": window_s,
        }
        audit_record(
            node,
            draft(
                node,
                None,
                "federation.rate-limit",
                "peer" if peer else None,
                peer,
                request_id=request_id,
                outcome="refused",
                org_id=operator,
                detail=detail,
            ),
        )
    who = f"peer {peer}" if peer else f"address {address}"
    raise RateLimited(
        f"{who} sent more than {limit} requests to the federation endpoints in {window_s} s: wait and try again",
        verdict.retry_after,
    )
