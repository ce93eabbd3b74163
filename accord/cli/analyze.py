"""``accord analyze``: network analytics. On files, no node needed: key players on an edge list; the network,
its communities, money flows and timelines of a simulated world's output directory; entity resolution of a
world. With ``--org`` the network, communities, key players and timeline run on the node instead (``accord
--data-dir DIR``), as an analytics run of that organisation's reports, stored like one queued through the API;
``resolve`` and ``decide`` work on the node's reports with an API key."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from accord.cli.context import command_node
from accord.cli.exit import fail, reporting
from accord.cli.files import replacing
from accord.errors import Invalid

__all__ = ["analyze_app"]

analyze_app = typer.Typer(
    no_args_is_help=True,
    help="Network analytics: network, communities, key players, money flows, timelines, entity resolution.",
)

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)


def _read_ids(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise Invalid.at("", f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise Invalid.at("", f"{path}: not UTF-8 text") from None
    return [t for t in (line.split("#", 1)[0].strip() for line in lines) if t]


OrgOpt = Annotated[
    str | None, typer.Option("--org", help="run on the node (accord --data-dir DIR) for this organisation's reports")
]


ResolveRunOpt = Annotated[
    str | None,
    typer.Option("--resolve-run", help="--org: nodes are the entities of this resolve run (an id, or latest)"),
]


def _graph_params(resolve_run: str | None, **params: Any) -> dict[str, Any]:
    return {**params, **({"resolve_run": resolve_run} if resolve_run else {})}


def _on_node(ctx: typer.Context, org: str, kind: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Run one analysis on the node with a progress bar; the run and its result are stored."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from accord.model.analytics import RunIn
    from accord.services import analytics

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with command_node(ctx) as node, Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("queued", total=None)

        def show(p: Any) -> None:
            bar.update(task, description=p.stage, completed=p.done, total=p.total or None)

        with reporting():
            outcome = analytics.run_local(node, org, RunIn(kind=kind, parameters=parameters), show)
    if outcome.doc is None:
        raise fail(f"run {outcome.run.id} failed: {outcome.run.error}")
    version = outcome.run.data_version
    err.print(f"run {outcome.run.id}: {version.reports if version else 0} reports of {org}", markup=False)
    return outcome.doc


def _only_one(world: Path | None, org: str | None, what: str = "--world") -> None:
    if (world is None) == (org is None):
        raise fail(f"give either {what} (files) or --org (this node's reports)")


@analyze_app.command("keyplayers")
def keyplayers(
    ctx: typer.Context,
    edgelist: Annotated[
        Path | None, typer.Option(help="edge list: 'u v' a line, '#' comments, optional '# nodes=N'")
    ] = None,
    order_out: Annotated[
        Path | None,
        typer.Option(help="file to write the removal order to, one node id a line (--org: the first --top)"),
    ] = None,
    method: Annotated[str, typer.Option(help="accord, hda, hba, corehd or ci")] = "accord",
    reinsertion: Annotated[bool, typer.Option(help="greedy reinsertion after a baseline")] = True,
    seed: Annotated[int, typer.Option(help="seed for tie-breaking and sampling: same seed, same order")] = 0,
    objective: Annotated[str, typer.Option(help="what accord minimises: auc10 or r")] = "auc10",
    k: Annotated[int | None, typer.Option("--k", min=0, help="also choose the best k nodes to act on")] = None,
    actionable: Annotated[
        Path | None, typer.Option(help="node ids that can be acted on, one a line (with --k; default: all)")
    ] = None,
    org: OrgOpt = None,
    top: Annotated[int, typer.Option(min=1, max=1000, help="--org: how many of the ranking to keep")] = 25,
    jurisdiction: Annotated[
        list[str] | None, typer.Option("--jurisdiction", help="--org with --k: only entities placed here act")
    ] = None,
    resolve_run: ResolveRunOpt = None,
) -> None:
    """Rank the nodes whose removal breaks the network fastest; print R and AUC10 of the order."""
    from accord.graph.dismantling import auc10, lcc_curve, robustness
    from accord.graph.edgelist import read_edgelist
    from accord.graph.keyplayers import choose, dismantle

    _only_one(edgelist, org, "--edgelist")
    if org is not None:
        params = _graph_params(resolve_run, method=method, objective=objective, seed=seed, top=top, k=k)
        if jurisdiction:
            params["jurisdictions"] = jurisdiction
        doc = _on_node(ctx, org, "keyplayers", params)
        if order_out is not None:
            _write(order_out, "".join(f"{p['id']}\n" for p in doc["ranking"]).encode())
        out.print(
            f"{doc['method']}: {doc['entities']} entities, {doc['edges']} edges; R = {doc['r']:.6f}, "
            f"AUC10 = {doc['auc10']:.4f}",
            markup=False,
        )
        for p in doc["ranking"]:
            out.print(f"{p['rank']:>4} {p['id']} (degree {p['degree']}, {p['reports']} reports)", markup=False)
        if doc["choice"] is not None:
            c = doc["choice"]
            out.print(f"best {len(c['entities'])} to act on: largest component left {c['largest_component_left']}")
            for e in c["entities"]:
                out.print(e["id"], markup=False)
        return
    assert edgelist is not None
    if order_out is None:
        raise fail("--order-out is needed with --edgelist")
    if actionable is not None and k is None:
        raise fail("--actionable needs --k (how many nodes to choose)")
    with reporting():
        graph = read_edgelist(edgelist)
        index = {name: i for i, name in enumerate(graph.ids)}
        allowed: list[int] | None = None
        if actionable is not None:
            names = _read_ids(actionable)
            unknown = [n for n in names if n not in index]
            if unknown:
                raise Invalid.at("", f"{actionable}: node {unknown[0]!r} is not in {edgelist}")
            allowed = [index[n] for n in names]
    if graph.self_loops or graph.duplicates:
        err.print(f"{edgelist}: dropped {graph.self_loops} self-loop(s) and {graph.duplicates} duplicate edge(s)")
    with reporting(), err.status(f"{method} on {graph.n} nodes, {graph.m} edges") as status:
        result = dismantle(
            graph,
            method,
            reinsertion=reinsertion,
            seed=seed,
            objective=objective,  # type: ignore[arg-type]  # checked inside: an unknown one is Invalid
            progress=lambda stage: status.update(f"{method} on {graph.n} nodes: {stage}"),
        )
    _write(order_out, "".join(f"{graph.ids[v]}\n" for v in result.order).encode("utf-8"))
    curve = lcc_curve(graph, result.order)
    out.print(
        f"{result.method}: {graph.n} nodes, {graph.m} edges; R = {robustness(curve):.6f}, "
        f"AUC10 = {auc10(curve):.4f} ({result.seconds:.1f} s); order written to {order_out}",
        markup=False,
    )
    if k is not None:
        with reporting(), err.status(f"choosing {k} nodes"):
            picked = choose(graph, k, allowed if allowed is not None else range(graph.n))
        how = "exact" if picked.exact else "greedy with swaps"
        out.print(f"best {len(picked.nodes)} to act on ({how}): largest component left {picked.lcc}", markup=False)
        for v in picked.nodes:
            out.print(graph.ids[v], markup=False)


# --- network, communities, money, timeline over a simulated world's output directory -------------------


def _world_files(world: Path) -> tuple[Path, Path, Path]:
    reports, truth, transfers = world / "reports.ndjson", world / "truth.json", world / "transfers.ndjson"
    if not reports.is_file():
        raise Invalid.at("", f"{world}: no reports.ndjson here (write one with 'accord simulate --out {world}')")
    return reports, truth, transfers


def _mapping(path: Path | None) -> dict[str, str] | None:
    """An entity resolution's answer: a JSON object from identifier key to entity id."""
    if path is None:
        return None
    import orjson

    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise Invalid.at("", f"{path}: no such file") from None
    except orjson.JSONDecodeError:
        raise Invalid.at("", f"{path}: not JSON") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise Invalid.at("", f"{path}: expected a JSON object from identifier key to entity id")
    return data


def _sightings(world: Path) -> list[Any]:
    import orjson
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from accord.graph.sightings import read_ndjson

    reports, truth, _ = _world_files(world)
    senders = orjson.loads(truth.read_bytes()).get("submitted_by") if truth.is_file() else None
    with reports.open("rb") as fh:
        total = sum(1 for _ in fh)
    out = []
    columns = (TextColumn("reading reports"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("read", total=total)
        for i, s in enumerate(read_ndjson(reports, senders), 1):
            out.append(s)
            if i % 5000 == 0:
                bar.update(task, completed=i)
    return out


def _ledger(world: Path, rates: Path | None, skip_unpriced: bool) -> Any:
    from accord.graph.money import build_ledger
    from accord.graph.ndjson import objects
    from accord.graph.rates import read_rates, shipped

    _, _, transfers = _world_files(world)
    rows = [row for _, row in objects(transfers, "simulate the world again to get its transfers")]
    return build_ledger(rows, read_rates(rates) if rates else shipped(), skip_unpriced=skip_unpriced)


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename it: a failed run leaves no half-written output."""
    with reporting(str(path)), replacing(path) as partial:
        partial.write_bytes(data)


def _json(value: Any) -> bytes:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


WorldOpt = Annotated[Path | None, typer.Option(help="a simulated world's directory (reports.ndjson, truth.json, ...)")]
MappingOpt = Annotated[
    Path | None, typer.Option(help="entity resolution: JSON object identifier key -> entity id (default: none)")
]


def _network(world: Path, mapping: Path | None, with_payments: bool) -> Any:
    from accord.graph.network import Network

    with reporting():
        entity_of = _mapping(mapping)
        sightings = _sightings(world)
        net = Network(entity_of)
        with err.status(f"building the network of {len(sightings)} reports"):
            net.add(sightings)
            if with_payments and (world / "transfers.ndjson").is_file():
                net.add_transfers(_ledger(world, None, True).transfers)
    return net


@analyze_app.command("network")
def network(
    ctx: typer.Context,
    world: WorldOpt = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write Cytoscape.js elements here")] = None,
    graphml: Annotated[Path | None, typer.Option(help="write GraphML here")] = None,
    mapping: MappingOpt = None,
    payments: Annotated[bool, typer.Option(help="add payment edges from transfers.ndjson")] = True,
    org: OrgOpt = None,
    resolve_run: ResolveRunOpt = None,
) -> None:
    """Build the network of a world's reports (and payments); write it as Cytoscape.js JSON and/or GraphML."""
    _only_one(world, org)
    if org is not None:
        from accord.graph.analysis import network_graphml

        doc = _on_node(ctx, org, "network", _graph_params(resolve_run))
        if json_out:
            _write(json_out, _json(doc["elements"]))
        if graphml:
            _write(graphml, network_graphml(doc))
        out.print(f"{doc['entities']} entities, {doc['edges']} edges from {doc['reports']} reports", markup=False)
        return
    assert world is not None
    net = _network(world, mapping, payments)
    if json_out:
        _write(json_out, _json(net.cytoscape()))
    if graphml:
        with reporting(str(graphml)), replacing(graphml) as partial:
            net.write_graphml(partial)
    edges = net.edges()
    out.print(
        f"{len(net.entities)} entities, {len(edges)} edges from {net.reports} reports and {net.transfers} transfers "
        f"({net.self_loops} self-loops dropped)",
        markup=False,
    )


@analyze_app.command("communities")
def communities(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="write the communities (JSON) here")],
    world: WorldOpt = None,
    method: Annotated[str, typer.Option(help="modularity or cpm")] = "modularity",
    resolution: Annotated[float, typer.Option(help="resolution parameter (CPM: minimum density)")] = 1.0,
    seed: Annotated[int, typer.Option(help="same seed, same communities")] = 0,
    min_size: Annotated[int, typer.Option(min=1, help="leave out smaller communities")] = 3,
    iterations: Annotated[
        int, typer.Option(min=1, max=1000, help="Leiden passes (more: closer to convergence, slower)")
    ] = 2,
    mapping: MappingOpt = None,
    org: OrgOpt = None,
    resolve_run: ResolveRunOpt = None,
) -> None:
    """Find communities with Leiden and summarise each (size, platforms, jurisdictions, time span, hubs)."""
    from accord.graph.communities import detect, summarise

    _only_one(world, org)
    if org is not None:
        params = _graph_params(
            resolve_run, method=method, resolution=resolution, seed=seed, min_size=min_size, iterations=iterations
        )
        found_doc = _on_node(ctx, org, "communities", params)
        _write(out_file, _json(found_doc))
        kept = len(found_doc["communities"])
        out.print(f"{found_doc['communities_total']} communities ({kept} of {min_size}+ members) written to {out_file}")
        return
    assert world is not None

    net = _network(world, mapping, True)
    with reporting(), err.status("finding communities"):
        g = net.graph(simple=True)
        part = detect(g, method, resolution=resolution, seed=seed, iterations=iterations)
        found = summarise(net, g, part, min_size=min_size)
    doc = {
        "method": method, "resolution": resolution, "seed": seed, "iterations": iterations, "quality": part.quality,
        "entities": len(part.names), "communities_total": part.count,
        "communities": [
            {"number": c.number, "size": c.size, "services": c.services, "jurisdictions": c.jurisdictions,
             "first": c.first, "last": c.last, "hubs": [{"id": h, "strength": s} for h, s in c.hubs],
             "members": list(c.members)}
            for c in found
        ],
    }  # fmt: skip
    _write(out_file, _json(doc))
    out.print(f"{part.count} communities ({len(found)} of {min_size}+ members) written to {out_file}", markup=False)


@analyze_app.command("money")
def money(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="write traces, flows and patterns (JSON) here")],
    world: Annotated[Path | None, typer.Option(help="a simulated world's directory (transfers.ndjson, ...)")] = None,
    trace: Annotated[list[str] | None, typer.Option("--trace", help="instrument key to trace both ways")] = None,
    rates: Annotated[Path | None, typer.Option(help="rates CSV (date,currency,eur); default: shipped table")] = None,
    skip_unpriced: Annotated[
        bool | None,
        typer.Option(help="skip transfers the rates cannot price, counted (default: --world no, --org yes)"),
    ] = None,
    tolerance: Annotated[float, typer.Option(min=0.0, help="amount conservation slack")] = 0.02,
    org: OrgOpt = None,
) -> None:
    """Follow funds through a world's transfers; flows between jurisdictions; fan-in, fan-out, pass-through.
    With --org, through the transfers the organisation's stored reports carry (the shipped rates table)."""
    from accord.graph.money import aggregate, patterns, trace_backward, trace_forward

    _only_one(world, org)
    if org is not None:
        if rates is not None:
            raise fail("--rates is for --world; a node prices with the shipped rates table")
        params: dict[str, Any] = {"tolerance": tolerance, "trace": trace}
        if skip_unpriced is not None:
            params["skip_unpriced"] = skip_unpriced
        doc = _on_node(ctx, org, "money", params)
        _write(out_file, _json(doc))
        out.print(f"{doc['transfers']} transfers; {len(doc['patterns'])} patterns; written to {out_file}", markup=False)
        return
    assert world is not None
    with reporting():
        ledger = _ledger(world, rates, bool(skip_unpriced))
        known = ledger.instruments
        for key in trace or []:
            if key not in known:
                raise Invalid.at("/trace", f"instrument {key!r} takes part in no transfer")
    with err.status(f"tracing {len(ledger.transfers)} transfers"):
        traces = []
        for key in trace or []:
            for t in (
                trace_forward(ledger, key, tolerance=tolerance),
                trace_backward(ledger, key, tolerance=tolerance),
            ):
                traces.append({"origin": t.origin, "direction": t.direction, "reached_eur": t.reached, "hops": t.hops})
        flows = aggregate(ledger, lambda t, src: t.source_country if src else t.target_country)
        found = patterns(ledger)
    doc = {
        "transfers": len(ledger.transfers), "skipped": ledger.skipped, "reordered": ledger.reordered,
        "self_transfers": ledger.self_transfers, "traces": traces,
        "flows_between_jurisdictions": [vars_(f) for f in flows],
        "patterns": [vars_(p) for p in found],
    }  # fmt: skip
    _write(out_file, _json(doc))
    kinds = Counter(p.kind for p in found)
    out.print(f"{len(ledger.transfers)} transfers; patterns {dict(kinds)}; written to {out_file}", markup=False)


def vars_(obj: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(obj)


@analyze_app.command("timeline")
def timeline(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="write the timeline (JSON) here")],
    world: WorldOpt = None,
    key: Annotated[list[str] | None, typer.Option("--key", help="identifier key the timeline is about")] = None,
    events: Annotated[Path | None, typer.Option(help="more events, NDJSON: at, kind, source, keys, ref")] = None,
    tolerance: Annotated[int, typer.Option(min=0, help="seconds two sources may disagree on one event")] = 300,
    org: OrgOpt = None,
) -> None:
    """One timeline (UTC, original offsets kept) from reports, payments and other events; clock disagreements."""
    from datetime import timedelta

    import orjson

    from accord.graph.timeline import build_timeline, event_from, from_sightings, from_transfers

    _only_one(world, org)
    if org is not None:
        if events is not None:
            raise fail("--events is for --world; on a node the timeline is of the stored reports")
        params: dict[str, Any] = {"tolerance_seconds": tolerance, **({"keys": key} if key else {})}
        doc = _on_node(ctx, org, "timeline", params)
        _write(out_file, _json(doc))
        n, d = doc["events_total"], len(doc["disagreements"])
        out.print(f"{n} events, {d} clock disagreement(s); written to {out_file}")
        return
    assert world is not None

    with reporting():
        merged = from_sightings(_sightings(world))
        if (world / "transfers.ndjson").is_file():
            merged += from_transfers(_ledger(world, None, True).transfers)
        if events is not None:
            if not events.is_file():
                raise Invalid.at("", f"{events}: no such file")
            for lineno, line in enumerate(events.read_bytes().splitlines(), 1):
                if line.strip():
                    merged.append(event_from(orjson.loads(line), f"{events.name}:{lineno}"))
        tl = build_timeline(merged, keys=key, tolerance=timedelta(seconds=tolerance))
    doc = {
        "events": [vars_(e) for e in tl.events],
        "disagreements": [{**vars_(d), "spread_seconds": d.spread.total_seconds()} for d in tl.disagreements],
    }
    _write(out_file, _json(doc))
    out.print(f"{len(tl.events)} events, {len(tl.disagreements)} clock disagreement(s); written to {out_file}")


@analyze_app.command("resolve")
def resolve_command(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="JSON file for the entities (records, links, evidence)")],
    world: Annotated[
        Path | None, typer.Option(help="a simulator output directory instead of the node's reports")
    ] = None,
    key: Annotated[str | None, typer.Option(envvar="ACCORD_KEY", help="API key (node mode)")] = None,
    decisions: Annotated[
        Path | None, typer.Option(help="with --world: JSON lines {kind: merge|split, a, b} to respect")
    ] = None,
    threshold: Annotated[
        float, typer.Option(help="Splink match weight (prior included) at or above which records join")
    ] = -5.0,
    org: Annotated[
        str | None,
        typer.Option(
            "--org", help="run on the node as a stored run (network, communities, keyplayers take --resolve-run)"
        ),
    ] = None,
) -> None:
    """Resolve identifier records into entities (Splink on DuckDB) and write them as JSON."""
    import orjson

    from accord.graph.records import read_world
    from accord.graph.resolve import STAGES, ResolveConfig, resolve
    from accord.graph.resolve_eval import score

    if org is not None:
        if world is not None or decisions is not None or key is not None:
            raise fail("--org runs on the node's stored reports and decisions: leave out --world, --decisions, --key")
        doc = _on_node(ctx, org, "resolve", {"threshold": threshold})
        _write(out_file, _json(doc))
        out.print(f"{doc['records']} records -> {doc['entities_total']} entities; written to {out_file}", markup=False)
        return
    with reporting():
        if world is not None:
            recordset = read_world(world)
            decided = _read_decisions(decisions) if decisions is not None else []
        else:
            if decisions is not None:
                raise Invalid.at("", "--decisions is for --world; a node keeps its decisions (accord analyze decide)")
            if key is None:
                raise Invalid.at("", "--key (or ACCORD_KEY) is needed to read the node's reports")
            from accord.cli.context import command_node
            from accord.services import admin
            from accord.services import resolution as service

            with command_node(ctx) as node:
                actor = admin.authenticate(node, key)
                recordset = service.identity_records(node, actor)
                decided = service.decisions(node, actor)
        known = {r.record_id for r in recordset.records}
        kept = [d for d in decided if d.a in known and d.b in known]
    with _stage_bar(len(STAGES)) as advance, reporting():
        result = resolve(recordset.records, kept, ResolveConfig(threshold=threshold), progress=advance)
    doc = {
        "records": len(recordset.records),
        "unparsed_identifiers": recordset.unparsed,
        "threshold": threshold,
        "pairs_scored": result.pairs_scored,
        "entities": [
            {
                "id": e.id,
                "records": e.records,
                "links": [
                    {
                        "a": link.a,
                        "b": link.b,
                        "weight": None if link.weight == float("inf") else round(link.weight, 3),
                        "evidence": link.evidence,
                    }
                    for link in e.links
                ],
            }
            for e in result.entities
        ],
        "refused": [{"a": r.a, "b": r.b, "weight": round(r.weight, 3)} for r in result.refused],
        "conflicts": [{"kind": c.kind, "a": c.a, "b": c.b} for c in result.conflicts],
    }
    _write(out_file, orjson.dumps(doc))
    line = f"{len(recordset.records)} records -> {len(result.entities)} entities ({result.pairs_scored} pairs scored)"
    if recordset.truth:
        s = score(result.labels, recordset.truth)
        line += f"; against the truth: P {s.precision:.4f} R {s.recall:.4f} F1 {s.f1:.4f}"
    out.print(f"{line}; written to {out_file}", markup=False)


@analyze_app.command("decide")
def decide_command(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="merge (same person) or split (not the same)")],
    a: Annotated[str, typer.Argument(help="a record id, <report id>/<subject index>")],
    b: Annotated[str, typer.Argument(help="the other record id")],
    key: Annotated[str, typer.Option(envvar="ACCORD_KEY", help="API key of the deciding analyst")],
    note: Annotated[str | None, typer.Option(help="why")] = None,
) -> None:
    """Record an analyst's verdict on two records; later resolve runs respect it."""
    from accord.cli.context import command_node
    from accord.services import admin
    from accord.services import resolution as service

    with command_node(ctx) as node, reporting():
        actor = admin.authenticate(node, key)
        service.decide(node, actor, kind, a, b, note)
    out.print(f"{kind} of {a} and {b} recorded", markup=False)


def _read_decisions(path: Path) -> list[Any]:
    import orjson

    from accord.graph.resolve import Decision

    found = []
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        raise Invalid.at("", f"{path}: no such file") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise Invalid.at("", f"{path}:{n}: not JSON") from None
        if not isinstance(item, dict) or item.get("kind") not in ("merge", "split"):
            raise Invalid.at("", f"{path}:{n}: kind must be merge or split")
        if not isinstance(item.get("a"), str) or not isinstance(item.get("b"), str):
            raise Invalid.at("", f"{path}:{n}: a and b must be record ids")
        found.append(Decision(item["kind"], item["a"], item["b"]))
    return found


@contextmanager
def _stage_bar(total: int) -> Iterator[Callable[[str], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, disable=not err.is_terminal,
    )  # fmt: skip
    with bar:
        task = bar.add_task("resolving", total=total)
        done = [0]

        def advance(stage: str) -> None:
            bar.update(task, completed=done[0], description=stage)
            done[0] += 1

        yield advance
        bar.update(task, completed=total, description="done")
