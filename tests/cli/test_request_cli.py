"""``accord request`` on SQLite: a console creates and sends a preservation request to a (made-up) peer party,
lists and shows it; a step its state does not allow, or the agreement does not, is refused naming why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from accord.exchange.agreement import SignedAgreement
from accord.exchange.identity import NodeIdentity
from accord.model.agreement import Agreement
from accord.model.case import CaseIn
from accord.model.organisation import Role
from accord.services import cases, peers
from accord.services.node import open_node
from accord.settings import Settings
from tests.cli.helpers import run
from tests.cli.test_cli import init_node
from tests.conftest import World


def test_a_console_creates_sends_lists_and_shows_a_request(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    node = open_node(Settings(data_dir=tmp_path / "node"))
    try:
        now = datetime.now(UTC)
        peer = NodeIdentity.generate(now - timedelta(days=1))
        peers.trust_peer(
            node, None, peers.add_peer(node, None, "http://p.test", peer.document.to_json(), ["org_p"]).node_id
        )
        terms = {
            "id": "agr_01TESTREQUESTCLI0000000000", "parties": [org, "org_p"],
            "nodes": {org: [node.me.node_id], "org_p": [peer.node_id]}, "purposes": ["preservation"],
            "legal_bases": ["coe-budapest-29"], "categories": ["csam"], "jurisdictions": ["DE"],
            "max_marking": "AMBER", "retention_days": 365, "onward_sharing": False,
            "valid_from": now - timedelta(hours=1), "valid_until": None, "created_at": now - timedelta(hours=1),
        }  # fmt: skip
        agreement = Agreement.model_validate(terms)
        peers.store_agreement(node, None, SignedAgreement(agreement).sign(node.me).sign(peer).to_json())
        world = World(node, "")
        inv = world.actor(world.key(org, [Role.investigator]))
        case = cases.create(node, inv, CaseIn(title="t", jurisdiction="DE"))  # type: ignore[arg-type]
    finally:
        node.close()
    create = [*base, "request", "create", "--org", org, "--agreement", agreement.id, "--kind", "preservation"]
    create += ["--legal-basis", "coe-budapest-29", "--case", case.id, "--key", "account:svc/h1", "--reference", "R-1"]
    code, out, err = run([*create, "--send"])
    assert code == 0 and "sent" in out and "preservation requester to org_p" in out, err
    rid = out.split()[0]
    code, out, err = run([*base, "request", "list", "--org", org])
    assert code == 0 and rid in out, err
    code, out, err = run([*base, "request", "show", rid, "--org", org])
    assert code == 0 and "account:svc/h1" in out and "requester send" in out, err
    code, _, err = run([*base, "request", "ack", rid, "--org", org])
    assert code != 0 and "only the addressee" in err
    code, _, err = run([*base, "request", "send", rid, "--org", org])
    assert code != 0 and "sent" in err
    code, _, err = run([*create, "--kind", "disclosure", "--deadline", "2099-01-01T00:00:00Z"])
    assert code != 0 and "purposes" in err  # the agreement lists preservation only
    code, out, err = run([*base, "request", "tick"])
    assert code == 0, err
    code, out, _ = run([*base, "request", "list", "--org", "org_nobody"])
    assert code != 0 or "no requests" in out
