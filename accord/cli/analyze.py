"""``accord analyze``: network analytics on files, no node needed (key players so far)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from accord.cli.exit import fail, reporting
from accord.errors import Invalid

__all__ = ["analyze_app"]

analyze_app = typer.Typer(no_args_is_help=True, help="Network analytics: key players to disrupt.")

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
