"""``accord review``: the reports and cases a retracted bank entry matched, at the console (docs/matching.md)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from accord.cli.context import command_node
from accord.cli.exit import reporting
from accord.services import reviews

__all__ = ["review_app"]

review_app = typer.Typer(no_args_is_help=True, help="Reviews a retraction left: reports and cases to look at again.")
out = Console(soft_wrap=True, highlight=False)

OrgOption = Annotated[str, typer.Option("--org", help="organisation id")]


@review_app.command("list")
def list_(
    ctx: typer.Context,
    org: OrgOption,
    all_: Annotated[bool, typer.Option("--all", help="resolved ones too")] = False,
) -> None:
    """The organisation's open reviews (every one with --all)."""
    with command_node(ctx) as node, reporting():
        found = reviews.list_local(node, org, open_only=not all_)
    # one line a review, whole ids (a table would shorten them to the terminal's width)
    for r in found:
        resolved = f" resolved {r.resolved_at.isoformat()}" if r.resolved_at else ""
        out.print(
            f"{r.id} {r.object_type} {r.object_id} {r.reason} bank {r.bank_id} entry {r.entry_id} "
            f"matches {r.matches} opened {r.created_at.isoformat()}{resolved}"
        )
    out.print(f"{len(found)} review(s)")


@review_app.command("resolve")
def resolve(ctx: typer.Context, review_id: Annotated[str, typer.Argument()], org: OrgOption) -> None:
    """Mark a review done."""
    with command_node(ctx) as node, reporting():
        done = reviews.resolve_local(node, org, review_id)
    out.print(f"{done.id} resolved ({done.object_type} {done.object_id})")
