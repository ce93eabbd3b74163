"""``peers.update_peer`` (``accord peer update``): a peer's key rotation is taken into the registry, so its new
key opens envelopes while what its old key signed in its window still verifies; a document that is not a
rotation of the stored one is refused naming why, audited, and changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.api.app import create_app
from accord.errors import Invalid
from accord.exchange.envelope import seal
from accord.exchange.identity import IdentityDocument, NodeIdentity, NodeKey
from accord.services import peers
from accord.store import schema
from tests.cli.helpers import run
from tests.conftest import auth
from tests.federation.conftest import Pair, Router
from tests.federation.processes import Server, Site, free_port
from tests.federation.test_two_nodes import deliver, share


def update_events(p: Pair) -> list[Any]:
    with p.b.db.read() as conn:
        t = schema.audit_events
        return list(conn.execute(sa.select(t).where(t.c.action == "peer.update").order_by(t.c.seq)))


def stored_identity(p: Pair) -> bytes:
    with p.b.db.read() as conn:
        t = schema.peers.c
        return str(conn.execute(sa.select(t.identity).where(t.node_id == p.a.me.node_id)).scalar_one()).encode()


def test_a_rotated_key_opens_envelopes_once_the_peer_is_updated_and_the_old_one_still_verifies(pair: Pair) -> None:
    p = pair
    old_window = share(p)  # signed and delivered with the key on file
    assert old_window.receipt.verdict == "accepted"

    def sealed(identity: NodeIdentity) -> bytes:
        return seal(
            identity,
            recipient=p.b.me.node_id,
            agreement_id=p.agreement.id,
            purpose="takedown",
            marking="AMBER",
            category="csam",
            obj={"type": "sighting", "n": p.clock.now().isoformat()},
            now=p.clock.now(),
        )

    old_identity = p.a.me
    before_rotation = sealed(old_identity)  # signed by the old key, not delivered yet
    p.clock.advance(timedelta(seconds=5))
    p.a.identity = NodeIdentity.rotate(p.a.settings.identity_dir, p.clock.now())
    assert len(p.a.me.document.keys) == 2

    refused = share(p)  # B does not know the new key yet
    assert (refused.receipt.verdict, refused.receipt.reason) == ("refused", "unknown-key")

    updated = peers.update_peer(p.b, None, p.a.me.node_id, p.a.me.document.to_json())
    assert [k.keyid for k in updated.identity.keys] == [k.keyid for k in p.a.me.document.keys]
    assert stored_identity(p) == p.a.me.document.to_json()
    (event,) = update_events(p)
    assert (event.outcome, event.object_id, event.detail["added"]) == ("success", p.a.me.node_id, p.a.me.keyid)

    assert share(p).receipt.verdict == "accepted"  # the new key
    assert deliver(p, before_rotation).receipt.verdict == "accepted"  # the old key, inside its window
    p.clock.advance(timedelta(seconds=1))  # windows include their bounds: one second past the close
    after_close = sealed(old_identity)  # the old key signing after its window closed
    late = deliver(p, after_close)
    assert (late.receipt.verdict, late.receipt.reason) == ("refused", "key-window")


def _doc(p: Pair, keys: tuple[NodeKey, ...], node_id: str | None = None) -> bytes:
    return IdentityDocument(node_id or p.a.me.node_id, keys).to_json()


def test_anything_but_a_rotation_is_refused_naming_why_and_changes_nothing(pair: Pair) -> None:
    p = pair
    current = p.a.me.document.current
    t = p.clock.now()
    fresh = NodeIdentity.generate(t).document.current
    closed = replace(current, not_after=t)
    cases = {
        "not of": _doc(p, (closed, replace(fresh, not_before=t)), node_id="node_someoneelse"),
        "adds no key": p.a.me.document.to_json(),
        "not the stored": _doc(p, (fresh, closed)),
        "another window": _doc(p, (replace(closed, not_before=t - timedelta(days=30)), replace(fresh, not_before=t))),
        "still open": _doc(p, (current, replace(fresh, not_before=t))),
        "starts before": _doc(p, (closed, replace(fresh, not_before=t - timedelta(seconds=1)))),
        "must be JSON": b"{not json",
    }
    before = stored_identity(p)
    for reason, raw in cases.items():
        with pytest.raises(Invalid) as e:
            peers.update_peer(p.b, None, p.a.me.node_id, raw)
        assert reason in e.value.errors["/identity"], (reason, e.value.errors)
    assert stored_identity(p) == before
    refusals = update_events(p)
    assert len(refusals) == len(cases) - 1 and {e.outcome for e in refusals} == {"refused"}  # bad JSON: no peer read
    # a rotation at the boundary (the new window opens as the old closes) is one
    ok = _doc(p, (closed, replace(fresh, not_before=t)))
    assert peers.update_peer(p.b, None, p.a.me.node_id, ok).identity.to_json() == ok


def test_peer_update_at_the_console(tmp_path: Path) -> None:
    a, b = ["--data-dir", str(tmp_path / "a")], ["--data-dir", str(tmp_path / "b")]
    for d in (a, b):
        assert run([*d, "init"])[0] == 0
    doc = tmp_path / "a.json"
    doc.write_text(run([*a, "identity"])[1])
    assert run([*b, "peer", "add", "http://a.test", str(doc)])[0] == 0
    node_id = IdentityDocument.from_json(doc.read_bytes()).node_id
    code, _, err = run([*b, "peer", "update", "--peer", node_id, "--identity", str(doc)])
    assert code == 2 and "adds no key" in err, err
    code, _, err = run([*b, "peer", "update", "--peer", "node_nosuch", "--identity", str(doc)])
    assert code == 2 and "no peer node_nosuch" in err, err
    rotated = NodeIdentity.rotate(
        tmp_path / "a" / "keys", IdentityDocument.from_json(doc.read_bytes()).current.not_before + timedelta(days=1)
    )
    (tmp_path / "a2.json").write_bytes(rotated.document.to_json())
    code, out, err = run([*b, "peer", "update", "--peer", node_id, "--identity", str(tmp_path / "a2.json")])
    assert code == 0 and "2 keys on file" in out and rotated.keyid[:16] in out, err


def test_the_published_document_is_fetched_over_the_api_with_the_same_checks(pair: Pair) -> None:
    """``PATCH /v1/federation/peers/{node}`` with ``fetch_identity``: the peer's ``GET /v1/federation/identity``
    (over the transport, here its real app) goes through the rotation checks as a document given would."""
    p = pair
    api = TestClient(create_app(p.b, run_jobs=False), raise_server_exceptions=False)
    op = auth(p.b_world.operator_token)
    path = f"/v1/federation/peers/{p.a.me.node_id}"
    r = api.patch(path, json={"fetch_identity": True}, headers=op)  # nothing rotated: it adds no key
    assert r.status_code == 422 and "adds no key" in r.text, r.text
    p.clock.advance(timedelta(seconds=5))
    p.a.identity = NodeIdentity.rotate(p.a.settings.identity_dir, p.clock.now())
    assert share(p).receipt.reason == "unknown-key"
    r = api.patch(path, json={"fetch_identity": True}, headers=op)
    assert r.status_code == 200 and r.json()["current_keyid"] == p.a.me.keyid, r.text
    assert stored_identity(p) == p.a.me.document.to_json()
    assert share(p).receipt.verdict == "accepted"
    p.b.peer_transport = Router()  # the peer is down: 503, audited as failed, nothing changes
    r = api.patch(path, json={"fetch_identity": True}, headers=op)
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert [e.outcome for e in update_events(p)] == ["refused", "success", "failed"]
    assert stored_identity(p) == p.a.me.document.to_json()
    r = api.patch("/v1/federation/peers/node_nosuch", json={"fetch_identity": True}, headers=op)
    assert r.status_code == 404, r.text


def test_peer_update_from_url_at_the_console(tmp_path: Path) -> None:
    a, b = ["--data-dir", str(tmp_path / "a")], ["--data-dir", str(tmp_path / "b")]
    for d in (a, b):
        assert run([*d, "init"])[0] == 0
    document = IdentityDocument.from_json(run([*a, "identity"])[1])
    site = Site(tmp_path / "a", free_port(), "", document.node_id)
    assert run([*b, "peer", "add", site.url, document.to_json().decode()])[0] == 0
    code, _, err = run([*b, "peer", "update", "--peer", document.node_id, "--from-url"])
    assert code == 3 and "did not answer" in err, err  # not served yet
    code, _, err = run([*b, "peer", "update", "--peer", document.node_id, "--from-url", "--identity", "x.json"])
    assert code == 2 and "either" in err, err
    rotated = NodeIdentity.rotate(tmp_path / "a" / "keys", document.current.not_before + timedelta(days=1))
    with Server(site):
        code, out, err = run([*b, "peer", "update", "--peer", document.node_id, "--from-url"])
    assert code == 0 and "2 keys on file" in out and rotated.keyid[:16] in out, err
