from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import igraph as ig
import pytest

from accord.graph.network import Network
from accord.graph.sightings import Sighting, from_dict, read_ndjson
from accord.simulate import generate

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def sighting(n: int, *suspects: tuple[str, ...], media: tuple[str, ...] = (), hours: int = 0) -> Sighting:
    return Sighting(f"r{n}", T0 + timedelta(hours=hours), "org-1", "NL", None, suspects, media)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate(5, 1500, out)
    return out


def test_incremental_equals_from_scratch(world: Path) -> None:
    reports = list(read_ndjson(world / "reports.ndjson"))
    whole = Network()
    whole.add(reports)
    parts = Network()
    for lo in range(0, len(reports), 137):
        parts.add(reports[lo : lo + 137])
    assert parts.cytoscape() == whole.cytoscape()
    assert len(whole.entities) > 100 and {e.kind for e in whole.edges()} >= {"co-report", "same-subject"}


def test_kinds_counts_and_times() -> None:
    net = Network()
    acct_a, acct_b, mail_a = "account:p/a", "account:p/b", "email:a@x.org"
    net.add([sighting(1, (acct_a, mail_a, "ip:10.0.0.1"), (acct_b,), media=("sha256:aa",))])
    net.add([sighting(2, (acct_b, "ip:10.0.0.1"), (acct_a,), media=("sha256:aa",), hours=5)])
    edges = {(e.a, e.b, e.kind): e for e in net.edges()}
    co = edges[(acct_a, acct_b, "co-report")]
    assert (co.count, co.first, co.last) == (2, T0, T0 + timedelta(hours=5))
    assert edges[(acct_a, mail_a, "same-subject")].count == 1
    assert (acct_a, acct_b, "shared-infrastructure") in edges and (acct_a, acct_b, "shared-media") in edges
    assert "ip:10.0.0.1" not in net.entities  # infrastructure is evidence, not a node


def test_mapping_merges_identifiers_and_drops_self_loops() -> None:
    net = Network({"account:p/a": "E1", "email:a@x.org": "E1", "account:q/a2": "E1"})
    net.add([sighting(1, ("account:p/a", "email:a@x.org")), sighting(2, ("account:p/a",), ("account:q/a2",))])
    assert list(net.entities) == ["E1"] and net.entities["E1"].kind == "entity"
    assert net.edges() == [] and net.self_loops == 1


def test_key_shared_beyond_cap_links_nobody() -> None:
    net = Network(max_sharers=3)
    net.add([sighting(i, (f"account:p/u{i}", "ip:100.64.0.1")) for i in range(4)])
    assert net.edges() == []
    net2 = Network(max_sharers=4)
    net2.add([sighting(i, (f"account:p/u{i}", "ip:100.64.0.1")) for i in range(4)])
    assert len(net2.edges()) == 6


def test_empty_and_disconnected_graphs(tmp_path: Path) -> None:
    empty = Network()
    assert empty.graph().vcount() == 0 and empty.cytoscape() == {"nodes": [], "edges": []}
    empty.write_graphml(tmp_path / "e.graphml")
    net = Network()
    net.add([sighting(1, ("account:p/a",), ("account:p/b",)), sighting(2, ("account:p/c",), ("account:p/d",))])
    g = net.graph()
    assert len(g.connected_components()) == 2
    net.write_graphml(tmp_path / "n.graphml")
    back = ig.Graph.Read_GraphML(str(tmp_path / "n.graphml"))
    assert back.vcount() == 4 and set(back.es["kind"]) == {"co-report"}
    json.dumps(net.cytoscape())


def test_victims_are_not_read_and_bad_identifier_is_named() -> None:
    raw = {
        "external_id": "x1",
        "received_at": "2025-03-01T10:00:00+02:00",
        "subjects": [
            {"role": "suspect", "identifiers": [{"kind": "email", "value": "A@X.org"}]},
            {"role": "victim", "identifiers": [{"kind": "account", "value": "v", "service": "p"}]},
        ],
    }
    s = from_dict(raw)
    assert s.suspects == (("email:a@x.org",),) and s.at == datetime(2025, 3, 1, 8, tzinfo=UTC)
    raw["subjects"][0]["identifiers"][0]["value"] = "not-an-address"  # type: ignore[index]
    from accord.errors import Invalid

    with pytest.raises(Invalid, match="subjects/0/identifiers/0"):
        from_dict(raw, "f:3")
