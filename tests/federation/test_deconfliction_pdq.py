"""Near-duplicate PDQ deconfliction between two real nodes over HTTP (ASGI transport), and the responder's
sessions kept in its database. The platform's node (A) asks the hotline's node (B) which of its PDQ hashes
have a near duplicate there. Each side learns exactly what a plain brute-force comparison of the two sets
finds (benign random 256-bit values and copies with bits flipped, within and beyond the threshold), no
hash crosses in clear or as a plain hash of it, a responder restarted between messages (a new Node on the
same database) completes the session, an expired session is refused, and the per-peer limits refuse and
are audited as for exact sets."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from accord.api.app import create_app
from accord.exchange.envelope import digest, seal
from accord.exchange.psi import Reply
from accord.exchange.psi_pdq import PdqInitiator
from accord.model.organisation import Actor
from accord.services import deconfliction
from accord.services import reports as report_service
from accord.services.node import Node
from accord.store import schema
from tests.conftest import auth, report_json
from tests.federation.conftest import Pair, another_worker
from tests.federation.test_deconfliction import (
    DCF_AGREEMENT,
    a_token,
    allow_deconfliction,
    client_of,
    envelopes,
    events,
    forms,
    runs,
)

RNG = random.Random(2026)


def rand() -> str:
    return f"{RNG.getrandbits(256):064x}"


def flip(value: str, bits: list[int]) -> str:
    v = int(value, 16)
    for b in bits:
        v ^= 1 << b
    return f"{v:064x}"


def spread(per_chunk: list[int]) -> list[int]:
    """Bit positions to flip: ``per_chunk[c]`` bits inside chunk ``c`` (chunk 0 holds the top 16 bits)."""
    return [255 - 16 * c - k for c, n in enumerate(per_chunk) for k in range(n)]


def dist(x: str, y: str) -> int:
    return bin(int(x, 16) ^ int(y, 16)).count("1")


def brute(mine: list[str], theirs: list[str], threshold: int) -> set[str]:
    """The plain computation: my hashes within ``threshold`` of any of theirs."""
    return {x for x in mine if any(dist(x, y) <= threshold for y in theirs)}


def load_pdq(node: Node, actor: Actor, hashes: list[str]) -> None:
    """Reports of the actor's organisation, each with one media item known by its PDQ hash only."""
    lines = [
        (i + 1, orjson.dumps(report_json(f"pdq-{i}", media=[{"pdq": h, "pdq_quality": 90}])))
        for i, h in enumerate(hashes)
    ]
    assert report_service.ingest_lines(node, actor, lines).accepted == len(hashes)


@pytest.fixture
def planted(pair: Pair) -> tuple[Pair, list[str], list[str]]:
    """A's and B's hashes: near copies of some of A's at B, at and beyond the threshold of 31."""
    a = [rand() for _ in range(12)]
    b = [
        flip(a[0], RNG.sample(range(256), 3)),
        flip(a[1], spread([2] * 15 + [1])),  # 31 bits, one chunk meets only with one bit off: the worst case
        flip(a[2], spread([2] * 16)),  # 32 bits, every chunk two bits off: beyond
        a[3],  # identical
        flip(a[4], RNG.sample(range(256), 20)),
        flip(a[5], RNG.sample(range(256), 45)),  # far beyond
        *(rand() for _ in range(8)),
    ]
    assert [dist(a[i], b[i]) for i in range(6)] == [3, 31, 32, 0, 20, 45]
    load_pdq(pair.a, pair.a_actor, a)
    load_pdq(pair.b, pair.b_actor, b)
    allow_deconfliction(pair)
    return pair, a, b


def keys(hashes: set[str]) -> set[str]:
    return {f"pdq:{h}" for h in hashes}


def wire_text(*nodes: Node) -> str:
    """Every envelope and receipt the nodes stored, raw and with its payload decoded."""
    wire = ""
    for node in nodes:
        for row in envelopes(node):
            for blob in (bytes(row.raw), bytes(row.receipt) if row.receipt is not None else b""):
                wire += blob.decode()
                if blob:
                    wire += base64.b64decode(json.loads(blob)["payload"]).decode()
    return wire


def sessions(node: Node) -> list[Any]:
    with node.db.read() as conn:
        return list(conn.execute(sa.select(schema.deconfliction_sessions)))


def test_pdq_finds_exactly_the_planted_near_duplicates_and_no_hash_crosses(
    planted: tuple[Pair, list[str], list[str]],
) -> None:
    p, a, b = planted
    token = a_token(p)
    body = {"peer": p.b.me.node_id, "set": "pdq"}
    with client_of(p.a) as c:
        r = c.post("/v1/deconfliction/runs", json=body, headers=auth(token))
        assert r.status_code == 201, r.text
        run = r.json()
        want_a = brute(a, b, 31)
        assert want_a == {a[0], a[1], a[3], a[4]}
        assert (run["set"], run["mode"], run["threshold"], run["state"]) == ("pdq", "members", 31, "done")
        assert set(run["members"]) == keys(want_a) and run["count"] == 4 and run["own_size"] == len(a)

        # count mode at a threshold of 15 (round 1 without neighbours): the count only
        r = c.post("/v1/deconfliction/runs", json={**body, "mode": "count", "threshold": 15}, headers=auth(token))
        assert r.status_code == 201, r.text
        counted = r.json()
        assert counted["count"] == len(brute(a, b, 15)) == 2 and counted["members"] is None

        # beyond what psi_pdq can find, or a threshold for an exact set: refused before anything leaves
        r = c.post("/v1/deconfliction/runs", json={**body, "threshold": 32}, headers=auth(token))
        assert r.status_code == 422
        r = c.post("/v1/deconfliction/runs", json={**body, "set": "hashes", "threshold": 3}, headers=auth(token))
        assert r.status_code == 422 and "pdq only" in r.json()["detail"]
        a_alerts = c.get("/v1/deconfliction/alerts", headers=auth(token)).json()

    # B learned its own side under the same reference: its hashes near one of A's, never A's
    by_ref = {r.reference: r for r in runs(p.b)}
    b_run, b_counted = by_ref[run["reference"]], by_ref[counted["reference"]]
    assert (b_run.role, b_run.state, b_run.set, b_run.threshold) == ("responder", "done", "pdq", 31)
    assert set(b_run.members) == keys(brute(b, a, 31)) == keys({b[0], b[1], b[3], b[4]})
    assert b_counted.count == len(brute(b, a, 15)) and b_counted.members is None
    assert {x["reference"] for x in a_alerts} == {run["reference"], counted["reference"]}
    assert len(events(p.b, "deconfliction.alert")) == 2

    # five envelopes per run on each side, none carrying a hash of either side in clear or plainly hashed
    assert len(envelopes(p.a)) == len(envelopes(p.b)) == 10
    wire = wire_text(p.a, p.b)
    every = set(a) | set(b)
    clear = [f for h in every for f in forms(h) + forms(f"pdq:{h}") + forms(h.upper())]
    clear += [base64.b64encode(bytes.fromhex(h)).decode() for h in every]
    assert [f for f in clear if f in wire] == []
    assert sessions(p.b) == []  # every session ended and was forgotten

    # audited on both sides: start and result per run (A); reply, distances and result per run (B)
    assert len(events(p.a, "deconfliction.query")) == 4
    steps = [e.detail.get("step") for e in events(p.b, "deconfliction.answer")]
    assert steps == ["reply", "distances", "result"] * 2


class Restarting(httpx.AsyncBaseTransport):
    """B as reached by A: after each message, B's server "restarts" (a new Node on the same database,
    a new app); ``after(n)`` runs once message ``n`` (0 the offer) was answered."""

    def __init__(self, first: Node, reopen_b: Callable[[], Node], after: Callable[[int], None] = lambda n: None):
        self.reopen_b, self.after, self.opened = reopen_b, after, [first]
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        app = create_app(self.opened[-1], run_jobs=False)
        response = await httpx.ASGITransport(app=app, client=("192.0.2.1", 443)).handle_async_request(request)
        await response.aread()
        self.after(self.sent)
        self.sent += 1
        self.opened.append(self.reopen_b())
        return response

    def close_all(self) -> None:
        for n in self.opened[1:]:
            n.close()


def test_a_responder_restarted_between_messages_completes_the_session(
    planted: tuple[Pair, list[str], list[str]], tmp_path: Path, backend: str
) -> None:
    p, a, b = planted
    route = Restarting(p.b, lambda: another_worker(tmp_path, backend, p.clock, "b"))
    p.a.peer_transport = route
    try:
        run = asyncio.run(deconfliction.start(p.a, p.a_actor, peer=p.b.me.node_id, kind="pdq"))
        assert route.sent == 3  # offer, candidates, finishes: each to a freshly opened node
        assert (run.state, run.detail) == ("done", None)
        assert set(run.members or []) == keys(brute(a, b, 31))
        (b_run,) = [r for r in runs(p.b) if r.reference == run.reference]
        assert (b_run.state, set(b_run.members)) == ("done", keys(brute(b, a, 31)))
        assert sessions(p.b) == []

        # an exact-set session survives a restart the same way (it was in memory before)
        run = asyncio.run(deconfliction.start(p.a, p.a_actor, peer=p.b.me.node_id, kind="hashes"))
        assert route.sent == 5 and run.detail is None and run.count == 1  # a[3] is also an exact pdq: key
        (b_run,) = [r for r in runs(p.b) if r.reference == run.reference]
        assert (b_run.state, b_run.count) == ("done", 1)
    finally:
        route.close_all()


def test_an_expired_session_is_refused_and_forgotten(planted: tuple[Pair, list[str], list[str]]) -> None:
    """A's candidates reach B 10 minutes and a second after B's reply (A was slow): refused, the session
    deleted, B's run failed; an A that is not a node's service, so that its clock can run on in between."""
    p, a, _ = planted
    psi, offer = _offer_from_a(p, a)
    r = asyncio.run(_post(p, offer))
    assert r.status_code == 200 and len(sessions(p.b)) == 1
    reply = json.loads(base64.b64decode(json.loads(r.content)["payload"]))["object"]
    candidates = psi.candidates(Reply.from_json(reply["reply"]))
    p.clock.advance(timedelta(minutes=10, seconds=1))
    late = _seal(
        p,
        {
            "answers": digest(r.content),
            "candidates": candidates.to_json(),
            "reference": reply["reference"],
            "type": "pdq-candidates",
        },
    )
    r = asyncio.run(_post(p, late))
    assert r.status_code == 403 and r.json()["reason"] == "session-expired", r.text
    (b_run,) = runs(p.b)
    assert b_run.state == "failed" and b_run.detail.startswith("session-expired")
    assert sessions(p.b) == []
    (b_refused,) = [e for e in events(p.b, "deconfliction.answer") if e.outcome == "refused"]
    assert b_refused.detail["reason"] == "session-expired"
    r = asyncio.run(_post(p, _seal(p, {**json.loads(base64.b64decode(json.loads(late)["payload"]))["object"]})))
    assert r.json()["reason"] == "unknown-session"  # the same candidates again (a new envelope): gone


def _seal(p: Pair, obj: dict[str, Any]) -> bytes:
    return seal(
        p.a.me,
        recipient=p.b.me.node_id,
        agreement_id=DCF_AGREEMENT,
        purpose="deconfliction",
        marking="GREEN",
        category="csam",
        obj=obj,
        now=p.clock.now(),
    )


def _offer_from_a(p: Pair, hashes: list[str]) -> tuple[PdqInitiator, bytes]:
    psi = PdqInitiator(hashes, threshold=31)
    obj = {
        "offer": psi.offer().to_json(),
        "pdq": {"mode": "members", "threshold": 31},
        "reference": f"dcr_{psi.session[:8]}",
        "type": "psi-offer",
    }
    return psi, _seal(p, obj)


async def _post(p: Pair, raw: bytes) -> httpx.Response:
    async with httpx.AsyncClient(transport=p.a.peer_transport, base_url="http://node-b.test") as client:
        return await client.post(deconfliction.PATH, content=raw)


def test_the_daily_limit_and_the_open_session_bound_refuse_pdq_runs_and_are_audited(
    planted: tuple[Pair, list[str], list[str]],
) -> None:
    p, a, _ = planted
    token = a_token(p)
    body = {"peer": p.b.me.node_id, "set": "pdq", "mode": "count"}
    p.a.settings = replace(p.a.settings, deconfliction_daily_limit=1)
    with client_of(p.a) as c:
        assert c.post("/v1/deconfliction/runs", json=body, headers=auth(token)).status_code == 201
        r = c.post("/v1/deconfliction/runs", json=body, headers=auth(token))
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
        assert [e.detail["reason"] for e in events(p.a, "deconfliction.query") if e.outcome == "refused"] == [
            "rate-limit"
        ]
        assert len(runs(p.b)) == 1  # nothing reached B

        # B holds at most one open session from A: an offer left unfinished keeps it open for 10 minutes
        p.a.settings = replace(p.a.settings, deconfliction_daily_limit=10)
        p.b.settings = replace(p.b.settings, deconfliction_open_sessions=1)
        assert asyncio.run(_post(p, _offer_from_a(p, a[:3])[1])).status_code == 200
        assert len(sessions(p.b)) == 1
        r = c.post("/v1/deconfliction/runs", json=body, headers=auth(token))
        assert r.status_code == 429, r.text
        (b_refused,) = [e for e in events(p.b, "deconfliction.answer") if e.outcome == "refused"]
        assert b_refused.detail["reason"] == "rate-limit" and "open" in b_refused.detail["detail"]

        # once it expired, the next offer purges it (its run fails) and is answered
        p.clock.advance(timedelta(minutes=11))
        assert c.post("/v1/deconfliction/runs", json=body, headers=auth(token)).status_code == 201
    expired = [r for r in runs(p.b) if r.state == "failed"]
    assert len(expired) == 1 and expired[0].detail.startswith("session-expired")
    assert sessions(p.b) == []
