"""Communities of the network with the Leiden algorithm (``leidenalg``), summarised for an analyst.

Two quality functions: ``modularity`` (no parameter to choose; finds the natural scale, but cannot see
communities smaller than about sqrt(2M) edges on a big graph) and ``cpm`` (the Constant Potts Model: a
community must be denser than ``resolution``, so small groups stay apart however big the graph). Both
use the edge weights (summed counts over the edge kinds). The same seed gives the same partition.

Communities are numbered by size, largest first (ties by their smallest node id), so numbers are stable
across runs and do not depend on the order leidenalg happens to return them in. An empty network has no
communities; isolated entities are communities of one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import igraph as ig
import leidenalg

from accord.errors import Invalid
from accord.graph.network import Network

__all__ = ["Community", "Partition", "compare", "detect", "summarise"]

Method = Literal["modularity", "cpm"]


@dataclass(frozen=True, slots=True)
class Partition:
    names: tuple[str, ...]
    membership: tuple[int, ...]
    """Community number of each node of ``names``."""
    quality: float
    method: str
    resolution: float
    seed: int

    @property
    def count(self) -> int:
        return max(self.membership) + 1 if self.membership else 0

    def of(self) -> dict[str, int]:
        return dict(zip(self.names, self.membership, strict=True))


ITERATIONS = 2  # leidenalg's own default; see detect()


def detect(
    graph: ig.Graph,
    method: str = "modularity",
    *,
    resolution: float = 1.0,
    seed: int = 0,
    iterations: int = ITERATIONS,
) -> Partition:
    """Leiden on a weighted simple graph (``Network.graph(simple=True)``), ``iterations`` passes (-1: until
    a pass improves nothing).

    Two passes, not convergence: on the 100,000-report world convergence took 17-28 passes and 10-17x the
    time (CPM 0.05 without resolution: 4.6 s against 48.7 s of CPU) and scored no better against the
    planted networks (ARI 0.258 after two passes, 0.256 at convergence; docs/benchmarks.md)."""
    if method not in ("modularity", "cpm"):
        raise Invalid.at("/method", f"unknown community method {method!r}: use modularity or cpm")
    if iterations == 0 or iterations < -1:
        raise Invalid.at("/iterations", "iterations must be 1 or more, or -1 (until no improvement)")
    if not resolution > 0:
        raise Invalid.at("/resolution", "the resolution must be positive")
    names = tuple(graph.vs["name"]) if graph.vcount() else ()
    if not names:
        return Partition((), (), 0.0, method, resolution, seed)
    weights = graph.es["weight"] if graph.ecount() else None
    if method == "modularity":
        part = leidenalg.find_partition(
            graph, leidenalg.RBConfigurationVertexPartition, weights=weights, resolution_parameter=resolution,
            n_iterations=iterations, seed=seed,
        )  # fmt: skip
    else:
        part = leidenalg.find_partition(
            graph, leidenalg.CPMVertexPartition, weights=weights, resolution_parameter=resolution,
            n_iterations=iterations, seed=seed,
        )  # fmt: skip
    raw = list(part.membership)
    groups: dict[int, list[int]] = {}
    for v, c in enumerate(raw):
        groups.setdefault(c, []).append(v)
    ranked = sorted(groups.values(), key=lambda vs: (-len(vs), names[vs[0]]))
    membership = [0] * len(raw)
    for number, vs in enumerate(ranked):
        for v in vs:
            membership[v] = number
    return Partition(names, tuple(membership), float(part.quality()), method, resolution, seed)


@dataclass(frozen=True, slots=True)
class Community:
    number: int
    size: int
    services: dict[str, int]
    """Platforms of the members' accounts, with how many reports named each."""
    jurisdictions: dict[str, int]
    """Countries of the members' reports and of the organisations that sent them, by count."""
    first: datetime | None
    last: datetime | None
    hubs: tuple[tuple[str, float], ...]
    """The members with the largest weighted degree (strength) inside the community."""
    members: tuple[str, ...]


def summarise(
    network: Network,
    graph: ig.Graph,
    partition: Partition,
    *,
    hubs: int = 5,
    min_size: int = 2,
    org_jurisdiction: dict[str, str] | None = None,
) -> list[Community]:
    """One summary per community of at least ``min_size`` members, largest first."""
    if tuple(graph.vs["name"] if graph.vcount() else ()) != partition.names:
        raise Invalid.at("/partition", "the partition was computed on another graph")
    members: dict[int, list[int]] = {}
    for v, c in enumerate(partition.membership):
        members.setdefault(c, []).append(v)
    weights = graph.es["weight"] if graph.ecount() else []
    out: list[Community] = []
    for number in sorted(members):
        vs = members[number]
        if len(vs) < min_size:
            continue
        inside = set(vs)
        strength: dict[int, float] = dict.fromkeys(vs, 0.0)
        for e in graph.es.select(_within=vs) if graph.ecount() else ():
            a, b = e.tuple
            if a in inside and b in inside:
                strength[a] += weights[e.index]
                strength[b] += weights[e.index]
        services: Counter[str] = Counter()
        places: Counter[str] = Counter()
        firsts, lasts = [], []
        for v in vs:
            ent = network.entities[partition.names[v]]
            services.update(ent.services)
            places.update(ent.countries)
            if org_jurisdiction:
                places.update(org_jurisdiction[o] for o in ent.orgs if o in org_jurisdiction)
            if ent.span:
                firsts.append(ent.span.first)
                lasts.append(ent.span.last)
        top = sorted(vs, key=lambda v: (-strength[v], partition.names[v]))[:hubs]
        out.append(
            Community(
                number, len(vs), dict(services.most_common()), dict(places.most_common()),
                min(firsts) if firsts else None, max(lasts) if lasts else None,
                tuple((partition.names[v], strength[v]) for v in top), tuple(sorted(partition.names[v] for v in vs)),
            )
        )  # fmt: skip
    return out


def compare(found: Sequence[int], planted: Sequence[int]) -> dict[str, float]:
    """Adjusted Rand index and normalised mutual information between two labellings of the same nodes."""
    if len(found) != len(planted):
        raise Invalid.at("/labels", "the two labellings must cover the same nodes")
    if not found:
        return {"ari": 0.0, "nmi": 0.0}
    a, b = list(found), list(planted)
    return {
        "ari": float(ig.compare_communities(a, b, method="adjusted_rand")),
        "nmi": float(ig.compare_communities(a, b, method="nmi")),
    }
