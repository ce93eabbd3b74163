"""Two real nodes in one process: a platform's node (A) and a hotline's node (B), each with its own
database (on the backend under test), key directory and app, A reaching B through httpx's ASGI transport.
They know each other as trusted peers and both hold one agreement signed by both."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from accord.api.app import create_app
from accord.clock import FixedClock
from accord.exchange.agreement import SignedAgreement
from accord.ids import OrgId
from accord.model.agreement import Agreement
from accord.model.organisation import Actor, OrganisationIn, OrgKind, Role
from accord.safeguards.apikeys import KeyVerifier
from accord.services import admin, peers
from accord.services.node import Node, open_node
from accord.settings import Settings
from tests.conftest import PG_URL, RELAXED_RATE, World

B_URL = "http://node-b.test"
A_URL = "http://node-a.test"


@dataclass
class Pair:
    a: Node
    b: Node
    a_world: World
    b_world: World
    a_org: str
    b_org: str
    a_actor: Actor
    b_actor: Actor
    agreement: Agreement
    clock: FixedClock


def _open(tmp: Path, backend: str, clock: FixedClock, schemas: list[str], name: str) -> Node:
    cheap = KeyVerifier(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    if backend == "sqlite":
        return open_node(Settings(data_dir=tmp / name, **RELAXED_RATE), clock=clock, keys=cheap)  # type: ignore[arg-type]
    schema = f"t_{hashlib.sha256(str(tmp).encode()).hexdigest()[:8]}_{name}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    schemas.append(schema)
    settings = Settings(data_dir=tmp / name, database_url=PG_URL, **RELAXED_RATE)  # type: ignore[arg-type]
    return open_node(settings, clock=clock, schema=schema, keys=cheap)


def reopen(tmp: Path, backend: str, clock: FixedClock, name: str) -> Node:
    """A second Node on the database (and data directory) of the pair's node ``name`` ("a" or "b"), as a
    restarted server or another worker would open it; the caller closes it."""
    cheap = KeyVerifier(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    if backend == "sqlite":
        return open_node(Settings(data_dir=tmp / name, **RELAXED_RATE), clock=clock, keys=cheap)  # type: ignore[arg-type]
    schema = f"t_{hashlib.sha256(str(tmp).encode()).hexdigest()[:8]}_{name}"
    settings = Settings(data_dir=tmp / name, database_url=PG_URL, **RELAXED_RATE)  # type: ignore[arg-type]
    return open_node(settings, clock=clock, schema=schema, keys=cheap)


def agreement_between(pair_ids: dict[str, str], clock: FixedClock, agreement_id: str, **terms: object) -> Agreement:
    fields: dict[str, object] = {
        "id": agreement_id,
        "parties": [OrgId(o) for o in pair_ids],
        "nodes": {OrgId(o): [n] for o, n in pair_ids.items()},
        "purposes": ["takedown"],
        "legal_bases": ["eu-dsa-18", "mou"],
        "categories": ["csam", "grooming"],
        "jurisdictions": ["NL", "DE"],
        "max_marking": "AMBER",
        "retention_days": 365,
        "onward_sharing": False,
        "valid_from": clock.now(),
        "valid_until": None,
        "created_at": clock.now(),
    }
    fields.update(terms)
    return Agreement.model_validate(fields)


@pytest.fixture
def pair(tmp_path: Path, backend: str, clock: FixedClock) -> Iterator[Pair]:
    schemas: list[str] = []
    a = _open(tmp_path, backend, clock, schemas, "a")
    b = _open(tmp_path, backend, clock, schemas, "b")
    try:
        worlds = []
        for n, name in ((a, "Operator A"), (b, "Operator B")):
            _, key = admin.bootstrap(n, OrganisationIn(name=name, kind=OrgKind.hotline, jurisdiction="NL"))
            worlds.append(World(n, key.token))
        a_org, a_token = worlds[0].org("Platform", [Role.analyst], kind=OrgKind.platform, jurisdiction="NL")
        b_org, b_token = worlds[1].org("Hotline", [Role.analyst], jurisdiction="DE")
        peers.trust_peer(a, None, peers.add_peer(a, None, B_URL, b.me.document.to_json(), [b_org]).node_id)
        peers.trust_peer(b, None, peers.add_peer(b, None, A_URL, a.me.document.to_json(), [a_org]).node_id)
        agreement = agreement_between(
            {a_org: a.me.node_id, b_org: b.me.node_id}, clock, "agr_01TESTPLATFORMHOTLINE0000"
        )
        signed = SignedAgreement(agreement).sign(a.me).sign(b.me).to_json()
        peers.store_agreement(a, None, signed)
        peers.store_agreement(b, None, signed)
        a.peer_transport = httpx.ASGITransport(app=create_app(b, run_jobs=False), client=("192.0.2.1", 443))
        b.peer_transport = httpx.ASGITransport(app=create_app(a, run_jobs=False), client=("192.0.2.2", 443))
        clock.advance(timedelta(hours=1))  # keys and agreement opened an hour ago
        yield Pair(
            a,
            b,
            worlds[0],
            worlds[1],
            a_org,
            b_org,
            worlds[0].actor(a_token),
            worlds[1].actor(b_token),
            agreement,
            clock,
        )
    finally:
        a.close()
        b.close()
        if schemas:
            engine = sa.create_engine(PG_URL)
            with engine.begin() as conn:
                for s in schemas:
                    conn.execute(sa.text(f'DROP SCHEMA "{s}" CASCADE'))
            engine.dispose()


class Router(httpx.AsyncBaseTransport):
    """One node's way to its peers: each peer's app by its URL's host, over httpx's ASGI transport. A host
    mapped to None is down (the connection fails, as a stopped node's would)."""

    def __init__(self) -> None:
        self.routes: dict[str, httpx.AsyncBaseTransport | None] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self.routes.get(request.url.host)
        if target is None:
            raise httpx.ConnectError(f"{request.url.host} is down", request=request)
        return await target.handle_async_request(request)


@dataclass
class Chain:
    """Three nodes: a platform (NL), a hotline (DE), a police agency (BE). Agreements platform<->hotline
    ``ph`` (onward sharing allowed) and ``ph_closed`` (not allowed), and hotline<->police ``hc``. The police
    node holds ``ph`` as an upstream agreement so it can check objects the hotline shares on."""

    p: Node
    h: Node
    c: Node
    p_org: str
    h_org: str
    c_org: str
    ph: Agreement
    ph_closed: Agreement
    hc: Agreement
    routers: dict[str, Router]
    clock: FixedClock


P_URL, H_URL, C_URL = "http://platform.test", "http://hotline.test", "http://police.test"


@pytest.fixture
def chain(tmp_path: Path, backend: str, clock: FixedClock) -> Iterator[Chain]:
    schemas: list[str] = []
    nodes = [_open(tmp_path, backend, clock, schemas, name) for name in ("p", "h", "c")]
    p, h, c = nodes
    try:
        orgs = []
        for n, (name, kind, country) in zip(
            nodes,
            [
                ("Platform", OrgKind.platform, "NL"),
                ("Hotline", OrgKind.hotline, "DE"),
                ("Police", OrgKind.law_enforcement, "BE"),
            ],
            strict=True,
        ):
            admin.bootstrap(n, OrganisationIn(name=f"Operator of {name}", kind=OrgKind.hotline, jurisdiction=country))
            orgs.append(World(n, "").org(name, [Role.analyst], kind=kind, jurisdiction=country)[0])
        p_org, h_org, c_org = orgs

        def know(who: Node, url: str, other: Node, org: str, *, trust: bool = True) -> None:
            added = peers.add_peer(who, None, url, other.me.document.to_json(), [org])
            if trust:
                peers.trust_peer(who, None, added.node_id)

        know(p, H_URL, h, h_org)
        know(h, P_URL, p, p_org)
        know(h, C_URL, c, c_org)
        know(c, H_URL, h, h_org)
        know(c, P_URL, p, p_org, trust=False)  # only to verify the upstream agreement's signatures
        ph = agreement_between({p_org: p.me.node_id, h_org: h.me.node_id}, clock, "agr_01SYNCPH00000000000000000")
        ph = ph.model_copy(update={"onward_sharing": True})
        ph_closed = agreement_between(
            {p_org: p.me.node_id, h_org: h.me.node_id}, clock, "agr_01SYNCPHCLOSED00000000000"
        )
        hc = agreement_between({h_org: h.me.node_id, c_org: c.me.node_id}, clock, "agr_01SYNCHC00000000000000000")
        for a, holders in ((ph, (p, h)), (ph_closed, (p, h)), (hc, (h, c))):
            signed = SignedAgreement(a).sign(holders[0].me).sign(holders[1].me).to_json()
            for n in holders:
                peers.store_agreement(n, None, signed)
        signed_ph = SignedAgreement(ph).sign(p.me).sign(h.me).to_json()
        peers.store_agreement(c, None, signed_ph, upstream=True)
        apps = {
            "platform.test": httpx.ASGITransport(app=create_app(p, run_jobs=False), client=("192.0.2.1", 443)),
            "hotline.test": httpx.ASGITransport(app=create_app(h, run_jobs=False), client=("192.0.2.2", 443)),
            "police.test": httpx.ASGITransport(app=create_app(c, run_jobs=False), client=("192.0.2.3", 443)),
        }
        routers = {}
        for n, name in ((p, "p"), (h, "h"), (c, "c")):
            router = Router()
            router.routes.update(apps)
            n.peer_transport = router
            routers[name] = router
        clock.advance(timedelta(hours=1))
        yield Chain(p, h, c, p_org, h_org, c_org, ph, ph_closed, hc, routers, clock)
    finally:
        for n in nodes:
            n.close()
        if schemas:
            engine = sa.create_engine(PG_URL)
            with engine.begin() as conn:
                for s in schemas:
                    conn.execute(sa.text(f'DROP SCHEMA "{s}" CASCADE'))
            engine.dispose()
