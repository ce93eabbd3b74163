"""The signal-quality loop over HTTP: verdicts on recorded matches (history, counts, the flag to the bank's
owner, and what the owner never learns), retraction (every match found, reviews opened), and bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.model.organisation import Role
from accord.store import schema
from tests.api.test_banks_api import PDQ, flip, ok, org
from tests.conftest import World, report_json


def share(world: World, *org_ids: str) -> str:
    """An agreement between the organisations, valid for a year."""
    node = world.node
    agr = node.ids("agr")
    with node.db.write() as conn:
        conn.execute(
            sa.insert(schema.agreements).values(
                id=agr,
                parties=list(org_ids),
                purposes=["investigation"],
                legal_bases=["consent"],
                max_marking="AMBER",
                retention_days=365,
                onward_sharing=False,
                valid_from=node.clock.now() - timedelta(days=1),
                valid_until=node.clock.now() + timedelta(days=365),
                created_at=node.clock.now(),
            )
        )
        conn.execute(sa.insert(schema.agreement_parties), [{"agreement_id": agr, "org_id": o} for o in org_ids])
    return agr


def bank_with(client: TestClient, h: dict[str, str], values: list[str], **extra: Any) -> tuple[str, list[int]]:
    bank = ok(client.post("/v1/banks", json={"name": "known", "type": "pdq", **extra}, headers=h), 201)
    added = ok(
        client.post(f"/v1/banks/{bank['id']}/entries", json={"entries": [{"value": v} for v in values]}, headers=h)
    )
    return bank["id"], [e["id"] for e in added["added"]]


def report(client: TestClient, h: dict[str, str], ext: str, pdq: str) -> str:
    body = report_json(ext, media=[{"pdq": pdq}])
    return str(ok(client.post("/v1/reports", json=body, headers=h), 201)["id"])


def matches_of(client: TestClient, h: dict[str, str], report_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = ok(client.get(f"/v1/reports/{report_id}/matches", headers=h))
    return out


def entry_counts(client: TestClient, h: dict[str, str], bank_id: str) -> dict[int, dict[str, int]]:
    page = ok(client.get(f"/v1/banks/{bank_id}/entries", params={"removed": "true"}, headers=h))
    return {e["id"]: e["counts"] for e in page["items"]}


def audit(world: World, action: str) -> list[Any]:
    with world.node.db.read() as conn:
        t = schema.audit_events.c
        return list(conn.execute(sa.select(schema.audit_events).where(t.action == action).order_by(t.seq)))


def verdict(client: TestClient, h: dict[str, str], match_id: int, v: str, note: str | None = None) -> Any:
    body = {"verdict": v, **({"note": note} if note else {})}
    return client.post(f"/v1/matches/{match_id}/verdict", json=body, headers=h)


def test_verdicts_history_counts_and_the_flag(client: TestClient, world: World) -> None:
    a, b = org(world, "A"), org(world, "B")
    agr = share(world, a["id"], b["id"])
    # A's bank, shared with B; B's reports match it. B gives the verdicts; A owns the bank.
    bank_id, (entry, other) = bank_with(client, a[Role.analyst], [PDQ, flip(PDQ, 128)], agreement_id=agr)
    reports = [report(client, b[Role.analyst], f"b-{i}", flip(PDQ, i)) for i in range(4)]
    found = [matches_of(client, b[Role.analyst], r) for r in reports]
    assert [[(m["entry_id"], m["distance"], m["status"], m["verdict"]) for m in ms] for ms in found] == [
        [(entry, i, "active", None)] for i in range(4)
    ]
    ids = [ms[0]["id"] for ms in found]

    # a verdict, then a changed one: the first is kept as history
    first = ok(verdict(client, b[Role.analyst], ids[0], "confirmed", "exact_copy"))
    assert first["verdict"]["verdict"] == "confirmed" and first["verdict"]["note"] == "exact_copy"
    again = ok(verdict(client, b[Role.analyst], ids[0], "confirmed", "exact_copy"))  # the same: no new row
    assert again["history"] == []
    changed = ok(verdict(client, b[Role.investigator], ids[0], "false_positive"))
    assert changed["verdict"]["verdict"] == "false_positive"
    assert [(v["verdict"], v["note"]) for v in changed["history"]] == [("confirmed", "exact_copy")]
    assert changed["history"][0]["superseded_at"] is not None

    # counts, read by the owner through the entries API: one false positive of one verdict, four matches
    assert entry_counts(client, a[Role.analyst], bank_id)[entry] == {
        "matches": 4,
        "confirmed": 0,
        "false_positive": 1,
        "not_actionable": 0,
    }
    assert ok(client.get(f"/v1/banks/{bank_id}/flags", headers=a[Role.analyst])) == []
    # two more false positives and one not_actionable: 3 of 4 verdicts (75 % >= 50 %) passes the default
    ok(verdict(client, b[Role.analyst], ids[1], "false_positive"))
    ok(verdict(client, b[Role.analyst], ids[2], "not_actionable"))
    assert ok(client.get(f"/v1/banks/{bank_id}/flags", headers=a[Role.analyst])) == []  # 2 of 3: not yet
    ok(verdict(client, b[Role.analyst], ids[3], "false_positive"))
    flags = ok(client.get(f"/v1/banks/{bank_id}/flags", headers=a[Role.analyst]))
    assert [(f["entry_id"], f["reason"], f["false_positives"], f["verdicts"]) for f in flags] == [
        (entry, "false_positives", 3, 4)
    ]
    # flagged once: a further verdict does not flag it again
    ok(verdict(client, b[Role.analyst], ids[2], "false_positive"))
    assert len(ok(client.get(f"/v1/banks/{bank_id}/flags", headers=a[Role.analyst]))) == 1
    assert entry_counts(client, a[Role.analyst], bank_id)[other]["matches"] == 0

    # the flags are the owner's: B, who sees the bank through the agreement, is refused
    assert client.get(f"/v1/banks/{bank_id}/flags", headers=b[Role.analyst]).status_code == 403

    # canary: nothing A can read, nor A's audit trail, names B's reports or match ids
    flag_events = audit(world, "bank.entry.flag")
    assert [(e.org_id, e.object_id, e.actor_id) for e in flag_events] == [(a["id"], bank_id, None)]
    seen_by_a = orjson.dumps(
        [
            ok(client.get(f"/v1/banks/{bank_id}/entries", params={"removed": "true"}, headers=a[Role.analyst])),
            flags,
            ok(client.get("/v1/audit", params={"limit": "1000"}, headers=auth_of(world, a))),
        ]
    ).decode()
    assert not [r for r in reports if r in seen_by_a]
    # and A has no matches to read of B's reports
    for r in reports:
        assert client.get(f"/v1/reports/{r}/matches", headers=a[Role.analyst]).status_code == 404
        assert verdict(client, a[Role.analyst], ids[0], "confirmed").status_code == 404
    verdict_events = audit(world, "match.verdict")
    assert {e.org_id for e in verdict_events if e.outcome == "success"} == {b["id"]}


def auth_of(world: World, o: dict[Any, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.key(o['id'], [Role.auditor])}"}


def test_flag_thresholds_are_per_bank(client: TestClient, world: World) -> None:
    a = org(world, "A")
    h = a[Role.analyst]
    bank_id, (entry,) = bank_with(client, h, [PDQ], fp_flag_count=1, fp_flag_share=100)
    r1, r2 = report(client, h, "a-1", PDQ), report(client, h, "a-2", flip(PDQ, 3))
    m1, m2 = matches_of(client, h, r1)[0]["id"], matches_of(client, h, r2)[0]["id"]
    ok(verdict(client, h, m1, "confirmed"))
    ok(verdict(client, h, m2, "false_positive"))  # 1 false positive, 50 % of verdicts: under 100 %
    assert ok(client.get(f"/v1/banks/{bank_id}/flags", headers=h)) == []
    ok(verdict(client, h, m1, "false_positive"))  # now 2 of 2
    assert [f["entry_id"] for f in ok(client.get(f"/v1/banks/{bank_id}/flags", headers=h))] == [entry]
    bad = {"name": "x", "type": "pdq", "fp_flag_share": 101}
    assert client.post("/v1/banks", json=bad, headers=h).status_code == 422


def test_verdict_bad_input(client: TestClient, world: World) -> None:
    a, b = org(world, "A"), org(world, "B")
    bank_with(client, a[Role.analyst], [PDQ])
    m = matches_of(client, a[Role.analyst], report(client, a[Role.analyst], "a-1", PDQ))[0]["id"]
    before = len(audit(world, "match.verdict"))
    r = verdict(client, a[Role.analyst], m, "maybe")
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "/verdict" in r.text
    assert verdict(client, a[Role.analyst], m, "confirmed", "Free Text").status_code == 422
    assert verdict(client, a[Role.analyst], 10**9, "confirmed").status_code == 404
    assert verdict(client, b[Role.analyst], m, "confirmed").status_code == 404  # another organisation's
    assert verdict(client, a[Role.auditor], m, "confirmed").status_code == 403
    with world.node.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.match_verdicts)).scalar_one() == 0
    assert len(audit(world, "match.verdict")) == before + 3  # the refusals past the body check are audited


def test_retraction_finds_every_match_and_opens_reviews(client: TestClient, world: World) -> None:
    a, b = org(world, "A"), org(world, "B")
    agr = share(world, a["id"], b["id"])
    far = flip(PDQ, 200)
    bank_id, (wrong, kept) = bank_with(client, a[Role.analyst], [PDQ, far], agreement_id=agr)
    a1 = report(client, a[Role.analyst], "a-1", PDQ)
    a2 = report(client, a[Role.analyst], "a-2", flip(PDQ, 5))
    a3 = report(client, a[Role.analyst], "a-3", far)  # matches the other entry only
    b1 = report(client, b[Role.analyst], "b-1", flip(PDQ, 2))
    inv = world.key(b["id"], [Role.investigator])
    case = ok(
        client.post(
            "/v1/cases",
            json={"title": "c", "jurisdiction": "DE", "report_ids": [b1]},
            headers={"Authorization": f"Bearer {inv}"},
        ),
        201,
    )

    # unknown entry: 404, nothing changes
    r = client.post(f"/v1/banks/{bank_id}/entries/999999:retract", json={"reason": "x"}, headers=a[Role.analyst])
    assert r.status_code == 404
    assert ok(client.get("/v1/reviews", headers=a[Role.analyst]))["items"] == []

    done = ok(
        client.post(
            f"/v1/banks/{bank_id}/entries/{wrong}:retract", json={"reason": "not what it says"}, headers=a[Role.analyst]
        )
    )
    assert done["retracted"] is True
    status = {
        rid: [(m["entry_id"], m["status"]) for m in matches_of(client, h, rid)]
        for rid, h in ((a1, a[Role.analyst]), (a2, a[Role.analyst]), (a3, a[Role.analyst]), (b1, b[Role.analyst]))
    }
    assert status == {
        a1: [(wrong, "retracted")],
        a2: [(wrong, "retracted")],
        a3: [(kept, "active")],  # another entry's match: untouched
        b1: [(wrong, "retracted")],
    }
    with world.node.db.read() as conn:
        m = schema.matches.c
        rows = conn.execute(sa.select(m.entry_id, m.status, m.retracted_at)).all()
    assert sorted((r.entry_id, r.status, r.retracted_at is not None) for r in rows) == sorted(
        [(wrong, "retracted", True)] * 3 + [(kept, "active", False)]
    )

    # a review per matched report for its organisation, and one for B's case citing its report
    mine = ok(client.get("/v1/reviews", headers=a[Role.analyst]))["items"]
    assert sorted((x["object_type"], x["object_id"], x["entry_id"]) for x in mine) == sorted(
        [("report", a1, wrong), ("report", a2, wrong)]
    )
    theirs = ok(client.get("/v1/reviews", headers=b[Role.analyst]))["items"]
    assert sorted((x["object_type"], x["object_id"]) for x in theirs) == sorted([("report", b1), ("case", case["id"])])
    # the owner's retraction event holds counts; B's review.open names B's objects in B's trail only
    retract_event = audit(world, "bank.entry.retract")[-1]
    assert retract_event.detail | {} == {
        "entry_id": wrong,
        "version": 3,
        "matches": 3,
        "organisations": 2,
        "reviews": 4,
    }
    opened = {e.org_id: e.detail for e in audit(world, "review.open")}
    assert opened[b["id"]]["reports"] == [b1] and opened[b["id"]]["cases"] == [case["id"]]
    assert b1 not in orjson.dumps(opened[a["id"]]).decode()

    # resolving: B's review is B's (A: 404); resolved ones leave the open list
    rid = theirs[0]["id"]
    assert client.post(f"/v1/reviews/{rid}:resolve", headers=a[Role.analyst]).status_code == 404
    assert ok(client.post(f"/v1/reviews/{rid}:resolve", headers=b[Role.analyst]))["resolved_at"] is not None
    assert len(ok(client.get("/v1/reviews", headers=b[Role.analyst]))["items"]) == 1
    assert len(ok(client.get("/v1/reviews", params={"status": "all"}, headers=b[Role.analyst]))["items"]) == 2
    # retracting again changes nothing (no second round of reviews)
    ok(client.post(f"/v1/banks/{bank_id}/entries/{wrong}:retract", json={"reason": "again"}, headers=a[Role.analyst]))
    assert len(audit(world, "review.open")) == 2
