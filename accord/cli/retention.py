"""``accord retention``: the organisations' retention rules, and the purge of what expired under them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from accord.cli.context import command_node
from accord.cli.exit import fail, reporting
from accord.model.retention import MAX_DAYS, RetentionRules
from accord.services import retention

__all__ = ["retention_app"]

retention_app = typer.Typer(no_args_is_help=True, help="Retention rules and the purge of expired data.")

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)


def _print(view: RetentionRules) -> None:
    if not view.rules and not view.agreement_caps:
        out.print("no retention rules: nothing is purged")
        return
    table = Table("rule", "category", "days", "agreement", "set at", "set by")
    for r in view.rules:
        table.add_row(
            r.id, r.category, str(r.days), r.agreement_id or "-", f"{r.set_at:%Y-%m-%d %H:%M}", r.set_by or "operator"
        )
    for cap in view.agreement_caps:
        table.add_row("(agreement)", "report", str(cap.retention_days), cap.agreement_id, "-", "-")
    out.print(table)


OrgOption = Annotated[str, typer.Option("--org", help="organisation id")]
CategoryOption = Annotated[str, typer.Option(help="data category: report (the whole report) or sealed")]
AgreementOption = Annotated[str | None, typer.Option("--agreement", help="only reports held under this agreement")]


@retention_app.command("rules")
def rules(ctx: typer.Context, org: OrgOption) -> None:
    """Show an organisation's rules and the caps of the agreements it is party to."""
    with command_node(ctx) as node, reporting():
        _print(retention.rules_local(node, org))


@retention_app.command("set")
def set_rule(
    ctx: typer.Context,
    org: OrgOption,
    category: CategoryOption,
    days: Annotated[int, typer.Option(min=1, max=MAX_DAYS, help="keep this many days after storing")],
    agreement: AgreementOption = None,
) -> None:
    """Set one rule (replacing the rule of the same category and agreement); the others stay."""
    with command_node(ctx) as node:
        if category not in node.vocab.retention:
            known = ", ".join(node.vocab.retention.codes())
            raise fail(f"--category: unknown retention category {category!r} (known: {known})")
        with reporting("--agreement"):
            _print(retention.set_rule_local(node, org, category, days, agreement))


@retention_app.command("unset")
def unset_rule(ctx: typer.Context, org: OrgOption, category: CategoryOption, agreement: AgreementOption = None) -> None:
    """Remove one rule."""
    with command_node(ctx) as node, reporting():
        _print(retention.unset_rule_local(node, org, category, agreement))


@retention_app.command("run")
def run(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count what has expired; change nothing")] = False,
    org: Annotated[str | None, typer.Option("--org", help="only this organisation")] = None,
) -> None:
    """Purge what has expired, in batches (one transaction each), recording each purge in custody."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=dry_run or not err.is_terminal,
    )
    with command_node(ctx) as node, reporting(), bar:
        task = bar.add_task("purging", total=None)
        result = retention.run(
            node,
            org_id=org,
            dry_run=dry_run,
            on_plan=lambda total: bar.update(task, total=total),
            on_batch=lambda _org, category, n: bar.update(task, advance=n, description=f"purging ({category})"),
        )
    verb = "would purge" if dry_run else "purged"
    for (org_id, category), n in sorted(result.counts.items()):
        out.print(f"{org_id} {category}: {verb} {n}")
    out.print(f"{verb} {result.total} in total" + ("" if dry_run else f" in {result.batches} batch(es)"))
    if result.wal_cleared is False:
        err.print("note: a reader held the database; its WAL still holds purged pages until the next checkpoint")
