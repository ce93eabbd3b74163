"""/v1/federation/peers, /agreements and /shares (docs/federation.md, "API"): an operator admin manages the peer
registry, the stored signed agreements and the organisation's share rules over HTTP, with the console's
checks and audit events; everyone else is refused, and another organisation's share is not found. Both
backends."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from accord.exchange.agreement import SignedAgreement
from accord.exchange.identity import IdentityDocument, NodeIdentity
from accord.model.bank import BankIn
from accord.model.organisation import Role
from accord.services import banks, sync
from accord.store import schema
from tests.conftest import World, auth
from tests.federation.conftest import agreement_between

PEER_URL = "http://peer.test"


def doc(identity: NodeIdentity | IdentityDocument) -> dict[str, Any]:
    document = identity.document if isinstance(identity, NodeIdentity) else identity
    out: dict[str, Any] = json.loads(document.to_json())
    return out


def events(world: World, action: str) -> list[Any]:
    with world.node.db.read() as conn:
        t = schema.audit_events
        return list(conn.execute(sa.select(t).where(t.c.action == action).order_by(t.c.seq)))


def operator_org(client: TestClient, world: World) -> str:
    orgs = client.get("/v1/organisations", headers=auth(world.operator_token)).json()
    return str(next(o["id"] for o in orgs if o["operator"]))


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def errors(body: dict[str, Any]) -> dict[str, str]:
    """{pointer: message} of a 422 problem."""
    return {e["pointer"]: e["detail"] for e in body["errors"]}


def signed(
    world: World, clock: FixedClock, parties: dict[str, str], signers: list[NodeIdentity], **terms: Any
) -> dict[str, Any]:
    agreement = agreement_between(parties, clock, world.node.ids("agr"), **terms)
    out = SignedAgreement(agreement)
    for s in signers:
        out = out.sign(s)
    result: dict[str, Any] = json.loads(out.to_json())
    return result


def test_peers_over_the_api(client: TestClient, world: World, clock: FixedClock) -> None:
    op = auth(world.operator_token)
    peer = NodeIdentity.generate(clock.now())
    body = {"base_url": PEER_URL + "/", "identity": doc(peer), "orgs": ["org_peerhotline"]}
    r = client.post("/v1/federation/peers", json=body, headers=op)
    assert r.status_code == 201, r.text
    added = r.json()
    assert (added["node_id"], added["state"], added["base_url"]) == (peer.node_id, "pending", PEER_URL)
    assert added["current_keyid"] == peer.keyid and added["identity"] == doc(peer)
    problem(client.post("/v1/federation/peers", json=body, headers=op), 409)  # duplicate

    # bad documents and URLs: 422 naming the field, nothing stored
    bad = {
        "/identity": {**body, "identity": {"node_id": "node_x"}},
        "/base_url": {**body, "base_url": "ftp://peer.test", "identity": doc(NodeIdentity.generate(clock.now()))},
    }
    for pointer, b in bad.items():
        assert pointer in errors(problem(client.post("/v1/federation/peers", json=b, headers=op), 422))
    own = {**body, "identity": doc(world.node.me)}
    assert "own identity" in problem(client.post("/v1/federation/peers", json=own, headers=op), 422)["detail"]
    assert [p["node_id"] for p in client.get("/v1/federation/peers", headers=op).json()] == [peer.node_id]

    assert client.get(f"/v1/federation/peers/{peer.node_id}", headers=op).json()["state"] == "pending"
    problem(client.get("/v1/federation/peers/node_nosuch", headers=op), 404)
    r = client.patch(f"/v1/federation/peers/{peer.node_id}", json={"state": "trusted"}, headers=op)
    assert r.status_code == 200 and r.json()["state"] == "trusted", r.text
    problem(client.patch("/v1/federation/peers/node_nosuch", json={"state": "trusted"}, headers=op), 404)
    both = {"state": "trusted", "identity": doc(peer)}
    problem(client.patch(f"/v1/federation/peers/{peer.node_id}", json=both, headers=op), 422)

    # a key rotation: the same rules as `accord peer update`
    t = clock.now() + timedelta(days=1)
    fresh = NodeIdentity.generate(t).document.current
    rotated = IdentityDocument(peer.node_id, (replace(peer.document.current, not_after=t), fresh))
    no_rotation = {"identity": doc(peer)}
    refused = problem(client.patch(f"/v1/federation/peers/{peer.node_id}", json=no_rotation, headers=op), 422)
    assert "adds no key" in errors(refused)["/identity"]
    r = client.patch(f"/v1/federation/peers/{peer.node_id}", json={"identity": doc(rotated)}, headers=op)
    assert r.status_code == 200 and r.json()["current_keyid"] == fresh.keyid, r.text
    assert [e.outcome for e in events(world, "peer.update")] == ["refused", "success"]

    r = client.delete(f"/v1/federation/peers/{peer.node_id}", headers=op)
    assert r.status_code == 200 and r.json()["state"] == "removed"
    assert client.get("/v1/federation/peers", headers=op).json() == []
    assert len(client.get("/v1/federation/peers", params={"include_removed": "true"}, headers=op).json()) == 1
    problem(client.delete("/v1/federation/peers/node_nosuch", headers=op), 404)
    assert [(e.action, e.outcome) for e in events(world, "peer.add") + events(world, "peer.trusted")] == [
        ("peer.add", "success"),
        ("peer.trusted", "success"),
    ]
    assert events(world, "peer.removed")[0].actor_id == world.actor(world.operator_token).id


def test_only_the_operators_admins_manage_federation(client: TestClient, world: World, clock: FixedClock) -> None:
    org, admin_token = world.org("Hotline", [Role.admin])
    analyst = auth(world.key(org, [Role.analyst]))
    peer = NodeIdentity.generate(clock.now())
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/v1/federation/peers", None),
        ("POST", "/v1/federation/peers", {"base_url": PEER_URL, "identity": doc(peer)}),
        ("GET", f"/v1/federation/peers/{peer.node_id}", None),
        ("PATCH", f"/v1/federation/peers/{peer.node_id}", {"state": "trusted"}),
        ("DELETE", f"/v1/federation/peers/{peer.node_id}", None),
        ("GET", "/v1/federation/agreements", None),
        ("POST", "/v1/federation/agreements", {"signed": {"agreement": {}, "signatures": []}}),
        ("GET", "/v1/federation/agreements/agr_nosuch", None),
        ("GET", "/v1/federation/shares", None),
        ("POST", "/v1/federation/shares", {"kind": "reports", "agreement_id": "agr_x", "category": "csam"}),
        ("DELETE", "/v1/federation/shares/shr_nosuch", None),
    ]
    for headers in (auth(admin_token), analyst):
        for method, path, body in calls:
            problem(client.request(method, path, json=body, headers=headers), 403)
    with world.node.db.read() as conn:
        assert conn.execute(sa.select(schema.peers)).all() == []
    assert [e.outcome for e in events(world, "peer.manage")] == ["denied"] * (2 * len(calls))


def test_agreements_over_the_api(client: TestClient, world: World, clock: FixedClock) -> None:
    op = auth(world.operator_token)
    me = operator_org(client, world)
    peer, other = NodeIdentity.generate(clock.now()), NodeIdentity.generate(clock.now())
    for p in (peer, other):
        body = {"base_url": f"http://{p.node_id.lower()}.test", "identity": doc(p)}
        assert client.post("/v1/federation/peers", json=body, headers=op).status_code == 201
    ours = signed(world, clock, {me: world.node.me.node_id, "org_peer": peer.node_id}, [world.node.me, peer])
    r = client.post("/v1/federation/agreements", json={"signed": ours}, headers=op)
    assert r.status_code == 201, r.text
    stored = r.json()
    assert stored["signed"] == ours and stored["upstream"] is False
    assert set(stored["signed_by"]) == {world.node.me.node_id, peer.node_id}
    assert (stored["categories"], stored["max_marking"]) == (["csam", "grooming"], "AMBER")
    problem(client.post("/v1/federation/agreements", json={"signed": ours}, headers=op), 409)  # duplicate
    assert client.get(f"/v1/federation/agreements/{stored['id']}", headers=op).json() == stored
    problem(client.get("/v1/federation/agreements/agr_nosuch", headers=op), 404)

    # refusals: a party's signature missing, a document that is none, an agreement this node is no party to
    half = signed(world, clock, {me: world.node.me.node_id, "org_peer": peer.node_id}, [world.node.me])
    refused = problem(client.post("/v1/federation/agreements", json={"signed": half}, headers=op), 422)
    assert "/signatures" in errors(refused)
    refused = problem(client.post("/v1/federation/agreements", json={"signed": {"x": 1}}, headers=op), 422)
    assert "signed agreement" in errors(refused)[""]
    theirs = signed(world, clock, {"org_peer": peer.node_id, "org_other": other.node_id}, [peer, other])
    not_ours = problem(client.post("/v1/federation/agreements", json={"signed": theirs}, headers=op), 422)
    assert "/agreement/nodes" in errors(not_ours)
    r = client.post("/v1/federation/agreements", json={"signed": theirs, "upstream": True}, headers=op)
    assert r.status_code == 201 and r.json()["upstream"] is True, r.text
    listed = client.get("/v1/federation/agreements", headers=op).json()
    assert sorted(a["id"] for a in listed) == sorted([stored["id"], r.json()["id"]])
    assert [e.outcome for e in events(world, "agreement.store")] == ["success", "success"]


def test_share_rules_over_the_api(client: TestClient, world: World, clock: FixedClock) -> None:
    op = auth(world.operator_token)
    me = operator_org(client, world)
    peer = NodeIdentity.generate(clock.now())
    client.post("/v1/federation/peers", json={"base_url": PEER_URL, "identity": doc(peer)}, headers=op)
    agreement = signed(world, clock, {me: world.node.me.node_id, "org_peer": peer.node_id}, [world.node.me, peer])
    agr = client.post("/v1/federation/agreements", json={"signed": agreement}, headers=op).json()["id"]
    bank = banks.create_local(world.node, me, BankIn(name="operator hashes", type="sha256"))

    r = client.post(
        "/v1/federation/shares",
        json={"kind": "bank", "agreement_id": agr, "category": "csam", "bank": "operator hashes"},
        headers=op,
    )
    assert r.status_code == 201, r.text
    bank_share = r.json()
    assert (bank_share["kind"], bank_share["bank_id"], bank_share["org_id"]) == ("bank", bank.id, me)
    dup = {"kind": "bank", "agreement_id": agr, "category": "csam", "bank": bank.id}
    problem(client.post("/v1/federation/shares", json=dup, headers=op), 409)
    outside = {"kind": "reports", "agreement_id": agr, "category": "extortion"}
    refused = problem(client.post("/v1/federation/shares", json=outside, headers=op), 403)
    assert "categories" in refused["detail"]
    assert [e.detail["clause"] for e in events(world, "federation.send")] == ["categories"]
    for wrong in (
        {"kind": "bank", "agreement_id": agr, "category": "csam"},  # no bank
        {"kind": "reports", "agreement_id": agr, "category": "csam", "bank": bank.id},
        {"kind": "reports", "agreement_id": agr, "category": "nonsense"},
    ):
        problem(client.post("/v1/federation/shares", json=wrong, headers=op), 422)
    missing = {"kind": "reports", "agreement_id": "agr_nosuch", "category": "csam"}
    problem(client.post("/v1/federation/shares", json=missing, headers=op), 404)
    r = client.post(
        "/v1/federation/shares", json={"kind": "reports", "agreement_id": agr, "category": "csam"}, headers=op
    )
    assert r.status_code == 201, r.text
    rule = r.json()
    assert (rule["kind"], rule["marking_max"], rule["bank_id"]) == ("reports", "AMBER", None)

    # another organisation's share on this node: never listed, not found by id
    hotline, _ = world.org("Hotline", [Role.analyst])
    theirs = signed(world, clock, {hotline: world.node.me.node_id, "org_peer": peer.node_id}, [world.node.me, peer])
    their_agr = client.post("/v1/federation/agreements", json={"signed": theirs}, headers=op).json()["id"]
    their_bank = banks.create_local(world.node, hotline, BankIn(name="hotline hashes", type="sha256"))
    their_share = sync.share_bank(world.node, None, hotline, their_bank.id, their_agr, "csam")
    foreign = {"kind": "bank", "agreement_id": agr, "category": "csam", "bank": their_bank.id}
    problem(client.post("/v1/federation/shares", json=foreign, headers=op), 404)
    listed = client.get("/v1/federation/shares", headers=op).json()
    assert [s["id"] for s in listed] == [bank_share["id"], rule["id"]]
    problem(client.delete(f"/v1/federation/shares/{their_share.id}", headers=op), 404)
    with world.node.db.read() as conn:
        t = schema.sync_shares.c
        assert conn.execute(sa.select(t.removed_at).where(t.id == their_share.id)).scalar_one() is None

    for share_id in (bank_share["id"], rule["id"]):
        r = client.delete(f"/v1/federation/shares/{share_id}", headers=op)
        assert r.status_code == 204, r.text
        problem(client.delete(f"/v1/federation/shares/{share_id}", headers=op), 404)
    assert client.get("/v1/federation/shares", headers=op).json() == []
    unshares = events(world, "sync.unshare")
    assert [(e.outcome, e.object_id) for e in unshares] == [
        ("refused", None),
        ("success", bank_share["id"]),
        ("refused", None),
        ("success", rule["id"]),
        ("refused", None),
    ]
