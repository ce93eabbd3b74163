"""A platform's node shares with a hotline's node over HTTP (ASGI transport): an object arrives once, and
every bad envelope is refused with its reason, stored nowhere on B, audited on B, and its refusal receipt
recorded on A. Both nodes are real (own database, keys, app); nothing is mocked."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from accord.custody.entry import parse_leaf
from accord.exchange.envelope import Refused, digest, seal
from accord.exchange.identity import NodeIdentity
from accord.exchange.wire import canonical
from accord.services import federation
from accord.services.node import Node
from accord.store import schema
from tests.federation.conftest import Pair

SIGHTING = {"type": "sighting", "sha256": hashlib.sha256(b"synthetic sighting 1").hexdigest()}


def share(p: Pair, **overrides: Any) -> federation.Delivery:
    terms: dict[str, Any] = {
        "peer": p.b.me.node_id,
        "agreement_id": p.agreement.id,
        "purpose": "takedown",
        "marking": "AMBER",
        "category": "csam",
        "obj": SIGHTING,
        **overrides,
    }
    return asyncio.run(federation.share(p.a, p.a_actor, **terms))


def deliver(p: Pair, raw: bytes) -> federation.Delivery:
    return asyncio.run(federation.deliver(p.a, p.a_actor, peer=p.b.me.node_id, agreement_id=p.agreement.id, raw=raw))


def rows(node: Node, table: sa.Table, *where: Any) -> list[Any]:
    with node.db.read() as conn:
        return list(conn.execute(sa.select(table).where(*where)))


def leaves(node: Node) -> list[tuple[str, str, str]]:
    """(action, object id, digest) of every custody leaf."""
    with node.db.read() as conn:
        raw = conn.execute(sa.select(schema.custody_leaves.c.leaf).order_by(schema.custody_leaves.c.seq))
        return [(e.action.value, e.object_id, e.digest) for e in (parse_leaf(bytes(r.leaf)) for r in raw)]


def receive_events(node: Node) -> list[Any]:
    return rows(node, schema.audit_events, schema.audit_events.c.action == "federation.receive")


def b_state(p: Pair) -> tuple[int, int, int]:
    """What B stores: envelopes, custody leaves, nonces."""
    return (
        len(rows(p.b, schema.federation_envelopes)),
        len(leaves(p.b)),
        len(rows(p.b, schema.federation_nonces)),
    )


def test_a_sighting_arrives_once_and_both_logs_prove_the_hand_over(pair: Pair) -> None:
    import httpx

    p = pair

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=p.a.peer_transport, base_url="http://node-b.test") as c:
            return await c.get("/v1/federation/identity")

    r = asyncio.run(get())  # public, and the very bytes A registered
    assert r.status_code == 200 and r.content == p.b.me.document.to_json()

    before = b_state(p)
    done = share(p)
    assert done.accepted and done.receipt.receiver == p.b.me.node_id and done.receipt.sender == p.a.me.node_id

    (inbound,) = rows(p.b, schema.federation_envelopes)
    (outbound,) = rows(p.a, schema.federation_envelopes)
    assert bytes(inbound.raw) == bytes(outbound.raw)  # verbatim on both sides
    assert (inbound.direction, inbound.org_id, inbound.peer, inbound.verdict) == (
        "in",
        p.b_org,
        p.a.me.node_id,
        "accepted",
    )
    assert (outbound.direction, outbound.org_id, outbound.verdict) == ("out", p.a_org, "accepted")
    assert bytes(inbound.receipt) == bytes(outbound.receipt)  # A keeps exactly what B signed
    body = json.loads(base64.b64decode(json.loads(bytes(inbound.raw))["payload"]))
    assert body["object"] == SIGHTING and body["marking"] == "AMBER"

    sent_digest = digest(bytes(outbound.raw)).removeprefix("sha256:")
    receipt_digest = digest(bytes(outbound.receipt)).removeprefix("sha256:")
    b_leaves = leaves(p.b)[before[1] :]
    assert b_leaves == [("shared_in", inbound.id, sent_digest), ("receipt", inbound.id, receipt_digest)]
    assert [leaf for leaf in leaves(p.a) if leaf[0] in ("shared_out", "receipt")] == [
        ("shared_out", outbound.id, sent_digest),
        ("receipt", outbound.id, receipt_digest),
    ]
    (event,) = receive_events(p.b)
    assert (event.outcome, event.org_id, event.object_id) == ("success", p.b_org, inbound.id)

    # the same bytes again: a replay, refused and audited on B, nothing more stored
    after_first = b_state(p)
    again = deliver(p, bytes(outbound.raw))
    assert (again.receipt.verdict, again.receipt.reason) == ("refused", "replay")
    assert b_state(p) == after_first
    refused = [e for e in receive_events(p.b) if e.outcome == "refused"]
    assert [e.detail["reason"] for e in refused] == ["replay"]
    assert refused[0].detail["sender"] == p.a.me.node_id
    assert len(rows(p.b, schema.federation_envelopes)) == 1  # arrived once


def tampered(p: Pair) -> bytes:
    raw = federation.seal_for(
        p.a,
        p.a_actor,
        peer=p.b.me.node_id,
        agreement_id=p.agreement.id,
        purpose="takedown",
        marking="GREEN",
        category="csam",
        obj=SIGHTING,
    )
    env = json.loads(raw)
    body = json.loads(base64.b64decode(env["payload"]))
    body["object"] = {**SIGHTING, "sha256": "0" * 64}
    env["payload"] = base64.b64encode(canonical(body)).decode()
    return canonical(env)


def wrong_key(p: Pair) -> bytes:
    impostor = NodeIdentity.generate(p.clock.now() - timedelta(days=1), p.a.me.node_id)
    return _sealed(p, impostor)


def stale(p: Pair) -> bytes:
    return _sealed(p, p.a.me, now=p.clock.now() - timedelta(minutes=10))


def marking_above(p: Pair) -> bytes:
    return _sealed(p, p.a.me, marking="RED")


def category_outside(p: Pair) -> bytes:
    return _sealed(p, p.a.me, category="extortion")


def _sealed(p: Pair, who: NodeIdentity, **terms: Any) -> bytes:
    """Sealed without check_outgoing: a sender that does not check its side (the receiver must)."""
    fields: dict[str, Any] = {
        "recipient": p.b.me.node_id,
        "agreement_id": p.agreement.id,
        "purpose": "takedown",
        "marking": "AMBER",
        "category": "csam",
        "obj": SIGHTING,
        "now": p.clock.now(),
        **terms,
    }
    return seal(who, **fields)


REFUSALS: list[tuple[Callable[[Pair], bytes], str, str | None]] = [
    (tampered, "signature", None),
    (wrong_key, "unknown-key", None),
    (stale, "stale", None),
    (marking_above, "agreement", "max_marking"),
    (category_outside, "agreement", "categories"),
]


def test_each_bad_envelope_is_refused_stored_nowhere_and_audited(pair: Pair) -> None:
    """One pair of nodes for the five cases (two nodes take seconds to set up): each case checks its own."""
    p = pair
    for n, (make, reason, clause) in enumerate(REFUSALS, 1):
        raw = make(p)
        before = b_state(p)
        done = deliver(p, raw)
        case = f"{make.__name__}: {done.receipt}"
        assert (done.receipt.verdict, done.receipt.reason, done.receipt.clause) == ("refused", reason, clause), case
        assert b_state(p) == before == (0, before[1], 0), case  # nothing stored on B, not even the nonce
        events = receive_events(p.b)
        assert len(events) == n, case
        event = events[-1]
        assert (event.outcome, event.detail["reason"], event.detail["clause"]) == ("refused", reason, clause), case
        assert event.detail["envelope"] == digest(raw), case
        # A recorded what it sent and the refusal it got back, verbatim, with custody leaves for both
        sent = rows(p.a, schema.federation_envelopes)
        assert len(sent) == n, case
        last = sent[-1]
        assert bytes(last.raw) == raw and (last.verdict, last.reason, last.clause) == ("refused", reason, clause)
        a_leaves = [leaf for leaf in leaves(p.a) if leaf[0] in ("shared_out", "receipt")]
        assert a_leaves[-2:] == [
            ("shared_out", last.id, digest(raw).removeprefix("sha256:")),
            ("receipt", last.id, digest(bytes(last.receipt)).removeprefix("sha256:")),
        ], case

    # over HTTP, a refusal is problem+json naming the reason and the clause, with the signed receipt
    import httpx

    raw = marking_above(p)

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=p.a.peer_transport, base_url="http://node-b.test") as c:
            return await c.post(federation.INBOX_PATH, content=raw)

    r = asyncio.run(post())
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert (body["reason"], body["clause"], body["status"]) == ("agreement", "max_marking", 403)
    assert "TLP:RED above TLP:AMBER" in body["detail"]
    assert json.loads(body["receipt"])["payloadType"] == "application/vnd.accord.receipt.v1+json"
    assert b_state(p)[0] == 0


def test_an_object_above_the_agreement_never_leaves_and_a_removed_peer_opens_nothing(pair: Pair) -> None:
    p = pair
    with pytest.raises(Refused) as refused:
        share(p, marking="RED")
    assert refused.value.clause == "max_marking"
    assert rows(p.a, schema.federation_envelopes) == [] and receive_events(p.b) == []
    (event,) = rows(p.a, schema.audit_events, schema.audit_events.c.action == "federation.send")
    assert event.outcome == "refused" and event.detail["clause"] == "max_marking"

    # a peer B removed opens nothing any more
    from accord.services import peers

    peers.remove_peer(p.b, None, p.a.me.node_id)
    done = share(p)
    assert (done.receipt.verdict, done.receipt.reason) == ("refused", "unknown-key")
    assert b_state(p)[0] == 0
