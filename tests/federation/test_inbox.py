"""The inbox rate limit (``accord.services.inbox``): each sending peer, and each client address for a sender
that is no trusted peer, gets a budget over the four peer-facing endpoints together; over it, 429
problem+json with ``Retry-After``, nothing stored, and one audit event per sender and window however long
the flood. A request that only claims a peer's key is counted against its address, not the peer. The counts
are in the database: two workers of one node spend one budget."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from accord.api.app import create_app
from accord.errors import RateLimited
from accord.exchange.envelope import seal
from accord.exchange.identity import NodeIdentity
from accord.exchange.wire import canonical
from accord.safeguards.ratelimit import SharedLimiter
from accord.services import inbox, sync
from accord.services.node import Node
from accord.settings import Settings
from accord.store import schema
from tests.federation.conftest import Pair, another_worker

LIMIT = 3
PATHS = ("/v1/federation/envelopes", "/v1/federation/feed", "/v1/federation/receipts", "/v1/deconfliction/envelopes")


def pull_request(p: Pair, signer: NodeIdentity | None = None) -> bytes:
    return seal(
        signer or p.a.me,
        recipient=p.b.me.node_id,
        agreement_id=p.agreement.id,
        purpose="takedown",
        marking="GREEN",
        category="csam",
        obj={"type": "sync.pull", "after": 0, "limit": 10},
        now=p.clock.now(),
    )


_apps: dict[int, Any] = {}


def post(node: Node, address: str, path: str, raw: bytes) -> httpx.Response:
    """POST to ``node``'s app as a client at ``address``."""
    app = _apps.get(id(node))
    if app is None or app[0] is not node:
        app = _apps[id(node)] = (node, create_app(node, run_jobs=False))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app[1], client=(address, 443))
        async with httpx.AsyncClient(transport=transport, base_url="http://node.test") as c:
            return await c.post(path, content=raw, headers={"content-type": "application/json"})

    return asyncio.run(go())


def limit_events(node: Node) -> list[Any]:
    with node.db.read() as conn:
        t = schema.audit_events
        return list(conn.execute(sa.select(t).where(t.c.action == "federation.rate-limit").order_by(t.c.seq)))


def stored(node: Node) -> int:
    with node.db.read() as conn:
        return len(conn.execute(sa.select(schema.federation_envelopes.c.id)).all())


@pytest.fixture
def limited(pair: Pair) -> Pair:
    pair.b.inbox_limiter = SharedLimiter(LIMIT, timedelta(seconds=60))
    return pair


def test_the_node_takes_its_limit_from_the_settings() -> None:
    s = Settings.from_env({"ACCORD_FEDERATION_RATE_LIMIT": "7", "ACCORD_FEDERATION_RATE_WINDOW_SECONDS": "9"})
    assert (s.federation_rate_limit, s.federation_rate_window_s) == (7, 9)
    assert (Settings().federation_rate_limit, Settings().federation_rate_window_s) == (600, 60)
    with pytest.raises(ValueError, match="ACCORD_FEDERATION_RATE_LIMIT"):
        Settings(federation_rate_window_s=0)


def test_a_peer_over_its_rate_is_refused_on_every_inbox_endpoint_and_audited_once(limited: Pair) -> None:
    p = limited
    for _ in range(LIMIT):
        assert post(p.b, "192.0.2.1", "/v1/federation/feed", pull_request(p)).status_code == 200
    before = stored(p.b)
    for path in PATHS * 3:  # the same budget over the four endpoints, from any address
        r = post(p.b, "203.0.113.9", path, pull_request(p))
        assert r.status_code == 429, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["status"] == 429 and body["type"].endswith("rate-limited") and p.a.me.node_id in body["detail"]
        assert 1 <= int(r.headers["retry-after"]) <= 60
    assert stored(p.b) == before  # nothing of a refused request is kept
    (event,) = limit_events(p.b)  # twelve refusals, one audit event
    assert (event.outcome, event.object_id, event.detail["sender"]) == ("refused", p.a.me.node_id, p.a.me.node_id)
    assert event.detail["limit"] == LIMIT

    # the puller sees a failure and backs off, as for a peer that is down
    (pulled,) = asyncio.run(sync.sync(p.a))
    assert pulled.error is not None and "429" in pulled.error and pulled.retry_at is not None

    # a new window: the peer is served again; a new flood is one more event
    p.clock.advance(timedelta(seconds=61))
    assert post(p.b, "192.0.2.1", "/v1/federation/feed", pull_request(p)).status_code == 200
    for _ in range(LIMIT + 3):
        post(p.b, "192.0.2.1", "/v1/federation/feed", pull_request(p))
    assert len(limit_events(p.b)) == 2


def test_unknown_senders_count_per_address_and_a_forged_signature_spends_no_peer_budget(limited: Pair) -> None:
    p = limited
    stranger = NodeIdentity.generate(p.clock.now() - timedelta(hours=2))
    # forged: the peer's key id on a body it did not sign
    envelope = json.loads(pull_request(p))
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(64)).decode()
    forged = canonical(envelope)
    attempts = [b"not json", pull_request(p, stranger), forged, b"{}"]
    for raw in attempts[:LIMIT]:
        assert post(p.b, "198.51.100.7", "/v1/federation/envelopes", raw).status_code in (403, 422)
    for raw in attempts:
        r = post(p.b, "198.51.100.7", "/v1/federation/receipts", raw)
        assert r.status_code == 429 and "198.51.100.7" in r.json()["detail"], r.text
    (event,) = limit_events(p.b)
    assert (event.object_id, event.detail["sender"], event.detail["address"]) == (None, None, "198.51.100.7")
    assert event.detail["path"] == "/v1/federation/receipts"
    # another address has its own budget; the peer, whose key the forgery named, has all of its own
    assert post(p.b, "198.51.100.8", "/v1/federation/envelopes", forged).status_code == 403
    for _ in range(LIMIT):
        assert post(p.b, "198.51.100.7", "/v1/federation/feed", pull_request(p)).status_code == 200


def windows(node: Node) -> list[tuple[str, int]]:
    with node.db.read() as conn:
        t = schema.inbox_rate_windows.c
        return [(r.sender, r.count) for r in conn.execute(sa.select(t.sender, t.count).order_by(t.sender))]


def test_two_workers_on_one_database_share_one_budget(limited: Pair, tmp_path: Path, backend: str) -> None:
    p = limited
    other = another_worker(tmp_path, backend, p.clock, "b")
    try:
        other.inbox_limiter = SharedLimiter(LIMIT, timedelta(seconds=60))
        for worker in (p.b, other, p.b):  # the budget, spent across the two workers
            assert post(worker, "192.0.2.1", "/v1/federation/feed", pull_request(p)).status_code == 200
        for worker in (other, p.b):
            r = post(worker, "192.0.2.1", "/v1/federation/feed", pull_request(p))
            assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60, r.text
        (event,) = limit_events(p.b)  # the first refusal across both workers, audited once
        assert event.detail["sender"] == p.a.me.node_id
        # each worker now knows the peer is over its limit: a flood is refused without a write
        assert windows(p.b) == [(f"peer:{p.a.me.node_id}", LIMIT + 2)]
        for worker in (p.b, other) * 5:
            assert post(worker, "192.0.2.1", "/v1/federation/receipts", pull_request(p)).status_code == 429
        assert windows(p.b) == [(f"peer:{p.a.me.node_id}", LIMIT + 2)] and len(limit_events(p.b)) == 1

        # the next window: served again by either worker; the old window's row is deleted
        p.clock.advance(timedelta(seconds=61))
        assert post(other, "192.0.2.1", "/v1/federation/feed", pull_request(p)).status_code == 200
        assert windows(p.b) == [(f"peer:{p.a.me.node_id}", 1)]
    finally:
        other.close()


def test_concurrent_requests_at_two_workers_are_counted_exactly(pair: Pair, tmp_path: Path, backend: str) -> None:
    """Four threads, two per worker, 40 requests at once against a budget of 25: exactly 25 are let through
    (the increment is atomic on both backends) and the refusal is audited once."""
    p = pair
    budget = 25
    other = another_worker(tmp_path, backend, p.clock, "b")
    try:
        for worker in (p.b, other):
            worker.inbox_limiter = SharedLimiter(budget, timedelta(seconds=60))
        raw = pull_request(p)
        outcomes: list[bool] = []
        lock = threading.Lock()
        start = threading.Barrier(4)

        def send(worker: Node) -> None:
            start.wait()
            for _ in range(10):
                try:
                    inbox.admit(worker, raw, "192.0.2.1", "/v1/federation/feed")
                    ok = True
                except RateLimited:
                    ok = False
                with lock:
                    outcomes.append(ok)

        threads = [threading.Thread(target=send, args=(w,)) for w in (p.b, other, p.b, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert (outcomes.count(True), outcomes.count(False)) == (budget, 40 - budget)
        assert len(limit_events(p.b)) == 1
    finally:
        other.close()
