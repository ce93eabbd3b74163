"""``accord peer share --case``, ``accord peer unshare`` and ``accord peer cases`` at the console, on SQLite.
The hotline pulls in process, from the platform's app over httpx's ASGI transport, between the commands."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import sqlalchemy as sa

from accord.api.app import create_app
from accord.model.case import CaseIn
from accord.model.organisation import OrgKind, Role
from accord.services import cases, sync
from accord.services.node import Node, open_node
from accord.settings import Settings
from accord.store import schema
from tests.cli.helpers import run
from tests.conftest import World
from tests.federation.conftest import Router
from tests.federation.processes import Site, agree, know, open_site

PH = "agr_01CLICASEPH000000000000000"
TITLE = "canary cli case title 0b7e"


def _count(site: Site, table: sa.Table) -> int:
    node = open_node(Settings(data_dir=site.data_dir))
    try:
        with node.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        node.close()


def _pull(h_site: Site, p_site: Site) -> list[sync.Pulled]:
    """One sync round of the hotline against the platform's app (in process)."""
    p, h = open_node(Settings(data_dir=p_site.data_dir)), open_node(Settings(data_dir=h_site.data_dir))
    try:
        router = Router()
        router.routes["127.0.0.1"] = httpx.ASGITransport(app=create_app(p, run_jobs=False), client=("192.0.2.1", 443))
        h.peer_transport = router
        return asyncio.run(sync.sync(h))
    finally:
        p.close()
        h.close()


def _case(node: Node, org: str) -> str:
    world = World(node, "")
    inv = world.actor(world.key(org, [Role.investigator]))
    return cases.create(node, inv, CaseIn(title=TITLE, jurisdiction="NL")).id  # type: ignore[arg-type]


def test_share_unshare_and_list_case_references_at_the_console(tmp_path: Path) -> None:
    p_site, p = open_site(tmp_path / "p", "Platform", OrgKind.platform, "NL")
    h_site, hn = open_site(tmp_path / "h", "Hotline", OrgKind.hotline, "DE")
    try:
        know(p, hn, h_site)
        know(hn, p, p_site)
        agree([(p, p_site), (hn, h_site)], PH)
        case_id = _case(p, p_site.org)
        other_case = _case(hn, h_site.org)  # the hotline's own case: not the platform's to share
    finally:
        p.close()
        hn.close()
    pb, hb = ["--data-dir", str(p_site.data_dir)], ["--data-dir", str(h_site.data_dir)]
    share = [*pb, "peer", "share", "--org", p_site.org, "--agreement", PH, "--case", case_id, "--category"]

    code, _, err = run([*share, "extortion"])  # not in the agreement: refused with the clause, nothing shared
    assert code == 2 and "categories" in err, err
    code, _, err = run([*share, "csam", "--marking", "RED"])
    assert code == 2 and "max_marking" in err, err
    code, _, err = run([*share, "nonsense"])
    assert code == 2 and "/category" in err
    code, _, err = run([*share, "csam", "--bank", "b"])
    assert code == 2 and "one of --bank" in err
    code, _, err = run([*pb, "peer", "share", "--org", p_site.org, "--agreement", PH, "--bank", "b", "--category",
                        "csam", "--marking", "GREEN"])  # fmt: skip
    assert code == 2 and "--marking goes with --case" in err
    code, _, err = run([*pb, "peer", "share", "--org", p_site.org, "--agreement", PH, "--case", other_case,
                        "--category", "csam"])  # fmt: skip
    assert code == 2 and f"no case {other_case}" in err
    code, _, err = run([*pb, "peer", "unshare", "--case", case_id, "--agreement", PH])
    assert code == 2 and "is not shared" in err
    assert _count(p_site, schema.sync_feed) == 0 and _count(p_site, schema.sync_case_shares) == 0

    code, out, err = run([*share, "csam"])
    assert code == 0 and f"case {case_id} shared into the feed of {PH} as csam marked AMBER, version 1" in out, err
    code, out, err = run([*share, "csam"])
    assert code == 0 and "already: nothing changed" in out, err
    assert _count(p_site, schema.sync_feed) == 1

    code, out, err = run([*hb, "peer", "cases", "--org", h_site.org])
    assert code == 0 and "no case references" in out, err
    (pulled,) = _pull(h_site, p_site)
    assert (pulled.applied, pulled.error) == (1, None)
    code, out, err = run([*hb, "peer", "cases", "--org", h_site.org])
    assert code == 0 and case_id in out and "open NL lead Platform" in out and "0 linked reports" in out, (out, err)
    assert TITLE not in out
    code, out, err = run([*hb, "peer", "cases", "--org", "org_nobody"])
    assert code == 2 and "no organisation org_nobody" in err

    code, out, err = run([*pb, "peer", "unshare", "--case", case_id, "--agreement", PH])
    assert code == 0 and f"case {case_id} withdrawn from the feed of {PH} (version 2)" in out, err
    _pull(h_site, p_site)
    code, out, err = run([*hb, "peer", "cases", "--org", h_site.org])
    assert code == 0 and "no case references" in out
    code, out, err = run([*hb, "peer", "cases", "--org", h_site.org, "--withdrawn"])
    assert code == 0 and case_id in out and "withdrawn" in out and "version 2" in out, out
