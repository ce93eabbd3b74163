"""``accord agreement create|local|end``: local agreements between organisations hosted on this node.

They join the signed-agreement commands (``sign``, ``add``, ``list``: ``accord.cli.peer``) under one
``accord agreement`` group. At the console these are the operator's commands (audited as the node).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from accord.cli.context import command_node
from accord.cli.exit import reporting
from accord.cli.peer import agreement_app
from accord.model.agreement import LocalAgreement, LocalAgreementIn
from accord.model.parse import parse_obj
from accord.services import agreements

__all__ = ["agreement_app"]

out = Console(soft_wrap=True, highlight=False)


def _line(a: LocalAgreement) -> str:
    until = "open" if a.valid_until is None else a.valid_until.isoformat()
    state = "in force" if a.in_force else "not in force"
    return (
        f"{a.id} [bold]{state}[/bold] parties {', '.join(a.parties)} purposes {', '.join(a.purposes)} "
        f"categories {', '.join(a.categories)} max {a.max_marking} retention {a.retention_days} days "
        f"onward sharing {'yes' if a.onward_sharing else 'no'} valid {a.valid_from.isoformat()} to {until}"
    )


@agreement_app.command("create")
def agreement_create(
    ctx: typer.Context,
    party: Annotated[list[str], typer.Option("--party", help="an organisation hosted here (repeat: two or more)")],
    purpose: Annotated[list[str], typer.Option("--purpose", help="vocabulary purposes (repeat)")],
    legal_basis: Annotated[list[str], typer.Option("--legal-basis", help="vocabulary legal_bases (repeat)")],
    category: Annotated[
        list[str], typer.Option("--category", help="a data category it allows, vocabulary categories (repeat)")
    ],
    max_marking: Annotated[str, typer.Option("--max-marking", help="the highest marking shared (TLP code)")],
    retention_days: Annotated[int, typer.Option("--retention-days", help="how long a party keeps what it receives")],
    onward_sharing: Annotated[
        bool, typer.Option("--onward-sharing", help="parties may pass what they receive on")
    ] = False,
    valid_from: Annotated[str | None, typer.Option("--valid-from", help="ISO 8601 with a zone (default: now)")] = None,
    valid_until: Annotated[
        str | None, typer.Option("--valid-until", help="ISO 8601 with a zone (default: until ended)")
    ] = None,
) -> None:
    """Make a local agreement between organisations hosted here; prints its id (its TAXII collection's)."""
    body = {
        "parties": party,
        "purposes": purpose,
        "legal_bases": legal_basis,
        "categories": category,
        "max_marking": max_marking,
        "retention_days": retention_days,
        "onward_sharing": onward_sharing,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    with command_node(ctx) as node, reporting():
        made = agreements.create(node, None, parse_obj(LocalAgreementIn, body))
    typer.echo(made.id)


@agreement_app.command("local")
def agreement_local(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="only those this organisation is party to")] = None,
    in_force: Annotated[bool, typer.Option("--in-force", help="only those valid now")] = False,
) -> None:
    """The local agreements (between organisations hosted here), ended ones too unless --in-force."""
    with command_node(ctx) as node, reporting():
        found = agreements.list_agreements(node, None, in_force=in_force)
    found = [a for a in found if org is None or org in a.parties]
    for a in found:
        out.print(_line(a))
    if not found:
        out.print("no local agreements")


@agreement_app.command("end")
def agreement_end(
    ctx: typer.Context, agreement: Annotated[str, typer.Argument(help="the local agreement's id (agr_...)")]
) -> None:
    """End a local agreement now: its TAXII collection closes and banks bound to it are their owner's alone.
    The agreement is kept (banks, retention rules and custody name it)."""
    with command_node(ctx) as node, reporting():
        ended = agreements.end(node, None, agreement)
    assert ended.valid_until is not None
    out.print(f"agreement {ended.id} ended at {ended.valid_until.isoformat()}")
