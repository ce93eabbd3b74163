"""/v1/custody over HTTP: the public checkpoint, proofs that verify with ``accord.custody.merkle``, one's own
entries only, and problem+json refusals that name the parameter."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from accord.custody import merkle
from accord.custody.checkpoint import Checkpoint, verify_checkpoint
from accord.model.organisation import Role
from accord.services import custody
from tests.api.test_errors_api import assert_problem
from tests.conftest import World, auth, report_json


def grow(client: TestClient, world: World, token: str, n: int, prefix: str) -> None:
    """Reports over HTTP (intake records each one's "received" leaf)."""
    for i in range(n):
        assert client.post("/v1/reports", json=report_json(f"{prefix}{i}"), headers=auth(token)).status_code == 201


def checkpoint(client: TestClient, world: World) -> Checkpoint:
    r = client.get("/v1/custody/checkpoint")  # public: no key
    assert r.status_code == 200 and r.headers["content-type"] == "text/plain; charset=utf-8"
    return verify_checkpoint(r.text, custody.verifiers(world.node), origin=custody.origin(world.node))


def get(client: TestClient, path: str, token: str, **params: Any) -> dict[str, Any]:
    r = client.get(path, params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_proofs_over_http_verify_against_the_signed_checkpoint(client: TestClient, world: World) -> None:
    org, token = world.org("A", [Role.analyst])
    grow(client, world, token, 5, "a")
    old = checkpoint(client, world)
    assert old.size == 5
    grow(client, world, token, 6, "b")
    new = checkpoint(client, world)
    assert new.size == 11
    for seq in range(11):
        p = get(client, "/v1/custody/proof/inclusion", token, seq=seq)
        assert p["tree_size"] == 11 and p["root_hash"] == new.root_hash.hex()
        proof = [bytes.fromhex(h) for h in p["proof"]]
        assert merkle.verify_inclusion(seq, 11, bytes.fromhex(p["leaf_hash"]), proof, new.root_hash)
    p = get(client, "/v1/custody/proof/inclusion", token, seq=2, size=5)
    assert merkle.verify_inclusion(
        2, 5, bytes.fromhex(p["leaf_hash"]), [bytes.fromhex(h) for h in p["proof"]], old.root_hash
    )
    by_hash = get(client, "/v1/custody/proof/inclusion", token, leaf_hash=p["leaf_hash"])
    assert by_hash["seq"] == 2 and by_hash["tree_size"] == 11
    c = get(client, "/v1/custody/proof/consistency", token, first=5, second=11)
    assert (c["first_root"], c["second_root"]) == (old.root_hash.hex(), new.root_hash.hex())
    assert merkle.verify_consistency(5, 11, old.root_hash, new.root_hash, [bytes.fromhex(h) for h in c["proof"]])
    assert get(client, "/v1/custody/proof/consistency", token, first=5)["second"] == 11
    # a proof for another tree size does not verify against this checkpoint
    other = get(client, "/v1/custody/proof/inclusion", token, seq=2, size=10)
    assert not merkle.verify_inclusion(
        2, 11, bytes.fromhex(other["leaf_hash"]), [bytes.fromhex(h) for h in other["proof"]], new.root_hash
    )
    assert org


def test_entries_are_own_organisation_only(client: TestClient, world: World) -> None:
    org_a, a = world.org("A", [Role.analyst])
    _, b = world.org("B", [Role.analyst])
    admin_a = world.key(org_a, [Role.admin])
    grow(client, world, a, 2, "a")
    grow(client, world, b, 1, "b")
    e = get(client, "/v1/custody/entries/1", a)
    assert e["entry"]["org_id"] == org_a and e["seq"] == 1
    assert merkle.leaf_hash(e["leaf"].encode()).hex() == e["leaf_hash"]
    body = assert_problem(client.get("/v1/custody/entries/2", headers=auth(a)), 404)  # B's
    assert body["detail"] == "no custody entry 2"
    assert assert_problem(client.get("/v1/custody/entries/99", headers=auth(a)), 404)["detail"] == "no custody entry 99"
    assert_problem(client.get("/v1/custody/entries/0", headers=auth(admin_a)), 403)
    # B may have a proof of A's leaf: hashes only
    assert get(client, "/v1/custody/proof/inclusion", b, seq=0)["seq"] == 0


def parameter(body: dict[str, Any]) -> list[str]:
    return [e.get("parameter", "") for e in body.get("errors", [])]


def test_refusals_name_the_parameter(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    grow(client, world, token, 3, "a")
    cases = [
        ("/v1/custody/proof/inclusion", {"seq": 0, "size": 4}, "size", "the log holds 3 leaves"),
        ("/v1/custody/proof/inclusion", {"seq": 3}, "seq", "entries 0 to 2"),
        ("/v1/custody/proof/inclusion", {}, "seq", "either seq or leaf_hash"),
        ("/v1/custody/proof/inclusion", {"seq": "x"}, "seq", "integer"),
        ("/v1/custody/proof/inclusion", {"seq": -1}, "seq", "greater than or equal to 0"),
        ("/v1/custody/proof/inclusion", {"leaf_hash": "AB"}, "leaf_hash", "pattern"),
        ("/v1/custody/proof/consistency", {"first": 3, "second": 2}, "first", "a log only grows"),
        ("/v1/custody/proof/consistency", {"first": 1, "second": 9}, "second", "the log holds 3 leaves"),
        ("/v1/custody/proof/consistency", {}, "first", "required"),
        ("/v1/custody/proof/consistency", {"first": 2**63}, "first", "less than or equal"),
    ]
    for path, params, name, text in cases:
        body = assert_problem(client.get(path, params=params, headers=auth(token)), 422)
        assert parameter(body) == [name], (params, body)
        assert text in body["detail"] or text in str(body["errors"]), (params, body)
    unknown = client.get("/v1/custody/proof/inclusion", params={"leaf_hash": "0" * 64}, headers=auth(token))
    assert assert_problem(unknown, 404)["detail"] == "no custody leaf has this hash"
    assert_problem(client.get("/v1/custody/entries/x", headers=auth(token)), 422)
    assert_problem(client.get("/v1/custody/proof/inclusion", params={"seq": 0}), 401)


def test_the_checkpoint_is_stable_until_the_log_grows(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    first = client.get("/v1/custody/checkpoint").text
    assert client.get("/v1/custody/checkpoint").text == first
    assert first.split("\n")[1] == "0"
    grow(client, world, token, 1, "a")
    assert client.get("/v1/custody/checkpoint").text.split("\n")[1] == "1"
