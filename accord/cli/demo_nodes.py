"""``accord demo --nodes 3``: three federated nodes from one command, each on its own loopback port.

A platform in Ireland, a hotline in the Netherlands and a police agency in Germany: each node has its own
data directory (``platform/``, ``hotline/``, ``police/`` under the demo directory), its own identity and
database, and a slice of one synthetic world (the reports dealt round-robin, so the same synthetic
subjects turn up at several nodes). The nodes register each other as trusted peers, and sign two
agreements, platform-hotline (onward sharing allowed) and hotline-police (the police and the platform share
none; the police holds the platform-hotline agreement as an upstream one, to check what the hotline shares
on). The platform puts a hash bank built from its slice's media hashes into the platform-hotline feed.

Once the three servers answer, the platform deconflicts its identifiers with the hotline over HTTP, so the
overlap and its deconfliction alert appear on both. Then sync runs over HTTP as it does between real
nodes: the hotline pulls the platform's bank, shares its mirror on to the police, the police pulls it; the
platform retracts one entry and the retraction follows the same way. Each step's counts are printed. The
nodes then serve until Ctrl-C (or stop, with ``--no-serve``), each pulling its peers every
``SYNC_INTERVAL_S`` seconds in the background (with sync's own backoff for a peer that fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Callable, Iterator
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
from accord.model.bank import Bank, BankIn, EntriesIn, EntryIn
from accord.model.organisation import ActorKind, CredentialIn, OrganisationIn, OrgKind, Role
from accord.services import admin, banks, peers, sync
from accord.services import deconfliction as dcf
from accord.services import reports as report_service
from accord.services.node import Node, open_node
from accord.settings import Settings

__all__ = ["NODES", "SYNC_INTERVAL_S", "DemoNode", "run_federation_demo"]

# name, organisation, kind, jurisdiction
NODES = (
    ("platform", "Demo Platform", OrgKind.platform, "IE"),
    ("hotline", "Demo Hotline", OrgKind.hotline, "NL"),
    ("police", "Demo Police", OrgKind.law_enforcement, "DE"),
)
# which pairs sign an agreement, and whether it allows onward sharing (the platform and the police share
# none: what the police gets of the platform's comes through the hotline)
AGREEMENTS = (("platform", "hotline", True), ("hotline", "police", False))
# seconds between the background sync rounds while the demo serves (``run_federation_demo``'s default)
SYNC_INTERVAL_S = 30.0
# the name of the platform's shared bank, and the data category it is shared as
BANK_NAME = "platform media hashes"
CATEGORY = "csam"


@dataclass
class DemoNode:
    name: str
    node: Node
    org: str
    url: str
    analyst_token: str
    media: list[str]


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


def _media_hashes(lines: list[bytes]) -> list[str]:
    """The distinct SHA-256 media hashes of a slice of the world's reports, in the order they first appear."""
    seen: dict[str, None] = {}
    for line in lines:
        for media in json.loads(line).get("media") or []:
            if isinstance(media, dict) and isinstance(media.get("sha256"), str):
                seen.setdefault(media["sha256"], None)
    return list(seen)


def _agreement(a: DemoNode, b: DemoNode, number: int, onward: bool) -> bytes:
    now = a.node.clock.now()
    agreement = Agreement.model_validate(
        {
            "id": _agreement_id(number),
            "parties": [OrgId(a.org), OrgId(b.org)],
            "nodes": {OrgId(a.org): [a.node.me.node_id], OrgId(b.org): [b.node.me.node_id]},
            "purposes": [dcf.PURPOSE, "takedown", "victim-identification"],
            "legal_bases": ["national-law"],
            "categories": ["csam", "grooming", "extortion"],
            "jurisdictions": [],
            "max_marking": "AMBER",
            "retention_days": 365,
            "onward_sharing": onward,
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
        url = f"http://127.0.0.1:{port + i}"
        nodes.append(DemoNode(name, node, org.id, url, analyst.token, _media_hashes(lines)))
    for me in nodes:
        for other in nodes:
            if other is not me:
                added = peers.add_peer(me.node, None, other.url, other.node.me.document.to_json(), [other.org])
                peers.trust_peer(me.node, None, added.node_id)
    by_name = {n.name: n for n in nodes}
    for number, (x, y, onward) in enumerate(AGREEMENTS, 1):
        signed = _agreement(by_name[x], by_name[y], number, onward)
        peers.store_agreement(by_name[x].node, None, signed)
        peers.store_agreement(by_name[y].node, None, signed)
        for other in nodes:  # what is shared on under it reaches the others: they check its onward clause
            if onward and other.name not in (x, y):
                peers.store_agreement(other.node, None, signed, upstream=True)
    _share_platform_bank(by_name["platform"])
    return root, nodes


def _agreement_id(number: int) -> str:
    return f"agr_DEMO{number:022d}"


def _share_platform_bank(platform: DemoNode) -> None:
    """The platform's hash bank, from its slice's media hashes, shared into the platform-hotline feed."""
    bank = banks.create_local(platform.node, platform.org, BankIn(name=BANK_NAME, type="sha256"))
    if platform.media:
        entries = EntriesIn(entries=[EntryIn(value=v) for v in platform.media])
        banks.add_entries_local(platform.node, platform.org, bank.id, entries)
    sync.share_bank(platform.node, None, platform.org, bank.id, _agreement_id(1), CATEGORY)


class _Server(uvicorn.Server):
    """One of several servers in one event loop: the demo handles Ctrl-C for all of them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _mirror(holder: DemoNode, source: DemoNode, origin_bank: str) -> Bank | None:
    """The holder's mirror of ``origin_bank`` at ``source`` (sync names it after the origin bank and peer)."""
    tag = f"({origin_bank} from {source.node.me.node_id})"
    return next((b for b in banks.list_banks_local(holder.node, holder.org) if tag in b.name), None)


def _pulled(done: list[sync.Pulled]) -> str:
    failed = [f"{r.peer}: {r.error}" for r in done if r.error]
    return f"{sum(r.applied for r in done)} applied" + (f", failed: {'; '.join(failed)}" if failed else "")


async def sync_round(nodes: list[DemoNode], out: Console) -> tuple[int, int, int]:
    """Sync down the chain over HTTP, once for the entries and once for a retraction; print what arrived where.
    Returns the active entries of the platform's bank, the hotline's mirror and the police's mirror."""
    platform, hotline, police = nodes
    shared = await asyncio.to_thread(banks.resolve_local, platform.node, platform.org, BANK_NAME)
    size = len(platform.media)
    out.print(f"sync: the platform shares {size} media hashes ({BANK_NAME}) with the hotline, onward sharing allowed")
    done = await sync.sync(hotline.node, peer=platform.node.me.node_id)
    mirror = await asyncio.to_thread(_mirror, hotline, platform, shared)
    if mirror is None:
        out.print(f"sync: nothing reached the hotline ({_pulled(done)})")
        return size, 0, 0
    out.print(f"sync: the hotline pulled from the platform: {_pulled(done)}; its mirror bank holds {mirror.entries}")
    await asyncio.to_thread(sync.share_bank, hotline.node, None, hotline.org, mirror.id, _agreement_id(2), CATEGORY)
    done = await sync.sync(police.node, peer=hotline.node.me.node_id)
    onward = await asyncio.to_thread(_mirror, police, hotline, mirror.id)
    out.print(
        f"sync: the hotline shares its mirror on to the police; the police pulled: {_pulled(done)}; "
        f"its mirror bank holds {0 if onward is None else onward.entries}"
    )
    if size:
        first = (await asyncio.to_thread(banks.export_local, platform.node, platform.org, shared)).entries[0]
        await asyncio.to_thread(
            banks.retract_entry_local, platform.node, platform.org, shared, first.id, "demo: retracted at the platform"
        )
        hot = await sync.sync(hotline.node, peer=platform.node.me.node_id)
        pol = await sync.sync(police.node, peer=hotline.node.me.node_id)
        out.print(
            f"sync: the platform retracted entry {first.id}; the hotline pulled ({_pulled(hot)}), "
            f"then the police ({_pulled(pol)})"
        )
    counts = []
    for holder, bank in ((platform, shared), (hotline, mirror.id), (police, None if onward is None else onward.id)):
        found = None if bank is None else await asyncio.to_thread(banks.get_local, holder.node, holder.org, bank)
        counts.append(0 if found is None else found.entries)
    out.print(
        f"sync: active entries now: the platform {counts[0]}, the hotline {counts[1]}, the police {counts[2]} "
        "(the retracted entry is retracted at all three; matching ignores it)"
    )
    return counts[0], counts[1], counts[2]


async def _keep_syncing(
    nodes: list[DemoNode],
    out: Console,
    interval: float,
    stop: asyncio.Event,
    on_round: Callable[[int], None] | None = None,
) -> int:
    """Each node pulls its peers every ``interval`` seconds until ``stop`` is set; a peer that failed waits out
    its backoff (``sync.pull`` skips it until then). A round under way when ``stop`` is set is finished, not
    cut: its batches commit with their cursors before the nodes close. ``on_round`` hears the number of
    each round done. Returns the rounds run."""
    rounds = 0
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        if stop.is_set():
            return rounds
        for n in nodes:
            try:
                done = await sync.sync(n.node)
            except AccordError as e:
                out.print(f"sync at the {n.name}: {e.detail}")
                continue
            if any(r.applied for r in done):
                out.print(f"sync at the {n.name}: {_pulled(done)}")
        rounds += 1
        if on_round is not None:
            on_round(rounds)


async def _serve(
    nodes: list[DemoNode],
    serve: bool,
    out: Console,
    interval: float = SYNC_INTERVAL_S,
    stop: asyncio.Event | None = None,
    on_round: Callable[[int], None] | None = None,
) -> int:
    """Serve the nodes, deconflict and sync once, then (``serve``) keep syncing every ``interval`` seconds
    until ``stop`` is set (by default: Ctrl-C or SIGTERM). Returns the background rounds run."""
    servers = [
        _Server(
            uvicorn.Config(create_app(n.node), host="127.0.0.1", port=int(n.url.rsplit(":", 1)[1]), log_level="warning")
        )
        for n in nodes
    ]
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    background: asyncio.Task[int] | None = None
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
    rounds = 0
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
            out.print(f"serving the three nodes, each syncing every {interval:g} s (Ctrl-C to stop)")
            background = asyncio.create_task(_keep_syncing(nodes, out, interval, stop, on_round))
            await stop.wait()
    finally:
        if background is not None:
            stop.set()  # the round under way finishes (bounded by the federation timeout), then the loop ends
            limit = max(n.node.settings.federation_timeout_s for n in nodes) + 5
            try:
                rounds = await asyncio.wait_for(background, limit)
            except TimeoutError:
                out.print("sync: the last round did not finish in time and was cut")
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
    return rounds


def run_federation_demo(
    settings: Settings,
    seed: int,
    reports: int,
    port: int,
    serve: bool,
    out: Console,
    err: Console,
    interval: float = SYNC_INTERVAL_S,
) -> None:
    root, nodes = setup(settings, seed, reports, port, err)
    out.print(f"three demo nodes in {root}")
    try:
        asyncio.run(_serve(nodes, serve, out, interval))
    finally:
        for n in nodes:
            n.node.close()
