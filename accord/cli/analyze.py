"""``accord analyze``: network analytics: key players on files; entity resolution on a node or a simulator world."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from accord.cli.exit import fail, reporting
from accord.errors import Invalid

__all__ = ["analyze_app"]

analyze_app = typer.Typer(no_args_is_help=True, help="Network analytics: key players to disrupt, entity resolution.")

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


@analyze_app.command("keyplayers")
def keyplayers(
    edgelist: Annotated[Path, typer.Option(help="edge list: 'u v' a line, '#' comments, optional '# nodes=N'")],
    order_out: Annotated[Path, typer.Option(help="file to write the full removal order to, one node id a line")],
    method: Annotated[str, typer.Option(help="accord, hda, hba, corehd or ci")] = "accord",
    reinsertion: Annotated[bool, typer.Option(help="greedy reinsertion after a baseline")] = True,
    seed: Annotated[int, typer.Option(help="seed for tie-breaking and sampling: same seed, same order")] = 0,
    objective: Annotated[str, typer.Option(help="what accord minimises: auc10 or r")] = "auc10",
    k: Annotated[int | None, typer.Option("--k", min=0, help="also choose the best k nodes to act on")] = None,
    actionable: Annotated[
        Path | None, typer.Option(help="node ids that can be acted on, one a line (with --k; default: all)")
    ] = None,
) -> None:
    """Rank the nodes whose removal breaks the network fastest; print R and AUC10 of the order."""
    from accord.graph.dismantling import auc10, lcc_curve, robustness
    from accord.graph.edgelist import read_edgelist
    from accord.graph.keyplayers import choose, dismantle

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
    partial = order_out.with_name(order_out.name + ".partial")
    with reporting(str(order_out)):
        try:
            partial.write_text("".join(f"{graph.ids[v]}\n" for v in result.order), encoding="utf-8")
            partial.replace(order_out)
        except OSError as exc:
            raise Invalid.at("", f"cannot write: {exc.strerror}") from None
        finally:
            partial.unlink(missing_ok=True)
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
) -> None:
    """Resolve identifier records into entities (Splink on DuckDB) and write them as JSON."""
    import orjson

    from accord.graph.records import read_world
    from accord.graph.resolve import STAGES, ResolveConfig, resolve
    from accord.graph.resolve_eval import score

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
    partial = out_file.with_name(out_file.name + ".partial")
    with reporting(str(out_file)):
        try:
            partial.write_bytes(orjson.dumps(doc))
            partial.replace(out_file)
        except OSError as exc:
            raise Invalid.at("", f"cannot write: {exc.strerror}") from None
        finally:
            partial.unlink(missing_ok=True)
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
