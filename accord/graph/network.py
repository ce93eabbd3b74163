"""The network behind the reports: entities as nodes; interactions, shared media, shared infrastructure,
payments and co-reporting as weighted, time-stamped edges.

Which entity an identifier belongs to is entity resolution's answer (``accord.graph.resolve``): the
network takes it as a mapping from identifier key to entity id, and an identifier the mapping does not
name is its own entity. So the network runs without resolution (each account, e-mail, phone or payment
instrument a node, tied to the others reported in the same subject) and with it, unchanged.

Edge kinds (``KINDS``):

* ``co-report``: two suspects of the same report (the tie the report is about);
* ``same-subject``: identifiers reported together as one subject that resolve to different entities;
* ``shared-media``: entities reported with the same media file (sha256);
* ``shared-infrastructure``: entities seen with the same IP address or device (IPs and devices are
  evidence about entities, never entities themselves);
* ``payment``: a transfer between the entities' instruments (``add_transfers``).

Each edge keeps its first and last time seen and its count (its weight): reports for ``co-report`` and
``same-subject``, shared keys for the ``shared-*`` kinds, transfers for ``payment``.

Why shared keys are kept as key -> entities and turned into edges only on export: a key shared by more
than ``max_sharers`` entities (a carrier-grade NAT address, a widely circulated file) says nothing about a
tie and would add a clique of its square; whether a key crosses the cap depends on all the reports, so
deciding it at the end makes adding reports in batches give exactly the graph built from all of them at
once. Repeated edges are merged into one per pair and kind (their counts add up); an edge from an entity
to itself is dropped and counted (``self_loops``).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import igraph as ig

from accord.graph.money import Transfer
from accord.graph.sightings import Sighting

__all__ = ["INFRASTRUCTURE", "KINDS", "Edge", "Entity", "Network", "Span"]

KINDS = ("co-report", "same-subject", "shared-media", "shared-infrastructure", "payment")
INFRASTRUCTURE = frozenset({"ip", "device"})


@dataclass(slots=True)
class Span:
    first: datetime
    last: datetime
    count: int = 1

    def see(self, at: datetime, count: int = 1) -> None:
        if at < self.first:
            self.first = at
        if at > self.last:
            self.last = at
        self.count += count


@dataclass(slots=True)
class Entity:
    id: str
    span: Span | None = None
    """When it appears in reports (None: known from transfers only)."""
    keys: set[str] = field(default_factory=set)
    services: Counter[str] = field(default_factory=Counter)
    countries: Counter[str] = field(default_factory=Counter)
    orgs: set[str] = field(default_factory=set)

    @property
    def kind(self) -> str:
        """The identifier kind when the entity is one identifier (no resolution), else ``entity``."""
        if len(self.keys) == 1 and self.id in self.keys:
            return self.id.split(":", 1)[0]
        return "entity"


@dataclass(frozen=True, slots=True)
class Edge:
    a: str
    b: str
    kind: str
    first: datetime
    last: datetime
    count: int


class Network:
    def __init__(self, entity_of: Mapping[str, str] | None = None, *, max_sharers: int = 20) -> None:
        self.entity_of: Mapping[str, str] = entity_of or {}
        self.max_sharers = max_sharers
        self.entities: dict[str, Entity] = {}
        self.pairs: dict[tuple[str, str, str], Span] = {}
        self.shared: dict[tuple[str, str], dict[str, Span]] = {}
        self.reports = 0
        self.transfers = 0
        self.self_loops = 0

    def _entity(self, key: str) -> Entity:
        eid = self.entity_of.get(key, key)
        e = self.entities.get(eid)
        if e is None:
            e = self.entities[eid] = Entity(eid)
        e.keys.add(key)
        return e

    def _pair(self, a: str, b: str, kind: str, at: datetime) -> None:
        if a == b:
            self.self_loops += 1
            return
        k = (a, b, kind) if a < b else (b, a, kind)
        span = self.pairs.get(k)
        if span is None:
            self.pairs[k] = Span(at, at)
        else:
            span.see(at)

    def _share(self, kind: str, key: str, eid: str, at: datetime) -> None:
        holders = self.shared.setdefault((kind, key), {})
        span = holders.get(eid)
        if span is None:
            holders[eid] = Span(at, at)
        else:
            span.see(at)

    def add(self, sightings: Iterable[Sighting]) -> None:
        """Add reports; adding them in any number of batches gives the same network."""
        for s in sightings:
            self.reports += 1
            at = s.at
            primaries: list[str] = []
            for subject in s.suspects:
                identity = [k for k in subject if k.split(":", 1)[0] not in INFRASTRUCTURE]
                if not identity:
                    continue
                ents = list(dict.fromkeys(self._entity(k).id for k in identity))
                for k in identity:  # keys mapped to a second entity still belong to it
                    self.entities[self.entity_of.get(k, k)].keys.add(k)
                main = self.entities[ents[0]]
                if main.span is None:
                    main.span = Span(at, at)
                else:
                    main.span.see(at)
                for k in identity:
                    if k.startswith("account:"):
                        main.services[k[8:].split("/", 1)[0]] += 1
                if s.country:
                    main.countries[s.country] += 1
                if s.org:
                    main.orgs.add(s.org)
                for other in ents[1:]:
                    self._pair(main.id, other, "same-subject", at)
                for k in subject:
                    if k.split(":", 1)[0] in INFRASTRUCTURE:
                        self._share("shared-infrastructure", k, main.id, at)
                primaries.append(main.id)
            for a, b in itertools.combinations(primaries, 2):
                self._pair(a, b, "co-report", at)
            for m in s.media:
                for p in dict.fromkeys(primaries):
                    self._share("shared-media", m, p, at)

    def add_transfers(self, transfers: Iterable[Transfer]) -> None:
        """Payment edges between the entities holding the instruments (an instrument no report names
        becomes an entity of its own)."""
        for t in transfers:
            self.transfers += 1
            self._pair(self._entity(t.source).id, self._entity(t.target).id, "payment", t.at)

    def edges(self, kinds: Iterable[str] | None = None) -> list[Edge]:
        """All edges, sorted (pair, kind); ``shared-*`` edges from keys with 2..max_sharers holders."""
        wanted = set(KINDS if kinds is None else kinds)
        merged: dict[tuple[str, str, str], Span] = {k: Span(v.first, v.last, v.count) for k, v in self.pairs.items()}
        if wanted & {"shared-media", "shared-infrastructure"}:
            for (kind, _key), holders in self.shared.items():
                if kind not in wanted or not 2 <= len(holders) <= self.max_sharers:
                    continue
                for (a, sa), (b, sb) in itertools.combinations(sorted(holders.items()), 2):
                    k = (a, b, kind)
                    first, last = max(sa.first, sb.first), max(sa.last, sb.last)
                    span = merged.get(k)
                    if span is None:
                        merged[k] = Span(first, last)
                    else:
                        span.first, span.last = min(span.first, first), max(span.last, last)
                        span.count += 1
        return [
            Edge(a, b, kind, s.first, s.last, s.count) for (a, b, kind), s in sorted(merged.items()) if kind in wanted
        ]

    def graph(self, kinds: Iterable[str] | None = None, *, simple: bool = False) -> ig.Graph:
        """An igraph graph on all entities (sorted by id): one edge per pair and kind, or with ``simple``
        one per pair whose ``weight`` is the sum of the kinds' counts."""
        names = sorted(self.entities)
        index = {n: i for i, n in enumerate(names)}
        edges = self.edges(kinds)
        g = ig.Graph(n=len(names))
        g.vs["name"] = names
        if simple:
            weights: dict[tuple[int, int], int] = {}
            for e in edges:
                k = (index[e.a], index[e.b])
                weights[k] = weights.get(k, 0) + e.count
            g.add_edges(list(weights))
            g.es["weight"] = list(weights.values())
            return g
        g.add_edges([(index[e.a], index[e.b]) for e in edges])
        g.es["kind"] = [e.kind for e in edges]
        g.es["weight"] = [e.count for e in edges]
        g.es["first"] = [e.first.isoformat() for e in edges]
        g.es["last"] = [e.last.isoformat() for e in edges]
        ents = [self.entities[n] for n in names]
        g.vs["kind"] = [e.kind for e in ents]
        g.vs["reports"] = [e.span.count if e.span else 0 for e in ents]
        g.vs["first"] = [e.span.first.isoformat() if e.span else "" for e in ents]
        g.vs["last"] = [e.span.last.isoformat() if e.span else "" for e in ents]
        g.vs["services"] = [";".join(sorted(e.services)) for e in ents]
        g.vs["countries"] = [";".join(sorted(e.countries)) for e in ents]
        return g

    def write_graphml(self, path: Path, kinds: Iterable[str] | None = None) -> None:
        self.graph(kinds).write_graphml(str(path))

    def cytoscape(self, kinds: Iterable[str] | None = None) -> dict[str, list[dict[str, Any]]]:
        """Cytoscape.js elements: ``{"nodes": [{"data": {...}}], "edges": [{"data": {...}}]}``."""
        nodes = []
        for eid in sorted(self.entities):
            e = self.entities[eid]
            nodes.append(
                {
                    "data": {
                        "id": eid,
                        "kind": e.kind,
                        "reports": e.span.count if e.span else 0,
                        "first": e.span.first.isoformat() if e.span else None,
                        "last": e.span.last.isoformat() if e.span else None,
                        "services": sorted(e.services),
                        "countries": sorted(e.countries),
                    }
                }
            )
        edges = [
            {
                "data": {
                    "id": f"e{i}",
                    "source": e.a,
                    "target": e.b,
                    "kind": e.kind,
                    "weight": e.count,
                    "first": e.first.isoformat(),
                    "last": e.last.isoformat(),
                }
            }
            for i, e in enumerate(self.edges(kinds))
        ]
        return {"nodes": nodes, "edges": edges}
