"""Banks and matching over HTTP: the lifecycle, bad input that changes nothing, visibility, intake matching."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.model.organisation import Role
from accord.store import schema
from tests.conftest import World, auth, report_json

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def flip(hexhash: str, bits: int) -> str:
    """``hexhash`` with its first ``bits`` bits inverted: exactly that Hamming distance away."""
    n = int(hexhash, 16) ^ (((1 << bits) - 1) << (256 - bits))
    return f"{n:064x}"


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:400]}"
    return r.json()


def org(world: World, name: str) -> dict[Role, dict[str, str]]:
    org_id, analyst = world.org(name, [Role.analyst])
    return {
        Role.analyst: auth(analyst),
        Role.investigator: auth(world.key(org_id, [Role.investigator])),
        Role.auditor: auth(world.key(org_id, [Role.auditor])),
        Role.submitter: auth(world.key(org_id, [Role.submitter])),
    } | {"id": org_id}  # type: ignore[operator]


def counts(world: World) -> tuple[int, int, int]:
    with world.node.db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (schema.banks, schema.bank_entries, schema.matches)
        )


def test_pdq_bank_lifecycle_and_match(client: TestClient, world: World) -> None:
    a = org(world, "A")
    h = a[Role.analyst]
    bank = ok(client.post("/v1/banks", json={"name": "known", "type": "pdq"}, headers=h), 201)
    assert (bank["threshold"], bank["version"], bank["entries"], bank["marking"]) == (31, 1, 0, "AMBER")
    # an empty bank: matching finds nothing, and its export is just the header
    assert ok(client.post("/v1/match", json={"hashes": [PDQ]}, headers=h))["results"] == [{"hash": PDQ, "matches": []}]
    export = client.get(f"/v1/banks/{bank['id']}/export", headers=h)
    assert export.status_code == 200 and export.text == "signal_type,signal_str,collab,category,tags\n"

    far = f"{int(PDQ, 16) ^ ((1 << 40) - 1):064x}"  # its last 40 bits: 70 from the near hash below
    added = ok(
        client.post(
            f"/v1/banks/{bank['id']}/entries",
            json={"entries": [{"value": PDQ.upper(), "source": "hotline-x"}, {"value": far}, {"value": PDQ}]},
            headers=h,
        )
    )
    assert [e["value"] for e in added["added"]] == [PDQ, far] and added["already_present"] == 1
    assert (added["bank"]["version"], added["bank"]["entries"]) == (2, 2)
    near_id, far_id = (e["id"] for e in added["added"])

    near = flip(PDQ, 30)
    out = ok(
        client.post("/v1/match", json={"hashes": [near, flip(PDQ, 32), "pdq:" + far]}, headers=a[Role.investigator])
    )
    r = out["results"]
    assert r[0]["matches"] == [
        {"bank": bank["id"], "entry": near_id, "type": "pdq", "distance": 30, "threshold": 31, "bank_version": 2}
    ]
    assert r[1]["matches"] == []  # 32 bits away: beyond the threshold
    assert [m["entry"] for m in r[2]["matches"]] == [far_id]

    # removal: the entry stops matching, the version goes up once; removing it again changes nothing
    gone = ok(client.delete(f"/v1/banks/{bank['id']}/entries/{near_id}", headers=h))
    assert gone["removed_in_version"] == 3
    again = ok(client.delete(f"/v1/banks/{bank['id']}/entries/{near_id}", headers=h))
    assert again == gone and ok(client.get(f"/v1/banks/{bank['id']}", headers=h))["version"] == 3
    assert ok(client.post("/v1/match", json={"hashes": [near]}, headers=h))["results"][0]["matches"] == []
    retracted = ok(
        client.post(f"/v1/banks/{bank['id']}/entries/{far_id}:retract", json={"reason": "false positive"}, headers=h)
    )
    assert (retracted["retracted"], retracted["retracted_reason"], retracted["removed_in_version"]) == (
        True,
        "false positive",
        4,
    )
    page = ok(client.get(f"/v1/banks/{bank['id']}/entries", params={"removed": "true", "limit": "1"}, headers=h))
    assert len(page["items"]) == 1 and page["next_cursor"] == near_id
    assert ok(client.get(f"/v1/banks/{bank['id']}/entries", headers=h))["items"] == []


def test_exact_types_and_url_prefixes(client: TestClient, world: World) -> None:
    h = org(world, "A")[Role.analyst]
    md5 = ok(client.post("/v1/banks", json={"name": "md5s", "type": "md5"}, headers=h), 201)
    url = ok(client.post("/v1/banks", json={"name": "urls", "type": "url", "marking": "RED"}, headers=h), 201)
    assert md5["threshold"] == 0
    ok(client.post(f"/v1/banks/{md5['id']}/entries", json={"entries": [{"value": "0" * 31 + "1"}]}, headers=h))
    ok(
        client.post(
            f"/v1/banks/{url['id']}/entries",
            json={"entries": [{"value": "Example.ORG/a/"}, {"value": "https://other.example/x?id=7&utm_source=m"}]},
            headers=h,
        )
    )
    hashes = [
        "0" * 31 + "1",
        "https://example.org/a/b/c?x=1",
        "http://EXAMPLE.org:80/a/./d",
        "https://example.org/ab",
        "https://other.example/x?id=7#frag",
        "https://other.example/x?id=8",
    ]
    r = ok(client.post("/v1/match", json={"hashes": hashes}, headers=h))["results"]
    assert [len(x["matches"]) for x in r] == [1, 1, 1, 0, 1, 0]
    assert {x["matches"][0]["type"] for x in r if x["matches"]} == {"md5", "url"}


def test_bad_input_changes_nothing(client: TestClient, world: World) -> None:
    h = org(world, "A")[Role.analyst]
    bank = ok(client.post("/v1/banks", json={"name": "b", "type": "pdq", "threshold": 10}, headers=h), 201)
    ok(client.post(f"/v1/banks/{bank['id']}/entries", json={"entries": [{"value": PDQ}]}, headers=h))
    before = counts(world)

    def problem(r: Any, status: int) -> dict[str, Any]:
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        body: dict[str, Any] = r.json()
        assert body["status"] == status
        return body

    for t in (-1, 257):
        body = problem(client.post("/v1/banks", json={"name": f"t{t}", "type": "pdq", "threshold": t}, headers=h), 422)
        assert [e["pointer"] for e in body["errors"]] == ["/threshold"]
    problem(client.post("/v1/banks", json={"name": "b", "type": "pdq"}, headers=h), 409)
    problem(client.post("/v1/banks", json={"name": "x", "type": "sha1"}, headers=h), 422)
    problem(client.post("/v1/banks", json={"name": "x", "type": "md5", "threshold": 3}, headers=h), 422)
    body = problem(
        client.post(
            f"/v1/banks/{bank['id']}/entries", json={"entries": [{"value": flip(PDQ, 1)}, {"value": "abc"}]}, headers=h
        ),
        422,
    )
    assert [e["pointer"] for e in body["errors"]] == ["/entries/1/value"]
    problem(client.post("/v1/match", json={"hashes": [PDQ, "ff" * 31 + "zz"]}, headers=h), 422)
    problem(client.delete(f"/v1/banks/{bank['id']}/entries/999999", headers=h), 404)
    problem(client.post(f"/v1/banks/{bank['id']}/entries/999999:retract", json={"reason": "x"}, headers=h), 404)
    problem(client.post("/v1/match", json={"hashes": [PDQ], "banks": ["bnk_nothing"]}, headers=h), 404)
    assert counts(world) == before
    assert ok(client.get(f"/v1/banks/{bank['id']}", headers=h))["version"] == 2


def test_visibility_through_agreements_and_the_canary(client: TestClient, world: World) -> None:
    a, b = org(world, "A"), org(world, "B")
    # B's private bank holds a hash; A matching that exact hash finds nothing, sees no bank
    private = ok(client.post("/v1/banks", json={"name": "private", "type": "pdq"}, headers=b[Role.analyst]), 201)
    ok(client.post(f"/v1/banks/{private['id']}/entries", json={"entries": [{"value": PDQ}]}, headers=b[Role.analyst]))
    assert ok(client.post("/v1/match", json={"hashes": [PDQ]}, headers=a[Role.analyst]))["results"][0]["matches"] == []
    assert ok(client.get("/v1/banks", headers=a[Role.analyst])) == []
    assert client.get(f"/v1/banks/{private['id']}", headers=a[Role.analyst]).status_code == 404
    # A's report holding it: stored, matched against nothing
    ok(client.post("/v1/reports", json=report_json("a-1", media=[{"pdq": PDQ}]), headers=a[Role.analyst]), 201)
    assert counts(world)[2] == 0

    # an agreement between A and B shares B's second bank with A while it is valid
    node = world.node
    agr = node.ids("agr")
    with node.db.write() as conn:
        conn.execute(
            sa.insert(schema.agreements).values(
                id=agr,
                parties=[a["id"], b["id"]],
                purposes=["investigation"],
                legal_bases=["consent"],
                max_marking="AMBER",
                retention_days=365,
                onward_sharing=False,
                valid_from=node.clock.now() - timedelta(days=1),
                valid_until=node.clock.now() + timedelta(days=1),
                created_at=node.clock.now(),
            )
        )
        conn.execute(
            sa.insert(schema.agreement_parties), [{"agreement_id": agr, "org_id": o} for o in (a["id"], b["id"])]
        )
    too_red = {"name": "shared", "type": "pdq", "agreement_id": agr, "marking": "RED"}
    assert client.post("/v1/banks", json=too_red, headers=b[Role.analyst]).status_code == 422
    shared = ok(client.post("/v1/banks", json={**too_red, "marking": "AMBER"}, headers=b[Role.analyst]), 201)
    ok(client.post(f"/v1/banks/{shared['id']}/entries", json={"entries": [{"value": PDQ}]}, headers=b[Role.analyst]))
    seen = ok(client.get("/v1/banks", headers=a[Role.investigator]))
    assert [x["id"] for x in seen] == [shared["id"]]
    hits = ok(client.post("/v1/match", json={"hashes": [PDQ]}, headers=a[Role.analyst]))["results"][0]["matches"]
    assert [m["bank"] for m in hits] == [shared["id"]]
    # A sees it but may not change it
    r = client.post(f"/v1/banks/{shared['id']}/entries", json={"entries": [{"value": PDQ}]}, headers=a[Role.analyst])
    assert r.status_code == 403

    # intake: A's new report with that hash is matched against B's shared bank, recorded with a custody leaf
    rpt = ok(client.post("/v1/reports", json=report_json("a-2", media=[{"pdq": PDQ}]), headers=a[Role.analyst]), 201)
    with node.db.read() as conn:
        rows = conn.execute(sa.select(schema.matches)).all()
        leaves = conn.execute(
            sa.select(schema.custody_leaves.c.action).where(schema.custody_leaves.c.object_id == rpt["id"])
        ).all()
        events = conn.execute(
            sa.select(schema.audit_events.c.detail).where(schema.audit_events.c.action == "match.intake")
        ).all()
    assert [(m.report_id, m.bank_id, m.distance, m.threshold, m.bank_version, m.org_id) for m in rows] == [
        (rpt["id"], shared["id"], 0, 31, 2, a["id"])
    ]
    assert [x.action for x in leaves] == ["received", "matched"]
    assert events[0].detail["ids"] == [rpt["id"]]

    # once the agreement has expired the bank is B's alone again
    node.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    assert client.get(f"/v1/banks/{shared['id']}", headers=a[Role.analyst]).status_code == 404
    assert ok(client.post("/v1/match", json={"hashes": [PDQ]}, headers=a[Role.analyst]))["results"][0]["matches"] == []


def test_roles(client: TestClient, world: World) -> None:
    a = org(world, "A")
    assert client.post("/v1/banks", json={"name": "x", "type": "md5"}, headers=a[Role.investigator]).status_code == 403
    assert client.get("/v1/banks", headers=a[Role.submitter]).status_code == 403
    for role in (Role.auditor, Role.submitter):
        assert client.post("/v1/match", json={"hashes": ["0" * 32]}, headers=a[role]).status_code == 403
