"""/v1/analytics on both backends, through the app's real job runner: runs queued with 202 and followed to
their end, results as JSON and GraphML, problem+json for bad input, and the graph view's HTML and data.

The project has no browser tests (no Playwright or chromium in tests/), so the view is tested here as
HTML and as the JSON it embeds: the elements Cytoscape.js is handed, their colours and ranks."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from typing import Any

import orjson
from fastapi.testclient import TestClient

from accord.model.organisation import Role
from tests.conftest import World, auth, report_json

GRAPHML_NS = "{http://graphml.graphdrawing.org/xmlns}"


def suspect(user: str) -> dict[str, Any]:
    return {"role": "suspect", "identifiers": [{"kind": "account", "service": "platform-01", "value": user}]}


def post_star(client: TestClient, token: str, hub: str, leaves: list[str], country: str = "DE") -> None:
    for i, leaf in enumerate(leaves):
        body = report_json(
            f"{hub}-{i}", subjects=[suspect(hub), suspect(leaf)], media=[], location={"country": country}
        )
        assert client.post("/v1/reports", json=body, headers=auth(token)).status_code == 201


def run(client: TestClient, token: str, kind: str, **parameters: Any) -> dict[str, Any]:
    res = client.post("/v1/analytics/runs", json={"kind": kind, "parameters": parameters}, headers=auth(token))
    assert res.status_code == 202, res.text
    assert res.headers["Location"] == f"/v1/analytics/runs/{res.json()['id']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got: dict[str, Any] = client.get(res.headers["Location"], headers=auth(token)).json()
        if got["status"] in ("succeeded", "failed"):
            return got
        time.sleep(0.05)
    raise AssertionError("the run did not finish")


def test_runs_progress_and_results_as_json_and_graphml(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    post_star(client, token, "hub", ["a", "b", "c"])
    done = run(client, token, "network")
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"stage": "done", "done": 3, "total": 3}
    assert done["data_version"]["reports"] == 3 and done["parameters"]["max_sharers"] == 20
    res = client.get(f"/v1/analytics/runs/{done['id']}/result", headers=auth(token))
    assert res.status_code == 200 and res.json()["stale"] is False
    assert res.json()["run"]["id"] == done["id"] and res.json()["result"]["entities"] == 4
    for how in ({"params": {"format": "graphml"}}, {"headers": {"Accept": "application/graphml+xml"}}):
        headers = {**auth(token), **how.get("headers", {})}
        g = client.get(f"/v1/analytics/runs/{done['id']}/result", headers=headers, params=how.get("params"))
        assert g.status_code == 200 and g.headers["content-type"].startswith("application/graphml+xml")
        root = ET.fromstring(g.content)
        graph = root.find(f"{GRAPHML_NS}graph")
        assert graph is not None
        assert len(graph.findall(f"{GRAPHML_NS}node")) == 4 and len(graph.findall(f"{GRAPHML_NS}edge")) == 3
    listed = client.get("/v1/analytics/runs?kind=network", headers=auth(token)).json()
    assert [r["id"] for r in listed] == [done["id"]]


def test_bad_input_is_problem_json(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    cases = [
        ({"kind": "pagerank"}, "/kind"),
        ({"kind": "keyplayers", "parameters": {"k": 0}}, "/parameters/k"),
        ({"kind": "communities", "parameters": {"resolution": -1}}, "/parameters/resolution"),
        ({"kind": "network", "extra": 1}, None),
        ({"kind": "money", "parameters": {"trace": ["email:x@example.org"]}}, "/parameters/trace"),
        ({"kind": "money", "parameters": {"trace": ["payment:card-token/none"]}}, "/parameters/trace"),
        ({"kind": "network", "parameters": {"resolve_run": "latest"}}, "/parameters/resolve_run"),
        ({"kind": "resolve", "parameters": {"threshold": "high"}}, "/parameters/threshold"),
    ]
    for body, pointer in cases:
        res = client.post("/v1/analytics/runs", json=body, headers=auth(token))
        assert res.status_code == 422, res.text
        assert res.headers["content-type"].startswith("application/problem+json")
        problem = res.json()
        assert problem["status"] == 422 and problem["title"]
        if pointer:
            assert pointer in [e["pointer"] for e in problem["errors"]], problem
    assert client.get("/v1/analytics/runs", headers=auth(token)).json() == []
    com = run(client, token, "communities")
    res = client.get(f"/v1/analytics/runs/{com['id']}/result?format=graphml", headers=auth(token))
    assert res.status_code == 422 and res.json()["status"] == 422
    view = client.get(f"/v1/analytics/runs/{com['id']}/view", headers=auth(token))
    assert view.status_code == 422
    assert client.get("/v1/analytics/runs?kind=nope", headers=auth(token)).status_code == 422
    _, sub = world.org("S", [Role.submitter])
    assert client.post("/v1/analytics/runs", json={"kind": "network"}, headers=auth(sub)).status_code == 403


def test_empty_organisation_gives_an_empty_network_and_view(client: TestClient, world: World) -> None:
    _, token = world.org("Empty", [Role.investigator])
    done = run(client, token, "network")
    assert done["status"] == "succeeded" and done["data_version"]["reports"] == 0
    kp = run(client, token, "keyplayers", k=2)
    assert kp["status"] == "succeeded"
    view = client.get(f"/v1/analytics/runs/{done['id']}/view", headers=auth(token))
    assert view.status_code == 200 and "0 of 0 entities" in view.text


def embedded(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, Any] = orjson.loads(found.group(1))
    return data


def test_view_colours_communities_and_marks_key_players(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.supervisor, Role.analyst])
    post_star(client, token, "h1", ["p", "q", "r", "</script><b>x"])
    post_star(client, token, "h2", ["s", "t", "u"], "FR")
    net = run(client, token, "network")
    com = run(client, token, "communities", min_size=2)
    kp = run(client, token, "keyplayers", top=2, k=1, jurisdictions=["FR"])
    assert {net["status"], com["status"], kp["status"]} == {"succeeded"}
    res = client.get(f"/v1/analytics/runs/{net['id']}/view", headers=auth(token))
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    html = res.text
    assert "</script><b>" not in html  # the hostile id is escaped inside the JSON element
    assert '<script src="/v1/analytics/static/cytoscape.min.js"></script>' in html
    assert com["id"] in html and kp["id"] in html  # the newest runs on the same data version were used
    data = embedded(html)
    nodes = {n["data"]["id"]: n["data"] for n in data["nodes"]}
    assert "account:platform-01/</script><b>x" in nodes and data["total_nodes"] == 9
    h1, h2 = nodes["account:platform-01/h1"], nodes["account:platform-01/h2"]
    assert h1["community"] != h2["community"] and h1["colour"] != h2["colour"]
    assert nodes["account:platform-01/p"]["colour"] == h1["colour"]
    assert {h1["rank"], h2["rank"]} == {1, 2} and nodes["account:platform-01/p"]["rank"] == 0
    assert h2["chosen"] is True and h1["chosen"] is False  # only FR is actionable
    small = embedded(client.get(f"/v1/analytics/runs/{net['id']}/view?limit=2", headers=auth(token)).text)
    assert {n["data"]["id"] for n in small["nodes"]} == {"account:platform-01/h1", "account:platform-01/h2"}
    assert small["edges"] == []
    js = client.get("/v1/analytics/static/cytoscape.min.js")
    assert js.status_code == 200 and "cytoscape" in js.text[:2000].lower()
    assert js.headers["content-type"].startswith("text/javascript")


def test_a_report_carries_transfers_and_a_money_run_reads_them(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    pay = {"kind": "payment", "instrument": "iban", "value": "DE89 3704 0044 0532 0130 00"}
    to = {"kind": "payment", "instrument": "card-token", "value": "tok-1"}
    move = {"at": "2025-03-03T10:00:00+01:00", "from": pay, "to": to, "amount": 12.5, "currency": "EUR"}
    bad = report_json("t-0", transfers=[{k: v for k, v in move.items() if k != "currency"}])
    res = client.post("/v1/reports", json=bad, headers=auth(token))
    assert res.status_code == 422 and "/transfers/0/currency" in [e["pointer"] for e in res.json()["errors"]]
    created = client.post("/v1/reports", json=report_json("t-1", transfers=[move]), headers=auth(token))
    assert created.status_code == 201
    # the report gives its transfers back as sent (the IBAN's spaces kept), and so does the native export
    got = client.get(f"/v1/reports/{created.json()['id']}", headers=auth(token)).json()
    assert got["transfers"] == created.json()["transfers"] and got["transfers"][0]["from"]["value"] == pay["value"]
    exported = client.get("/v1/export", params={"format": "native"}, headers=auth(token))
    assert orjson.loads(exported.content.splitlines()[0])["transfers"] == [{**move, "at": "2025-03-03T09:00:00Z"}]
    done = run(client, token, "money", trace=["payment:iban/DE89370400440532013000"])
    assert done["status"] == "succeeded", done
    doc = client.get(f"/v1/analytics/runs/{done['id']}/result", headers=auth(token)).json()["result"]
    assert doc["transfers"] == 1 and doc["traces"][0]["reached_eur"] == {"payment:card-token/tok-1": 12.5}
