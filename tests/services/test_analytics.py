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


# --- transfers and money runs ------------------------------------------------------------------------------


def card(value: str) -> dict[str, Any]:
    return {"kind": "payment", "instrument": "card-token", "value": value}


def transfer(src: str, dst: str, at: str, amount: float, currency: str = "EUR") -> dict[str, Any]:
    return {"at": at, "from": card(src), "to": card(dst), "amount": amount, "currency": currency, "rail": "card"}


PAY = "payment:card-token/{}"


def test_transfers_are_stored_with_reports_and_money_runs_read_only_their_own(world: World) -> None:
    from accord.store import retention as retention_store
    from accord.store import transfers as transfer_store

    a, ta = world.org("A", [Role.analyst])
    b, tb = world.org("B", [Role.analyst])
    # the forwarding arrives in an earlier report than the payments it forwards: the ledger orders by time
    store(world, ta, "fwd", ["hub"], transfers=[transfer("hub", "sink", "2025-02-02T09:00:00Z", 145.0)])
    store(world, ta, "pay", ["p1", "hub"], transfers=[
        transfer("p1", "hub", "2025-02-01T10:00:00Z", 100.0),
        transfer("p2", "hub", "2025-02-01T11:00:00Z", 50.0),
        transfer("p2", "hub", "2025-02-01T12:00:00Z", 7.0, currency="XYZ"),  # no rate: skipped, counted
    ])  # fmt: skip
    store(world, ta, "out", ["sink"], transfers=[transfer("sink", "away", "2025-02-03T09:00:00Z", 140.0)])
    store(world, tb, "b-pay", ["p1"], transfers=[transfer("p1", "b-sink", "2025-02-01T10:30:00Z", 60.0)])

    out = run(world.node, a, "money", trace=[PAY.format("p1")])
    assert out.run.status == JobStatus.succeeded and out.doc is not None, out.run.error
    doc = out.doc
    assert (doc["transfers_stored"], doc["transfers"], doc["skipped_unpriced"]) == (5, 4, 1)
    forward, backward = doc["traces"]
    assert forward["direction"] == "forward" and backward["direction"] == "backward"
    assert set(forward["reached_eur"]) == {PAY.format(k) for k in ("hub", "sink", "away")}  # not B's b-sink
    assert forward["reached_eur"][PAY.format("hub")] == 100.0 and forward["hops"][PAY.format("away")] == 3
    assert doc["flows_between_jurisdictions"] == []  # no countries given
    assert run(world.node, b, "money").doc["transfers"] == 1  # type: ignore[index]
    with pytest.raises(Invalid) as exc:  # A's instrument is unknown to B
        run(world.node, b, "money", trace=[PAY.format("hub")])
    assert "/parameters/trace" in exc.value.errors

    net = run(world.node, a, "network").doc
    assert net is not None and net["transfers"] == 4
    payments = {
        (e["data"]["source"], e["data"]["target"]) for e in net["elements"]["edges"] if e["data"]["kind"] == "payment"
    }
    assert (PAY.format("hub"), PAY.format("sink")) in payments and len(payments) == 4

    # a purged report takes its transfers with it
    with world.node.db.read() as conn:
        rows = transfer_store.page(conn, a, "~", 0, 100)
    fwd_report = next(r["report"] for r in rows if r["from"] == PAY.format("hub"))
    with world.node.db.write() as conn:
        retention_store.delete_reports(conn, a, [fwd_report])
    with world.node.db.read() as conn:
        assert len(transfer_store.page(conn, a, "~", 0, 100)) == 4
        assert len(transfer_store.page(conn, b, "~", 0, 100)) == 1


def test_bad_transfers_are_refused_naming_the_field() -> None:
    from pydantic import ValidationError

    good = transfer("a", "b", "2025-02-01T10:00:00Z", 1.0)
    for change, field in (
        ({"currency": None}, "currency"),
        ({"amount": -1}, "amount"),
        ({"amount": float("nan")}, "amount"),
        ({"at": "2025-02-01T10:00:00"}, "at"),
        ({"to": {"kind": "email", "value": "x@example.org"}}, "to"),
    ):
        body = report_json("t", transfers=[{**good, **change}])
        if change.get("currency", "") is None:
            del body["transfers"][0]["currency"]  # type: ignore[index]
        with pytest.raises(ValidationError) as exc:
            ReportIn.model_validate(body)
        assert exc.value.errors()[0]["loc"][:3] == ("transfers", 0, field), exc.value.errors()


def test_a_report_without_transfers_keeps_its_digest() -> None:
    import hashlib

    from accord.intake.prepare import digest

    plain = ReportIn.model_validate(report_json("d"))
    assert '"transfers"' not in plain.model_dump_json(exclude={"transfers"})
    with_one = ReportIn.model_validate(report_json("d", transfers=[transfer("a", "b", "2025-02-01T10:00:00Z", 1.0)]))
    assert digest(plain) != digest(with_one)
    before = plain.model_dump_json(exclude={"transfers"})  # what a digest covered before transfers existed
    assert digest(plain) == hashlib.sha256(before.encode()).hexdigest()


# --- entity resolution as a run, and graph runs on its entities ----------------------------------------


def _people(world: World, token: str) -> dict[str, str]:
    """50 people with two or three observations each (neutral generated handles), four subjects a report,
    plus one planted pair; returns the planted records' ids."""
    import random

    from accord.simulate import noise

    rng = random.Random(5)
    subjects: list[dict[str, Any]] = []
    for p in range(50):
        h = noise.handle(rng) + str(p)
        for k in range(2 + p % 2):
            ids: list[dict[str, Any]] = [
                {"kind": "account", "service": "platform-01", "value": h if k != 2 else noise.typo(rng, h)}
            ]
            if k:
                ids.append({"kind": "email", "value": f"{h}@example.com"})
            if k != 1:
                ids.append({"kind": "phone", "value": f"+316{10000000 + p}"})
            subjects.append({"role": "suspect", "identifiers": ids})
    rng.shuffle(subjects)
    for n in range(0, len(subjects), 4):
        body = report_json(f"pop-{n}", subjects=subjects[n : n + 4], media=[])
        reports.submit(world.node, world.actor(token), ReportIn.model_validate(body))
    planted: dict[str, str] = {}
    for n in range(2):
        same = {"role": "suspect", "identifiers": [
            {"kind": "account", "service": "platform-01", "value": "pelumira3"},
            {"kind": "email", "value": "pelumira@example.net"}, {"kind": "device", "value": "a1b2c3d4"},
        ]}  # fmt: skip
        sub = reports.submit(
            world.node, world.actor(token), ReportIn.model_validate(report_json(f"pl-{n}", subjects=[same], media=[]))
        )
        planted[f"p{n}"] = f"{sub.report.id}/0"
    return planted


def test_resolve_run_respects_decisions_and_graph_runs_use_its_entities(world: World) -> None:
    from accord.services import resolution

    a, ta = world.org("A", [Role.analyst, Role.investigator])
    b, _ = world.org("B", [Role.analyst])
    planted = _people(world, ta)
    seen: list[str] = []
    first = analytics.run_local(world.node, a, RunIn(kind="resolve"), progress=lambda p: seen.append(p.stage))
    assert first.run.status == JobStatus.succeeded and first.doc is not None, first.run.error
    assert "resolve: training" in seen and first.run.data_version is not None
    doc = first.doc
    label = {r: e["id"] for e in doc["entities"] for r in e["records"]}
    assert label[planted["p0"]] == label[planted["p1"]]
    assert doc["records"] == 127 and doc["multi_record_entities"] >= 25
    assert doc["entity_of"]["account:platform-01/pelumira3"] == label[planted["p0"]]

    plain = run(world.node, a, "network").doc
    net = run(world.node, a, "network", resolve_run="latest")
    assert net.run.parameters["resolve_run"] == first.run.id and net.doc is not None
    assert net.doc["resolve_run"] == first.run.id and net.doc["entities"] < plain["entities"]  # type: ignore[index]
    assert label[planted["p0"]] in {n["data"]["id"] for n in net.doc["elements"]["nodes"]}
    comms = run(world.node, a, "communities", resolve_run=first.run.id)
    assert comms.run.status == JobStatus.succeeded and comms.doc["resolve_run"] == first.run.id  # type: ignore[index]

    actor = world.actor(ta)
    resolution.decide(world.node, actor, "split", planted["p0"], planted["p1"], note="two people")
    resolution.decide(world.node, actor, "merge", planted["p0"], "gone/0")  # names no record: ignored
    second = run(world.node, a, "resolve").doc
    assert second is not None
    label = {r: e["id"] for e in second["entities"] for r in e["records"]}
    assert label[planted["p0"]] != label[planted["p1"]]
    assert (second["decisions_used"], second["decisions_ignored"]) == (1, 1)
    assert any({r["a"], r["b"]} == {planted["p0"], planted["p1"]} for r in second["refused"])

    with pytest.raises(Invalid) as exc:  # B has no resolve run; A's is not B's to use
        run(world.node, b, "network", resolve_run="latest")
    assert "/parameters/resolve_run" in exc.value.errors
    with pytest.raises(Invalid):
        run(world.node, b, "keyplayers", resolve_run=first.run.id)
    with pytest.raises(Invalid):
        run(world.node, a, "network", resolve_run=net.run.id)  # a network run, not a resolve run
