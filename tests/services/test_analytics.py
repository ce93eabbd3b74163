"""Analytics runs on a node, on both backends: the network, communities, key players and timeline of one
organisation's reports, stored with parameters and data version; bad parameters; an empty organisation."""

from __future__ import annotations

from typing import Any

import pytest

from accord.errors import Forbidden, Invalid, NotFound
from accord.model.analytics import RunIn
from accord.model.job import JobStatus
from accord.model.organisation import Role
from accord.model.report import ReportIn
from accord.services import analytics, reports
from accord.services.node import Node
from tests.conftest import World, report_json


def suspect(user: str) -> dict[str, Any]:
    return {"role": "suspect", "identifiers": [{"kind": "account", "service": "platform-01", "value": user}]}


def store(world: World, token: str, ext: str, users: list[str], country: str = "DE", **extra: Any) -> None:
    body = report_json(
        ext,
        subjects=[suspect(u) for u in users] + extra.pop("more", []),
        location={"country": country, "timezone": "Europe/Berlin"},
        media=[],
        **extra,
    )
    reports.submit(world.node, world.actor(token), ReportIn.model_validate(body))


def star(world: World, token: str, hub: str, leaves: list[str], country: str = "DE", prefix: str = "") -> None:
    for i, leaf in enumerate(leaves):
        store(world, token, f"{prefix}{hub}-{i}", [hub, leaf], country)


KEY = "account:platform-01/{}"


def run(node: Node, org: str, kind: str, **parameters: Any) -> analytics.Outcome:
    return analytics.run_local(node, org, RunIn(kind=kind, parameters=parameters))


def test_network_of_one_organisation_only_with_its_data_version(world: World) -> None:
    a, ta = world.org("A", [Role.analyst])
    _, tb = world.org("B", [Role.analyst])
    star(world, ta, "hub-a", ["a1", "a2", "a3"])
    victim = {"role": "victim", "identifiers": [{"kind": "email", "value": "v@x.org"}]}
    store(world, ta, "victim", ["a1"], more=[victim])
    star(world, tb, "hub-b", ["b1", "b2"])
    seen: list[str] = []
    out = analytics.run_local(world.node, a, RunIn(kind="network"), progress=lambda p: seen.append(p.stage))
    assert out.run.status == JobStatus.succeeded and out.doc is not None
    ids = {n["data"]["id"] for n in out.doc["elements"]["nodes"]}
    assert ids == {KEY.format(u) for u in ("hub-a", "a1", "a2", "a3")}  # no B, no victim
    assert out.doc["reports"] == 4 and out.doc["entities"] == 4 and out.doc["edges"] == 3
    assert out.run.data_version is not None and out.run.data_version.reports == 4
    assert seen[0] == "reading reports" and seen[-1] == "done"
    assert out.run.progress.done == 4 and out.run.progress.total == 4


def test_result_is_stale_once_reports_change_and_reads_are_audited(world: World) -> None:
    a, ta = world.org("A", [Role.analyst])
    star(world, ta, "hub", ["x", "y"])
    out = run(world.node, a, "network")
    actor = world.actor(ta)
    assert analytics.result(world.node, actor, out.run.id).stale is False
    store(world, ta, "later", ["x", "z"])
    got = analytics.result(world.node, actor, out.run.id)
    assert got.stale is True and got.doc == out.doc  # the stored result is what it was
    again = run(world.node, a, "network")
    assert again.doc is not None and again.doc["reports"] == 3
    assert analytics.result(world.node, actor, again.run.id).stale is False


def test_key_players_rank_the_bridges_and_respect_jurisdictions(world: World) -> None:
    a, _ = world.org("A", [Role.analyst])
    token = world.key(a, [Role.analyst])
    star(world, token, "de-hub", [f"d{i}" for i in range(6)], "DE")
    star(world, token, "fr-hub", [f"f{i}" for i in range(6)], "FR")
    store(world, token, "bridge-de", ["de-hub", "broker"], "DE")
    store(world, token, "bridge-fr", ["fr-hub", "broker"], "FR")
    out = run(world.node, a, "keyplayers", top=3, k=1)
    assert out.doc is not None
    top = [p["id"] for p in out.doc["ranking"]]
    assert len(top) == 3 and set(top[:2]) <= {KEY.format(h) for h in ("de-hub", "fr-hub", "broker")}
    assert out.doc["largest_component"] == 15
    assert out.doc["auc10"] > 0 and 0 < out.doc["r"] < 1
    # acting only in FR: the FR hub, never the DE hub; the broker was seen in reports from both
    fr = run(world.node, a, "keyplayers", k=1, jurisdictions=["fr"])
    assert fr.doc is not None and fr.doc["choice"]["jurisdictions"] == ["FR"]
    picked = [e["id"] for e in fr.doc["choice"]["entities"]]
    assert picked in ([KEY.format("fr-hub")], [KEY.format("broker")])
    assert all("FR" in e["countries"] for e in fr.doc["choice"]["entities"])
    assert fr.doc["choice"]["exact"] is True and fr.doc["choice"]["largest_component_left"] <= 8


def test_communities_and_timeline(world: World) -> None:
    a, token = world.org("A", [Role.investigator, Role.analyst])
    star(world, token, "h1", ["p", "q", "r"])
    star(world, token, "h2", ["s", "t", "u"])
    com = run(world.node, a, "communities", min_size=2, seed=3)
    assert com.doc is not None and com.doc["communities_total"] == 2
    sizes = sorted(c["size"] for c in com.doc["communities"])
    assert sizes == [4, 4] and com.doc["communities"][0]["jurisdictions"]["DE"] >= 1
    assert com.doc["membership"][KEY.format("p")] == com.doc["membership"][KEY.format("h1")]
    tl = run(world.node, a, "timeline", keys=[KEY.format("h2")], limit=2)
    assert tl.doc is not None and tl.doc["events_total"] == 3 and tl.doc["truncated"] is True
    assert len(tl.doc["events"]) == 2 and all(KEY.format("h2") in e["keys"] for e in tl.doc["events"])


def test_an_organisation_with_no_reports_gets_empty_results(world: World) -> None:
    a, _ = world.org("Empty", [Role.analyst])
    for kind, params in (
        ("network", {}),
        ("communities", {}),
        ("keyplayers", {"k": 3}),
        ("timeline", {}),
    ):
        out = run(world.node, a, kind, **params)
        assert out.run.status == JobStatus.succeeded, out.run.error
        assert out.run.data_version is not None and out.run.data_version.reports == 0
        assert out.doc is not None
    kp = run(world.node, a, "keyplayers", k=2).doc
    assert kp is not None and kp["ranking"] == [] and kp["choice"]["entities"] == [] and kp["auc10"] == 0


@pytest.mark.parametrize(
    ("kind", "params", "pointer"),
    [
        ("pagerank", {}, "/kind"),
        ("communities", {"resolution": 0}, "/parameters/resolution"),
        ("communities", {"method": "louvain"}, "/parameters/method"),
        ("keyplayers", {"k": 51}, "/parameters/k"),
        ("keyplayers", {"top": 0}, "/parameters/top"),
        ("keyplayers", {"jurisdictions": ["FR"]}, "/parameters"),
        ("keyplayers", {"k": 2, "jurisdictions": ["France"]}, "/parameters/jurisdictions"),
        ("network", {"max_sharers": 1}, "/parameters/max_sharers"),
        ("network", {"colour": "red"}, "/parameters/colour"),
        ("timeline", {"keys": ["nokind"]}, "/parameters/keys"),
        ("timeline", {"tolerance_seconds": -1}, "/parameters/tolerance_seconds"),
    ],
)
def test_bad_parameters_are_refused_before_a_run_is_queued(
    world: World, kind: str, params: dict[str, Any], pointer: str
) -> None:
    _, token = world.org("A", [Role.analyst])
    actor = world.actor(token)
    with pytest.raises(Invalid) as caught:
        analytics.start(world.node, actor, RunIn(kind=kind, parameters=params))
    assert pointer in caught.value.errors
    assert analytics.list_runs(world.node, actor, None, 10) == []


def test_permissions_and_other_organisations_runs(world: World) -> None:
    _, ta = world.org("A", [Role.analyst])
    _, tb = world.org("B", [Role.investigator])
    _, tsub = world.org("C", [Role.submitter])
    run_b = analytics.start(world.node, world.actor(tb), RunIn(kind="network"))
    assert run_b.status == JobStatus.queued and run_b.data_version is None
    assert analytics.run_next(world.node) and not analytics.run_next(world.node)
    with pytest.raises(NotFound):
        analytics.get(world.node, world.actor(ta), run_b.id)
    with pytest.raises(NotFound):
        analytics.result(world.node, world.actor(ta), run_b.id)
    with pytest.raises(Forbidden):
        analytics.start(world.node, world.actor(tsub), RunIn(kind="network"))
    assert analytics.get(world.node, world.actor(tb), run_b.id).status == JobStatus.succeeded
    assert [r.id for r in analytics.list_runs(world.node, world.actor(tb), "network", 10)] == [run_b.id]
