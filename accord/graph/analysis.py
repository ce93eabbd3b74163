"""The analyses a node runs on an organisation's reports, each turning a network (or events) and checked
parameters into one JSON-ready result document: what ``accord.services.analytics`` stores and the API,
the CLI and the graph view read back.

Why documents of plain JSON rather than the objects: a stored result must read the same after an upgrade
changes the classes, and the web view, GraphML export and a partner's tools read JSON, not Python.

The constrained key-player choice works on a candidate pool: the actionable entities in the order the
dismantling ranked them, the first ``max(CANDIDATES, 5 k)``. ``keyplayers.choose`` is exact up to 20,000
subsets and quadratic in its pool above, so the pool keeps a large network's choice to seconds; the
entities the ranking puts last are the least likely to belong to the best k.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape

from accord.graph.communities import detect, summarise
from accord.graph.edgelist import EdgeList
from accord.graph.keyplayers import choose, component_sizes, dismantle
from accord.graph.money import Ledger, aggregate, patterns, trace_backward, trace_forward
from accord.graph.network import INFRASTRUCTURE, Network
from accord.graph.records import RecordSet
from accord.graph.resolve import Resolution
from accord.graph.timeline import Event, build_timeline
from accord.model.analytics import (
    CommunitiesParams,
    KeyPlayersParams,
    MoneyParams,
    NetworkParams,
    TimelineParams,
)

__all__ = [
    "CANDIDATES",
    "communities_result",
    "entity_graph",
    "entity_mapping",
    "keyplayers_result",
    "money_result",
    "network_graphml",
    "network_result",
    "resolve_result",
    "timeline_result",
]

CANDIDATES = 40
Note = Callable[[str], None]


def _kinds(params: NetworkParams | CommunitiesParams | KeyPlayersParams) -> list[str] | None:
    return list(params.edge_kinds) if params.edge_kinds else None


def _counts(net: Network, edges: int) -> dict[str, int]:
    return {
        "entities": len(net.entities),
        "edges": edges,
        "reports": net.reports,
        "transfers": net.transfers,
        "self_loops": net.self_loops,
    }


def network_result(net: Network, params: NetworkParams) -> dict[str, Any]:
    """The network as Cytoscape.js elements (which GraphML is written from), with its counts."""
    elements = net.cytoscape(_kinds(params))
    return {**_counts(net, len(elements["edges"])), "elements": elements}


def communities_result(
    net: Network, params: CommunitiesParams, org_jurisdiction: dict[str, str] | None = None
) -> dict[str, Any]:
    """Leiden communities, each summarised; ``membership`` gives the community of every member of one
    that is kept (at least ``min_size`` members)."""
    g = net.graph(_kinds(params), simple=True)
    part = detect(g, params.method, resolution=params.resolution, seed=params.seed, iterations=params.iterations)
    found = summarise(net, g, part, min_size=params.min_size, org_jurisdiction=org_jurisdiction)
    return {
        **_counts(net, g.ecount()),
        "quality": part.quality,
        "communities_total": part.count,
        "communities": [
            {
                "number": c.number,
                "size": c.size,
                "services": c.services,
                "jurisdictions": c.jurisdictions,
                "first": c.first.isoformat() if c.first else None,
                "last": c.last.isoformat() if c.last else None,
                "hubs": [{"id": h, "strength": s} for h, s in c.hubs],
                "members": list(c.members),
            }
            for c in found
        ],
        "membership": {m: c.number for c in found for m in c.members},
    }


def entity_graph(net: Network, kinds: Sequence[str] | None = None) -> EdgeList:
    """The entity network as the simple graph dismantling works on (node ``i`` is entity ``ids[i]``)."""
    g = net.graph(kinds, simple=True)
    names = list(g.vs["name"]) if g.vcount() else []
    return EdgeList.from_pairs(len(names), g.get_edgelist(), names)


def keyplayers_result(net: Network, params: KeyPlayersParams, note: Note | None = None) -> dict[str, Any]:
    """The dismantling ranking of the entities (the first ``top``), its R and AUC10, and with ``k`` the best
    k to act on among those placed in ``jurisdictions`` (all entities when none are given)."""
    graph = entity_graph(net, _kinds(params))
    done = dismantle(graph, params.method, seed=params.seed, objective=params.objective, progress=note)
    degrees = graph.degrees.tolist()

    def entity(v: int) -> dict[str, Any]:
        ent = net.entities[graph.ids[v]]
        return {
            "id": graph.ids[v],
            "degree": int(degrees[v]),
            "reports": ent.span.count if ent.span else 0,
            "countries": sorted(ent.countries),
        }

    sizes = component_sizes(graph, ())
    doc: dict[str, Any] = {
        **_counts(net, graph.m),
        "method": done.method,
        "objective": params.objective,
        "r": done.r,
        "auc10": done.auc10,
        "seconds": round(done.seconds, 3),
        "largest_component": sizes[0] if sizes else 0,
        "ranking": [{"rank": i + 1, **entity(v)} for i, v in enumerate(done.order[: params.top])],
        "choice": None,
    }
    if params.k is not None:
        if note:
            note("choosing")
        wanted = set(params.jurisdictions or ())
        actionable = [v for v in done.order if not wanted or wanted.intersection(net.entities[graph.ids[v]].countries)]
        pool = actionable[: max(CANDIDATES, 5 * params.k)]
        picked = choose(graph, params.k, pool, order=done.order)
        doc["choice"] = {
            "k": params.k,
            "jurisdictions": params.jurisdictions,
            "actionable": len(actionable),
            "candidates": len(pool),
            "exact": picked.exact,
            "largest_component_left": picked.lcc,
            "entities": [entity(v) for v in picked.nodes],
        }
    return doc


def timeline_result(events: list[Event], params: TimelineParams) -> dict[str, Any]:
    """The events about ``keys`` (or all), in UTC order, the first ``limit`` of them, with every clock
    disagreement found among all of them."""
    tl = build_timeline(events, keys=params.keys, tolerance=timedelta(seconds=params.tolerance_seconds))
    kept = tl.events[: params.limit]
    return {
        "events_total": len(tl.events),
        "truncated": len(tl.events) > len(kept),
        "events": [
            {
                "at": e.at.isoformat(),
                "offset": e.offset,
                "kind": e.kind,
                "source": e.source,
                "keys": list(e.keys),
                "ref": e.ref,
                "detail": e.detail,
            }
            for e in kept
        ],
        "disagreements": [
            {
                "kind": d.kind,
                "ref": d.ref,
                "keys": list(d.keys),
                "times": [{"source": s, "at": t.isoformat()} for s, t in d.times],
                "spread_seconds": d.spread.total_seconds(),
            }
            for d in tl.disagreements
        ],
    }


def _weight(w: float) -> float | None:
    return None if w == float("inf") else round(w, 3)


def resolve_result(
    found: Resolution, recordset: RecordSet, decisions_used: int, decisions_ignored: int
) -> dict[str, Any]:
    """Entities with their records, identifier keys and the links (match weight and evidence) that joined
    them, the links refused by a split and the merges a split overruled, and ``entity_of``: identifier key
    to entity, what a network run takes to make entities its nodes (``entity_mapping``)."""
    keys_of = {r.record_id: r.keys for r in recordset.records}
    entities = []
    for e in found.entities:
        keys = sorted({k for rid in e.records for k in keys_of.get(rid, ())})
        links = [{"a": x.a, "b": x.b, "weight": _weight(x.weight), "evidence": x.evidence} for x in e.links]
        entities.append({"id": e.id, "records": e.records, "keys": keys, "links": links})
    entity_of, shared = entity_mapping(found, keys_of)
    return {
        "records": len(recordset.records),
        "unparsed_identifiers": recordset.unparsed,
        "empty_subjects": recordset.empty,
        "decisions_used": decisions_used,
        "decisions_ignored": decisions_ignored,
        "pairs_scored": found.pairs_scored,
        "seconds": {k: round(v, 3) for k, v in found.seconds.items()},
        "entities_total": len(found.entities),
        "multi_record_entities": sum(1 for e in found.entities if len(e.records) > 1),
        "entities": entities,
        "refused": [{"a": x.a, "b": x.b, "weight": _weight(x.weight), "evidence": x.evidence} for x in found.refused],
        "conflicts": [{"kind": c.kind, "a": c.a, "b": c.b} for c in found.conflicts],
        "entity_of": entity_of,
        "keys_in_several_entities": shared,
        "model": found.parameters,
    }


def entity_mapping(found: Resolution, keys_of: dict[str, tuple[str, ...]]) -> tuple[dict[str, str], int]:
    """Identifier key to entity for the network, and how many keys were in records of several entities.

    IP addresses and devices are left out: the network never makes them nodes (they tie the entities seen
    with them). A key in records of several entities (a shared phone the resolver did not trust enough to
    merge on) goes to the largest of them, the first in ``found.entities``, so the answer is stable."""
    out: dict[str, str] = {}
    shared: set[str] = set()
    for e in found.entities:
        for rid in e.records:
            for k in keys_of.get(rid, ()):
                if k.split(":", 1)[0] in INFRASTRUCTURE:
                    continue
                had = out.setdefault(k, e.id)
                if had != e.id:
                    shared.add(k)
    return out, len(shared)


def money_result(ledger: Ledger, params: MoneyParams, stored: int) -> dict[str, Any]:
    """Traces from the instruments asked for (forwards and back), flows between jurisdictions, and fan-in,
    fan-out and pass-through patterns, each list cut at ``limit`` (the totals say how many there were)."""
    traces = []
    for key in params.trace or ():
        for t in (
            trace_forward(ledger, key, tolerance=params.tolerance),
            trace_backward(ledger, key, tolerance=params.tolerance),
        ):
            traces.append(
                {
                    "origin": t.origin,
                    "direction": t.direction,
                    "reached_eur": {k: round(v, 2) for k, v in sorted(t.reached.items(), key=lambda kv: -kv[1])},
                    "hops": t.hops,
                    "transfers": len(t.carried),
                }
            )
    flows = aggregate(ledger, lambda t, src: t.source_country if src else t.target_country)
    found = patterns(
        ledger,
        fan=params.fan,
        window=timedelta(days=params.window_days),
        pass_window=timedelta(hours=params.pass_hours),
    )
    kinds: dict[str, int] = {}
    for p in found:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    return {
        "transfers_stored": stored,
        "transfers": len(ledger.transfers),
        "skipped_unpriced": ledger.skipped,
        "reordered": ledger.reordered,
        "self_transfers": ledger.self_transfers,
        "instruments": len(ledger.instruments),
        "eur_total": round(sum(t.eur for t in ledger.transfers), 2),
        "traces": traces,
        "flows_total": len(flows),
        "flows_between_jurisdictions": [
            {"source": f.source, "target": f.target, "transfers": f.transfers, "eur": f.eur}
            for f in flows[: params.limit]
        ],
        "patterns_total": len(found),
        "pattern_counts": kinds,
        "patterns": [
            {
                "kind": p.kind,
                "instrument": p.instrument,
                "at": p.at.isoformat(),
                "counterparts": p.counterparts,
                "eur_in": p.eur_in,
                "eur_out": p.eur_out,
                "transfers": list(p.transfers),
            }
            for p in found[: params.limit]
        ],
    }


def _attr(value: Any) -> str:
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    return escape("" if value is None else str(value), {'"': "&quot;"})


_NODE_KEYS = (("kind", "string"), ("reports", "int"), ("first", "string"), ("last", "string"),
              ("services", "string"), ("countries", "string"))  # fmt: skip
_EDGE_KEYS = (("kind", "string"), ("weight", "int"), ("first", "string"), ("last", "string"))


def network_graphml(doc: dict[str, Any]) -> bytes:
    """GraphML of a stored network result (the attributes ``Network.graph`` gives, lists joined by ``;``),
    written from the stored elements so a result exports the same however long ago it was computed."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
    ]
    for scope, keys in (("node", _NODE_KEYS), ("edge", _EDGE_KEYS)):
        for name, kind in keys:
            lines.append(f'<key id="{scope[0]}_{name}" for="{scope}" attr.name="{name}" attr.type="{kind}"/>')
    lines.append('<graph id="G" edgedefault="undirected">')
    elements = doc["elements"]
    for node in elements["nodes"]:
        d = node["data"]
        data = "".join(f'<data key="n_{k}">{_attr(d.get(k))}</data>' for k, _ in _NODE_KEYS)
        lines.append(f'<node id="{_attr(d["id"])}">{data}</node>')
    for edge in elements["edges"]:
        d = edge["data"]
        data = "".join(f'<data key="e_{k}">{_attr(d.get(k))}</data>' for k, _ in _EDGE_KEYS)
        lines.append(f'<edge source="{_attr(d["source"])}" target="{_attr(d["target"])}">{data}</edge>')
    lines.append("</graph>\n</graphml>\n")
    return "\n".join(lines).encode()
