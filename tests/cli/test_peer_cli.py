"""``accord peer`` and ``accord agreement`` on SQLite: two nodes' consoles register each other, sign one
agreement in turn and store it; bad input names its file or field and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from accord.services import peers
from accord.services.node import open_node
from accord.settings import Settings
from tests.cli.helpers import run
from tests.cli.test_cli import init_node


def test_two_consoles_register_each_other_and_store_a_signed_agreement(tmp_path: Path) -> None:
    a_base, a_org, _ = init_node(tmp_path / "a")
    b_base, b_org, _ = init_node(tmp_path / "b")
    code, a_doc, err = run([*a_base, "identity"])
    assert code == 0, err
    code, b_doc, _ = run([*b_base, "identity"])
    a_id, b_id = json.loads(a_doc)["node_id"], json.loads(b_doc)["node_id"]
    (tmp_path / "b.json").write_text(b_doc.strip())

    code, out, err = run([*a_base, "peer", "add", "https://b.example", str(tmp_path / "b.json"), "--org", b_org])
    assert code == 0 and "pending" in out, err
    code, out, err = run([*b_base, "peer", "add", "https://a.example/", a_doc.strip()])
    assert code == 0, err
    code, out, _ = run([*a_base, "peer", "list"])
    assert b_id in out and "pending" in out and "https://b.example" in out
    code, out, err = run([*a_base, "peer", "trust", b_id])
    assert code == 0 and "trusted" in out, err

    # refusals name what is wrong and add nothing
    code, _, err = run([*a_base, "peer", "add", "https://b.example", str(tmp_path / "b.json")])
    assert code == 2 and "already registered" in err
    code, _, err = run([*a_base, "peer", "add", "ftp://x", a_doc.strip()])
    assert code == 2 and "/base_url" in err
    code, _, err = run([*a_base, "peer", "add", "https://c.example", '{"node_id": "node_x", "keys": []}'])
    assert code == 2 and "lists no key" in err
    code, _, err = run([*a_base, "peer", "trust", "node_nobody"])
    assert code == 2 and "no peer node_nobody" in err

    terms = {
        "id": "agr_01TESTCLIAGREEMENT00000000",
        "parties": [a_org, b_org],
        "nodes": {a_org: [a_id], b_org: [b_id]},
        "purposes": ["takedown"],
        "legal_bases": ["mou"],
        "categories": ["csam"],
        "jurisdictions": ["DE"],
        "max_marking": "AMBER",
        "retention_days": 365,
        "onward_sharing": False,
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": None,
        "created_at": "2026-01-01T00:00:00Z",
    }
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps({"agreement": terms, "signatures": []}))
    code, out, err = run([*a_base, "agreement", "sign", str(draft), "-o", str(tmp_path / "a-signed.json")])
    assert code == 0, err
    # only A signed: B refuses to store it, naming the missing party
    code, _, err = run([*b_base, "agreement", "add", str(tmp_path / "a-signed.json")])
    assert code == 2 and f"not signed for {b_org}" in err
    code, out, err = run(
        [*b_base, "agreement", "sign", str(tmp_path / "a-signed.json"), "-o", str(tmp_path / "ab.json")]
    )
    assert code == 0, err
    for base in (a_base, b_base):
        code, out, err = run([*base, "agreement", "add", str(tmp_path / "ab.json")])
        assert code == 0 and "stored" in out, err
        code, out, _ = run([*base, "agreement", "list"])
        assert "agr_01TESTCLIAGREEMENT" in out and a_id in out and b_id in out
    code, _, err = run([*a_base, "agreement", "add", str(tmp_path / "ab.json")])
    assert code == 2 and "already stored" in err

    code, out, err = run([*a_base, "peer", "remove", b_id])
    assert code == 0 and "removed" in out, err
    code, out, _ = run([*a_base, "peer", "list"])
    assert "no peers" in out
    node = open_node(Settings(data_dir=tmp_path / "a" / "node"))
    try:
        assert [p.state for p in peers.list_peers(node, None, include_removed=True)] == ["removed"]
    finally:
        node.close()
