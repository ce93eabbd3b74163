from __future__ import annotations

from datetime import UTC, datetime

import igraph as ig
import pytest

from accord.errors import Invalid
from accord.graph.communities import compare, detect, summarise
from accord.graph.network import Network
from accord.graph.sightings import Sighting

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def two_cliques() -> Network:
    """Two 5-cliques of accounts on different platforms and countries, joined by one report."""
    reports = []
    for group, (svc, country) in enumerate((("p1", "NL"), ("p2", "PL"))):
        names = [f"account:{svc}/u{group}{i}" for i in range(5)]
        for i in range(5):
            for j in range(i + 1, 5):
                for _ in range(3):
                    reports.append(
                        Sighting(f"r{len(reports)}", T0, "org-1", country, None, ((names[i],), (names[j],)), ())
                    )
    reports.append(Sighting("bridge", T0, "org-1", "NL", None, (("account:p1/u00",), ("account:p2/u10",)), ()))
    net = Network()
    net.add(reports)
    return net


@pytest.mark.parametrize(("method", "resolution"), [("modularity", 1.0), ("cpm", 0.5)])
def test_finds_planted_groups_stably(method: str, resolution: float) -> None:
    net = two_cliques()
    g = net.graph(simple=True)
    p = detect(g, method, resolution=resolution, seed=3)
    assert p == detect(g, method, resolution=resolution, seed=3)
    assert detect(g, method, resolution=resolution, seed=3, iterations=-1).membership == p.membership
    planted = [0 if "/u0" in n else 1 for n in p.names]
    assert compare(p.membership, planted) == {"ari": 1.0, "nmi": 1.0}
    summary = summarise(net, g, p, hubs=2)
    assert [c.size for c in summary] == [5, 5]
    first = summary[0]
    assert len(first.hubs) == 2 and first.first == T0 and sum(first.services.values()) > 0
    assert {next(iter(c.jurisdictions)) for c in summary} == {"NL", "PL"}


def test_empty_graph_and_bad_parameters() -> None:
    empty = Network().graph(simple=True)
    assert detect(empty).count == 0 and summarise(Network(), empty, detect(empty)) == []
    with pytest.raises(Invalid, match="unknown community method"):
        detect(empty, "louvain")
    with pytest.raises(Invalid, match="positive"):
        detect(empty, "cpm", resolution=0)
    for bad in (0, -2):
        with pytest.raises(Invalid, match="iterations"):
            detect(empty, iterations=bad)
    with pytest.raises(Invalid, match="same nodes"):
        compare([0, 1], [0])


def test_isolated_nodes_are_their_own_communities() -> None:
    g = ig.Graph(n=3)
    g.vs["name"] = ["a", "b", "c"]
    assert detect(g).count == 3
