"""``accord demo --nodes 3``: three federated nodes from one command, each on its own loopback port.

A platform in Ireland, a hotline in the Netherlands and a police agency in Germany: each node has its own
data directory (``platform/``, ``hotline/``, ``police/`` under the demo directory), its own identity and
database, and a slice of one synthetic world (the reports dealt round-robin, so the same synthetic
subjects turn up at several nodes). The nodes register each other as trusted peers, and sign two
agreements, platform-hotline and hotline-police (the police and the platform share none). Once the three
servers answer, the platform deconflicts its identifiers with the hotline over HTTP, so the overlap and
its deconfliction alert appear on both; then the nodes serve until Ctrl-C (or stop, with ``--no-serve``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import uvicorn
from rich.console import Console

from accord.api.app import create_app
from accord.cli.demo import _fresh_dir
from accord.cli.files import counting_progress
from accord.errors import AccordError
from accord.exchange.agreement import SignedAgreement
from accord.ids import OrgId
from accord.model.agreement import Agreement
from accord.model.organisation import ActorKind, CredentialIn, OrganisationIn, OrgKind, Role
from accord.services import admin, peers
from accord.services import deconfliction as dcf
from accord.services import reports as report_service
from accord.services.node import Node, open_node
from accord.settings import Settings

__all__ = ["NODES", "DemoNode", "run_federation_demo"]

# name, organisation, kind, jurisdiction
NODES = (
    ("platform", "Demo Platform", OrgKind.platform, "IE"),
    ("hotline", "Demo Hotline", OrgKind.hotline, "NL"),
    ("police", "Demo Police", OrgKind.law_enforcement, "DE"),
)
# which pairs sign an agreement (the platform and the police share none)
AGREEMENTS = (("platform", "hotline"), ("hotline", "police"))


@dataclass
class DemoNode:
    name: str
    node: Node
    org: str
    url: str
    analyst_token: str


def _node_settings(base: Settings, root: Path) -> Settings:
    return replace(
        base,
        data_dir=root,
        database_url=f"sqlite:///{root / 'accord.db'}",
        seal_key_file=root / "keys" / "seal.key",
        signing_key_file=root / "keys" / "signing.key",
        identity_dir=root / "keys",
        retention_interval_s=0,
    )


def _slices(world: Path, n: int) -> list[list[bytes]]:
    lines = [line for line in (world / "reports.ndjson").read_bytes().splitlines() if line.strip()]
    return [lines[i::n] for i in range(n)]


def _agreement(a: DemoNode, b: DemoNode, number: int) -> bytes:
    now = a.node.clock.now()
    agreement = Agreement.model_validate(
        {
            "id": f"agr_DEMO{number:022d}",
            "parties": [OrgId(a.org), OrgId(b.org)],
            "nodes": {OrgId(a.org): [a.node.me.node_id], OrgId(b.org): [b.node.me.node_id]},
            "purposes": [dcf.PURPOSE, "takedown", "victim-identification"],
            "legal_bases": ["national-law"],
            "categories": ["csam", "grooming", "extortion"],
            "jurisdictions": [],
            "max_marking": "AMBER",
            "retention_days": 365,
            "onward_sharing": False,
            "valid_from": now - timedelta(seconds=1),
            "valid_until": None,
            "created_at": now - timedelta(seconds=1),
        }
    )
    return SignedAgreement(agreement).sign(a.node.me).sign(b.node.me).to_json()


def setup(settings: Settings, seed: int, reports: int, port: int, err: Console) -> tuple[Path, list[DemoNode]]:
    """Three nodes with their world slices, peers and agreements (nothing served yet)."""
    from accord.simulate import generate

    root = _fresh_dir(settings).data_dir
    world = root / "world"
    with counting_progress(reports, err, "generating world") as advance:
        generate(seed, reports, world, progress=advance)
    nodes: list[DemoNode] = []
    for i, ((name, org_name, kind, country), lines) in enumerate(zip(NODES, _slices(world, len(NODES)), strict=True)):
        node = open_node(_node_settings(settings, root / name))
        org, _ = admin.bootstrap(node, OrganisationIn(name=org_name, kind=kind, jurisdiction=country))
        analyst = admin.create_credential_local(
            node, org.id, CredentialIn(name=f"{name} analyst", kind=ActorKind.user, roles=[Role.analyst])
        )
        actor = admin.authenticate(node, analyst.token)
        numbered: list[tuple[int, bytes | str | AccordError]] = [(n + 1, line) for n, line in enumerate(lines)]
        with counting_progress(len(lines), err, f"loading the {name}'s slice") as advance:
            report_service.ingest_lines(node, actor, numbered, on_batch=lambda r: advance(r.lines))
        nodes.append(DemoNode(name, node, org.id, f"http://127.0.0.1:{port + i}", analyst.token))
    for me in nodes:
        for other in nodes:
            if other is not me:
                added = peers.add_peer(me.node, None, other.url, other.node.me.document.to_json(), [other.org])
                peers.trust_peer(me.node, None, added.node_id)
    by_name = {n.name: n for n in nodes}
    for number, (x, y) in enumerate(AGREEMENTS, 1):
        signed = _agreement(by_name[x], by_name[y], number)
        peers.store_agreement(by_name[x].node, None, signed)
        peers.store_agreement(by_name[y].node, None, signed)
    return root, nodes


class _Server(uvicorn.Server):
    """One of several servers in one event loop: the demo handles Ctrl-C for all of them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def sync_round(nodes: list[DemoNode], out: Console) -> None:
    """Hook: where the demo runs one sync round between the agreed pairs once sync (issue 8, item 4) is on
    main; until then it says so and does nothing."""
    out.print("sync: not run (sync between nodes is not part of this build yet)")


async def _serve(nodes: list[DemoNode], serve: bool, out: Console) -> None:
    servers = [
        _Server(
            uvicorn.Config(create_app(n.node), host="127.0.0.1", port=int(n.url.rsplit(":", 1)[1]), log_level="warning")
        )
        for n in nodes
    ]
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                raise RuntimeError("a demo node could not start (is a port in use?)")
            await asyncio.sleep(0.05)
        for n in nodes:
            out.print(f"{n.name:9} {n.url}/docs  organisation {n.org}  analyst key {n.analyst_token}")
        platform, hotline = nodes[0], nodes[1]
        actor = admin.authenticate(platform.node, platform.analyst_token)
        run = await dcf.start(platform.node, actor, peer=hotline.node.me.node_id, kind="identifiers")
        out.print(
            f"deconfliction {run.reference}: the platform and the hotline both hold {run.count} identifiers "
            f"(of the platform's {run.own_size}, the hotline's {run.peer_size})"
            + ("; each now has a deconfliction alert: GET /v1/deconfliction/alerts" if run.count else "")
        )
        await sync_round(nodes, out)
        if serve:
            out.print("serving the three nodes (Ctrl-C to stop)")
            await stop.wait()
    finally:
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)


def run_federation_demo(
    settings: Settings, seed: int, reports: int, port: int, serve: bool, out: Console, err: Console
) -> None:
    root, nodes = setup(settings, seed, reports, port, err)
    out.print(f"three demo nodes in {root}")
    try:
        asyncio.run(_serve(nodes, serve, out))
    finally:
        for n in nodes:
            n.node.close()
