"""Nodes as real processes on loopback: each an ``accord serve`` (uvicorn) over its own data directory
(SQLite), set up beforehand through the services in this process and then closed, so that only the
server processes (and ``accord peer sync`` processes started against the same data directories) touch
them. Used by the failure tests here and by ``bench/sync.py``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from accord.clock import SystemClock
from accord.exchange.agreement import SignedAgreement
from accord.ids import OrgId
from accord.model.agreement import Agreement
from accord.model.organisation import OrganisationIn, OrgKind
from accord.safeguards.apikeys import KeyVerifier
from accord.services import admin, peers
from accord.services.node import Node, open_node
from accord.settings import Settings

__all__ = ["Server", "Site", "agree", "free_port", "know", "open_site", "peer_sync"]

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    """One node's data directory, its organisation and the URL it will serve on."""

    data_dir: Path
    port: int
    org: str
    node_id: str
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"


def open_site(data_dir: Path, name: str, kind: OrgKind, country: str) -> tuple[Site, Node]:
    """A fresh node: operator, one organisation, identity key. The caller closes the node."""
    cheap = KeyVerifier(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    node = open_node(Settings(data_dir=data_dir), clock=SystemClock(), keys=cheap)
    admin.bootstrap(node, OrganisationIn(name=f"Operator of {name}", kind=OrgKind.hotline, jurisdiction=country))
    org = admin.create_org_local(node, OrganisationIn(name=name, kind=kind, jurisdiction=country))
    return Site(data_dir, free_port(), org.id, node.me.node_id), node


def know(who: Node, other: Node, site: Site, *, trust: bool = True) -> None:
    added = peers.add_peer(who, None, site.url, other.me.document.to_json(), [site.org])
    if trust:
        peers.trust_peer(who, None, added.node_id)


def agree(
    holders: Sequence[tuple[Node, Site]],
    agreement_id: str,
    *,
    onward: bool = False,
    upstream: Sequence[Node] = (),
    purposes: Sequence[str] = ("takedown",),
) -> Agreement:
    """An agreement between the holders' organisations, signed by every holder and stored by each (and, as
    an upstream agreement, by ``upstream``)."""
    now = holders[0][0].clock.now() - timedelta(seconds=1)
    agreement = Agreement.model_validate(
        {
            "id": agreement_id,
            "parties": [OrgId(s.org) for _, s in holders],
            "nodes": {OrgId(s.org): [s.node_id] for _, s in holders},
            "purposes": list(purposes),
            "legal_bases": ["mou"],
            "categories": ["csam"],
            "jurisdictions": ["NL", "DE"],
            "max_marking": "AMBER",
            "retention_days": 365,
            "onward_sharing": onward,
            "valid_from": now,
            "valid_until": None,
            "created_at": now,
        }
    )
    signed = SignedAgreement(agreement)
    for n, _ in holders:
        signed = signed.sign(n.me)
    for n, _ in holders:
        peers.store_agreement(n, None, signed.to_json())
    for n in upstream:
        peers.store_agreement(n, None, signed.to_json(), upstream=True)
    return agreement


def _env(batch: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env["ACCORD_SYNC_BATCH"] = str(batch)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Server:
    """``accord serve`` for a site, in its own process (killed with SIGKILL by ``kill``)."""

    def __init__(self, site: Site, *, batch: int = 500, log: Path | None = None) -> None:
        self.site, self.batch, self.log = site, batch, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Server:
        out = open(self.log or os.devnull, "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "accord.cli",
                "--data-dir",
                str(self.site.data_dir),
                "serve",
                "--port",
                str(self.site.port),
            ],
            env=_env(self.batch),
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )
        out.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"accord serve exited with {self.proc.returncode}")
            try:
                if httpx.get(self.site.url + "/v1/federation/identity", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("accord serve did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as when the machine loses power."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def peer_sync(site: Site, *args: str, batch: int = 500) -> subprocess.Popen[bytes]:
    """``accord peer sync --once`` for a site, as its own process (the node's puller, beside its server)."""
    return subprocess.Popen(
        [sys.executable, "-m", "accord.cli", "--data-dir", str(site.data_dir), "peer", "sync", "--once", *args],
        env=_env(batch),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
