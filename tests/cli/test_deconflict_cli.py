"""``accord deconflict --set pdq`` at the console, on SQLite: the hotline's node is a real ``accord serve``
process on a loopback port; the platform asks it which of its PDQ hashes have a near duplicate there and
prints the count and its own hashes that do, never the peer's. A threshold psi_pdq cannot find exits 2."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from accord.model import CredentialIn
from accord.model.organisation import OrgKind, Role
from accord.services import admin
from accord.services import reports as report_service
from accord.services.node import Node
from tests.cli.helpers import run
from tests.conftest import report_json
from tests.federation.processes import Server, agree, know, open_site

AGREEMENT = "agr_01CLIPDQDECONFLICT0000000"


def _load(node: Node, org: str, hashes: list[str]) -> str:
    """The organisation's reports, one PDQ hash each; returns an analyst key of the organisation."""
    token = admin.create_credential_local(node, org, CredentialIn(name="analyst", roles=[Role.analyst])).token
    lines = [
        (i + 1, orjson.dumps(report_json(f"cli-pdq-{i}", media=[{"pdq": h, "pdq_quality": 90}])))
        for i, h in enumerate(hashes)
    ]
    assert report_service.ingest_lines(node, admin.authenticate(node, token), lines).accepted == len(hashes)
    return token


def test_deconflict_pdq_at_the_console(tmp_path: Path) -> None:
    rng = random.Random(11)
    mine = [f"{rng.getrandbits(256):064x}" for _ in range(6)]
    near = f"{int(mine[0], 16) ^ 0b1011:064x}"  # three bits off
    far = f"{int(mine[1], 16) ^ ((1 << 40) - 1):064x}"  # forty bits off
    theirs = [near, far, *(f"{rng.getrandbits(256):064x}" for _ in range(4))]
    p_site, p = open_site(tmp_path / "p", "Platform", OrgKind.platform, "NL")
    h_site, hn = open_site(tmp_path / "h", "Hotline", OrgKind.hotline, "DE")
    try:
        know(p, hn, h_site)
        know(hn, p, p_site)
        agree([(p, p_site), (hn, h_site)], AGREEMENT, purposes=["deconfliction"])
        key = _load(p, p_site.org, mine)
        _load(hn, h_site.org, theirs)
    finally:
        p.close()
        hn.close()
    ask = ["--data-dir", str(p_site.data_dir), "deconflict", "--peer", h_site.node_id, "--set", "pdq", "--key", key]
    code, _, err = run([*ask, "--threshold", "32"])
    assert code == 2 and "threshold" in err
    with Server(h_site):
        code, out, err = run(ask)
    assert code == 0, err
    assert "1 of your 6 PDQ hashes have a near duplicate at the peer (distance <= 31" in out
    assert f"pdq:{mine[0]}" in out
    assert not [h for h in theirs if h in out]  # the peer's hashes never
