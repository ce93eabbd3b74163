"""/v1/retention/rules and 410 Gone over HTTP, on both backends: who may read and set rules, how bad rules are
refused (problem+json naming the field), and what a client sees of a purged report and a purged sealed part."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from accord.clock import FixedClock
from accord.model.organisation import Role
from accord.services import retention
from tests.conftest import World, auth, report_json
from tests.sealing import sealed_report
from tests.services.test_retention import agreement


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["type"].startswith("urn:accord:problem:")
    return body


def test_admins_set_rules_and_auditors_read_them(client: TestClient, world: World) -> None:
    org_id, admin = world.org("A", [Role.admin])
    auditor, analyst = world.key(org_id, [Role.auditor]), world.key(org_id, [Role.analyst])
    partner, _ = world.org("P", [Role.analyst])
    agr = agreement(world.node, 90, org_id, partner)
    body = {"rules": [{"category": "report", "days": 365}, {"category": "sealed", "days": 30, "agreement_id": agr}]}
    r = client.put("/v1/retention/rules", json=body, headers=auth(admin))
    assert r.status_code == 200, r.text
    got = r.json()
    assert [(x["category"], x["days"], x["agreement_id"]) for x in got["rules"]] == [
        ("report", 365, None),
        ("sealed", 30, agr),
    ]
    assert got["agreement_caps"] == [{"agreement_id": agr, "retention_days": 90}]
    assert client.get("/v1/retention/rules", headers=auth(auditor)).json() == got
    problem(client.put("/v1/retention/rules", json=body, headers=auth(analyst)), 403)
    problem(client.put("/v1/retention/rules", json=body, headers=auth(auditor)), 403)
    problem(client.get("/v1/retention/rules", headers=auth(analyst)), 403)


def test_bad_rules_are_refused_naming_the_field(client: TestClient, world: World) -> None:
    org_id, admin = world.org("A", [Role.admin])
    others = [world.org(n, [Role.analyst])[0] for n in "BC"]
    foreign = agreement(world.node, 30, *others)

    def put(rules: list[dict[str, object]]) -> Any:
        return client.put("/v1/retention/rules", json={"rules": rules}, headers=auth(admin))

    bad = problem(put([{"category": "report", "days": 10}, {"category": "victims", "days": 10}]), 422)
    assert bad["errors"] == [{"pointer": "/rules/1/category", "detail": bad["errors"][0]["detail"]}]
    assert "unknown retention category 'victims'" in bad["detail"]
    assert problem(put([{"category": "report", "days": 0}]), 422)["errors"][0]["pointer"] == "/rules/0/days"
    assert (
        problem(put([{"category": "report", "days": 1, "extra": 1}]), 422)["errors"][0]["pointer"] == "/rules/0/extra"
    )
    dup = problem(put([{"category": "sealed", "days": 1}, {"category": "sealed", "days": 2}]), 422)
    assert "rules 0 and 1" in dup["detail"]
    for agr in (foreign, world.node.ids("agr")):  # another organisations' agreement is as unknown as none
        missing = problem(put([{"category": "report", "days": 1, "agreement_id": agr}]), 404)
        assert missing["detail"].startswith("/rules/0/agreement_id: no agreement") and org_id not in missing["detail"]
    assert client.get("/v1/retention/rules", headers=auth(admin)).json()["rules"] == []


def test_a_purged_report_answers_410_and_its_sealed_fields_too(
    client: TestClient, world: World, clock: FixedClock
) -> None:
    org_id, admin = world.org("A", [Role.admin])
    analyst, supervisor = world.key(org_id, [Role.analyst]), world.key(org_id, [Role.supervisor])
    whole = client.post("/v1/reports", json=report_json("w"), headers=auth(analyst)).json()["id"]
    clock.advance(timedelta(days=3))
    part = client.post("/v1/reports", json=sealed_report("p"), headers=auth(analyst)).json()["id"]
    body = {"rules": [{"category": "report", "days": 4}, {"category": "sealed", "days": 1}]}
    assert client.put("/v1/retention/rules", json=body, headers=auth(admin)).status_code == 200
    clock.advance(timedelta(days=2))
    assert retention.run(world.node).total == 2

    gone = problem(client.get(f"/v1/reports/{whole}", headers=auth(analyst)), 410)
    assert gone["type"] == "urn:accord:problem:gone" and gone["reason"] == "purged" and whole in gone["detail"]
    items = client.get("/v1/reports", headers=auth(analyst)).json()["items"]
    assert [i["id"] for i in items] == [part]
    ask = {"report_id": part, "fields": ["/narrative"]}
    sealed_gone = problem(client.post("/v1/unseal-requests", json=ask, headers=auth(supervisor)), 410)
    assert "sealed fields" in sealed_gone["detail"]
    problem(client.post("/v1/unseal-requests", json={**ask, "report_id": whole}, headers=auth(supervisor)), 410)
    # another organisation never learns that the report existed
    _, stranger = world.org("B", [Role.analyst])
    problem(client.get(f"/v1/reports/{whole}", headers=auth(stranger)), 404)
