"""Every action on a report is a custody leaf (issue 5): "viewed" for each report an answer returns,
"exported" for each report a format export writes, "unsealed" for each opening of sealed fields. On both
backends: leaf counts and actions per path, the report's digest on each, the leaves in a case's
evidence bundle (verified offline), the custody API showing them to their organisation only, and the
whole log verifying afterwards."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.custody.bundle import verify_bundle
from accord.custody.entry import CustodyEntry, parse_leaf
from accord.errors import NotFound
from accord.model.case import CaseIn
from accord.model.identifier import Identifier
from accord.model.media import Media
from accord.model.organisation import Actor, Role
from accord.model.parse import parse_obj
from accord.model.report import Report, ReportIn
from accord.services import cases, custody, exports, reports
from accord.services.node import Node
from accord.store import reports as report_store
from accord.store.reports import ReportFilter
from accord.store.schema import audit_events, custody_leaves
from tests.conftest import World, auth, report_json
from tests.sealing import approve_by, ask, ok, setup_org


def leaves(node: Node, since: int = 0) -> list[tuple[int, CustodyEntry]]:
    with node.db.read() as conn:
        rows = conn.execute(
            sa.select(custody_leaves.c.seq, custody_leaves.c.leaf)
            .where(custody_leaves.c.seq >= since)
            .order_by(custody_leaves.c.seq)
        ).all()
    return [(int(r.seq), parse_leaf(bytes(r.leaf))) for r in rows]


def size(node: Node) -> int:
    with node.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(custody_leaves)).scalar_one())


def submit(node: Node, actor: Actor, n: int, prefix: str = "r") -> list[Report]:
    out = []
    for i in range(n):
        body = report_json(f"{prefix}{i}")
        body["media"] = [{"md5": f"{i:032x}"}]
        out.append(reports.submit(node, actor, parse_obj(ReportIn, body)).report)
    return out


def analyst(world: World, name: str) -> Actor:
    return world.actor(world.org(name, [Role.analyst, Role.investigator])[1])


def check(entries: list[tuple[int, CustodyEntry]], actor: Actor, action: str, detail: dict[str, Any]) -> None:
    for _, e in entries:
        assert (e.action, e.actor_id, e.org_id, e.object_type, dict(e.detail)) == (
            action,
            actor.id,
            actor.org_id,
            "report",
            detail,
        )


def test_every_read_that_returns_reports_leaves_one_viewed_leaf_per_report(world: World) -> None:
    node = world.node
    a, b = analyst(world, "A"), analyst(world, "B")
    mine = submit(node, a, 3)
    submit(node, b, 1, "b")
    digests: dict[str, str] = {r.id: r.digest for r in mine}

    start = size(node)
    assert reports.get(node, a, mine[1].id).id == mine[1].id
    got = leaves(node, start)
    check(got, a, "viewed", {"view": "get"})
    assert [(e.object_id, e.digest) for _, e in got] == [(mine[1].id, mine[1].digest)]

    start = size(node)
    page = reports.list_page(node, a, ReportFilter(), None, 2)
    got = leaves(node, start)
    check(got, a, "viewed", {"view": "list"})
    assert [e.object_id for _, e in got] == [r.id for r in page.items] and len(got) == 2
    assert all(e.digest == digests[e.object_id] for _, e in got)

    start = size(node)
    hits = reports.search_identifier(
        node, a, parse_obj(Identifier, {"kind": "email", "value": "subject.a@example.org"})
    )
    got = leaves(node, start)
    check(got, a, "viewed", {"view": "search"})
    assert sorted(e.object_id for _, e in got) == sorted(r.id for r in hits.items) == sorted(digests)

    start = size(node)
    found = reports.search_media(node, a, parse_obj(Media, {"md5": f"{2:032x}"}))
    got = leaves(node, start)
    assert [r.id for r in found.items] == [e.object_id for _, e in got] == [mine[2].id]
    check(got, a, "viewed", {"view": "search"})

    # nothing returned, nothing logged: no hits, an empty page, another organisation's report
    start = size(node)
    assert not reports.search_media(node, a, parse_obj(Media, {"md5": "f" * 32})).items
    assert not reports.list_page(node, a, ReportFilter(incident_type="grooming"), None, 10).items
    with pytest.raises(NotFound):
        reports.get(node, b, mine[0].id)
    assert size(node) == start

    assert custody.verify_log(node).ok


@pytest.mark.parametrize("fmt", ["native", "csv", "stix", "ftm", "case", "dsa"])
def test_format_exports_leave_one_exported_leaf_per_report_and_page(
    world: World, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = world.node
    a, b = analyst(world, "A"), analyst(world, "B")
    mine = submit(node, a, 5)
    submit(node, b, 2, "b")
    monkeypatch.setattr(exports, "PAGE", 2)  # three pages: a leaf batch and an audit event each
    start = size(node)
    assert exports.export(node, a, fmt, ReportFilter(), io.BytesIO()) == 5
    got = leaves(node, start)
    check(got, a, "exported", {"format": fmt})
    assert sorted(e.object_id for _, e in got) == sorted(r.id for r in mine)
    assert {e.object_id: e.digest for _, e in got} == {r.id: r.digest for r in mine}
    with node.db.read() as conn:
        pages = [
            r.detail["ids"]
            for r in conn.execute(
                sa.select(audit_events.c.detail)
                .where(audit_events.c.action == "report.export")
                .order_by(audit_events.c.seq)
            )
        ]
    assert pages == [[e.object_id for _, e in got[i : i + 2]] for i in range(0, 5, 2)]
    assert custody.verify_log(node).ok


def test_the_http_export_and_read_log_the_same_leaves(client: TestClient, world: World) -> None:
    org_id, token = world.org("A", [Role.analyst])
    report_id = ok(client.post("/v1/reports", json=report_json("h1"), headers=auth(token)), 201)["id"]
    start = size(world.node)
    ok(client.get(f"/v1/reports/{report_id}", headers=auth(token)))
    ok(client.get("/v1/reports", headers=auth(token)))
    assert client.get("/v1/export?format=stix", headers=auth(token)).status_code == 200
    got = [(e.action, dict(e.detail), e.object_id, e.org_id) for _, e in leaves(world.node, start)]
    assert got == [
        ("viewed", {"view": "get"}, report_id, org_id),
        ("viewed", {"view": "list"}, report_id, org_id),
        ("exported", {"format": "stix"}, report_id, org_id),
    ]


def test_openings_are_unsealed_leaves_in_bundles_and_shown_to_their_organisation_only(
    client: TestClient, world: World
) -> None:
    node = world.node
    org = setup_org(client, world, "A")
    other = setup_org(client, world, "B", custodians=0, ext="b-1")
    actor = world.actor(org.investigator)
    with node.db.read() as conn:
        report = report_store.get(conn, actor, org.report_id)
    assert [e.action for _, e in leaves(node) if e.object_id == report.id] == ["received"]  # intake's own

    start = size(node)
    req = ask(client, org, ["/narrative"])
    refused = client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator))
    assert refused.status_code == 403 and size(node) == start  # a refused opening logs nothing
    approve_by(client, req, org.custodians[0], org.custodians[1])
    ok(client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator)))
    urgent = ok(
        client.post(
            "/v1/unseal-requests",
            json={"report_id": org.report_id, "fields": ["/subjects/1", "/narrative"]},
            headers=auth(org.supervisor),
        ),
        201,
    )
    opened = client.post(
        f"/v1/unseal-requests/{urgent['id']}/open",
        json={"emergency": True, "reason": "imminent danger (synthetic)"},
        headers=auth(org.supervisor),
    )
    ok(opened)
    unsealed = leaves(node, start)
    assert [dict(e.detail) for _, e in unsealed] == [
        {
            "unseal_request_id": req["id"],
            "field_count": 1,
            "fields": "/narrative",
            "emergency": 0,
            "warrant_id": org.warrant_id,
        },
        {"unseal_request_id": urgent["id"], "field_count": 2, "fields": "/subjects/1,/narrative", "emergency": 1},
    ]
    supervisor = world.actor(org.supervisor)
    assert [(e.action, e.actor_id, e.org_id, e.object_id, e.digest) for _, e in unsealed] == [
        ("unsealed", actor.id, org.org_id, org.report_id, report.digest),
        ("unsealed", supervisor.id, org.org_id, org.report_id, report.digest),
    ]
    # a second opening of the same request is refused and logs nothing
    again = client.post(f"/v1/unseal-requests/{req['id']}/open", headers=auth(org.investigator))
    assert again.status_code == 409 and size(node) == start + 2

    # the custody API shows the leaf to its own organisation, and to no other
    seq = unsealed[0][0]
    entry = ok(client.get(f"/v1/custody/entries/{seq}", headers=auth(org.analyst)))
    assert (entry["seq"], entry["entry"]["action"], entry["entry"]["org_id"]) == (seq, "unsealed", org.org_id)
    for token in (other.analyst, other.auditor, other.investigator):
        assert client.get(f"/v1/custody/entries/{seq}", headers=auth(token)).status_code == 404

    # a view, a format export and the openings all go into the case's bundle, which verifies offline
    ok(client.get(f"/v1/reports/{org.report_id}", headers=auth(org.analyst)))
    assert client.get("/v1/export?format=csv", headers=auth(org.analyst)).status_code == 200
    case = cases.create(node, actor, parse_obj(CaseIn, {"title": "t", "jurisdiction": "DE", "report_ids": [report.id]}))
    data = custody.export_case(node, actor, case.id)
    result = verify_bundle(data, custody.verifiers(node))
    assert result.ok and result.pinned, result.failures
    in_bundle = [parse_leaf(e["leaf"].encode()) for e in json.loads(data)["entries"]]
    assert [(e.action, dict(e.detail).get("view") or dict(e.detail).get("format")) for e in in_bundle] == [
        ("received", None),
        ("unsealed", None),
        ("unsealed", None),
        ("viewed", "get"),
        ("exported", "csv"),
        ("exported", None),
    ]
    assert {e.digest for e in in_bundle} == {report.digest}
    assert custody.verify_log(node).ok
