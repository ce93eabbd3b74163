"""``accord request``: cross-border requests (preservation, disclosure, urgent disclosure) at the console, for
one organisation (``--org``), audited as the node; ``accord request tick`` expires and escalates."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from accord.cli.context import command_node
from accord.cli.exit import fail, reporting
from accord.model.parse import parse_obj
from accord.model.request import KINDS, Request, RequestIn, TransitionIn
from accord.services import requests

__all__ = ["request_app"]

request_app = typer.Typer(no_args_is_help=True, help="Cross-border requests: preservation, disclosure, urgent.")
out = Console(soft_wrap=True, highlight=False)

OrgOpt = Annotated[str, typer.Option("--org", help="the organisation acting (its id)")]
IdArg = Annotated[str, typer.Argument(help="the request's id (req_...)")]


def _line(r: Request) -> str:
    code = f" ({r.answer_code})" if r.answer_code else ""
    other = r.to_org if r.role == "requester" else r.from_org
    return (
        f"{r.id} [bold]{r.state}[/bold]{code} {r.kind} {r.role} {'to' if r.role == 'requester' else 'from'} "
        f"{other} under {r.agreement_id}, ref {r.reference}, deadline {r.deadline:%Y-%m-%dT%H:%M:%SZ}"
    )


def _show(r: Request) -> None:
    out.print(_line(r))
    out.print(f"  case {r.case_id}, legal basis {r.legal_basis}, keys {', '.join(r.keys)}")
    for e in r.events:
        extra = (f" {e.code}" if e.code else "") + (f" until {e.deadline:%Y-%m-%dT%H:%M:%SZ}" if e.deadline else "")
        flag = "" if e.applied else " (no effect)"
        out.print(f"  {e.at:%Y-%m-%dT%H:%M:%SZ} {e.side} {e.transition}{extra}{flag}")


@request_app.command("create")
def request_create(
    ctx: typer.Context,
    org: OrgOpt,
    agreement: Annotated[str, typer.Option("--agreement", help="the signed agreement it goes under")],
    kind: Annotated[str, typer.Option("--kind", help=f"one of {', '.join(KINDS)}")],
    legal_basis: Annotated[str, typer.Option("--legal-basis", help="vocabulary legal_bases")],
    case: Annotated[str, typer.Option("--case", help="the requesting case's id")],
    key: Annotated[list[str], typer.Option("--key", help="a normalised identifier key (repeat)")],
    reference: Annotated[str, typer.Option("--reference", help="a short reference (no spaces)")],
    to_org: Annotated[str | None, typer.Option("--to", help="the addressee party (default: the other)")] = None,
    deadline: Annotated[str | None, typer.Option("--deadline", help="ISO 8601 with a zone")] = None,
    category: Annotated[str | None, typer.Option("--category")] = None,
    send: Annotated[bool, typer.Option("--send", help="send it at once")] = False,
) -> None:
    """Create a request (a draft unless --send)."""
    raw = {
        "agreement_id": agreement,
        "kind": kind,
        "legal_basis": legal_basis,
        "case_id": case,
        "keys": key,
        "reference": reference,
        "to_org": to_org,
        "deadline": deadline,
        "category": category,
    }
    with command_node(ctx) as node, reporting():
        body = parse_obj(RequestIn, {k: v for k, v in raw.items() if v is not None})
        made = requests.create(node, None, body, org)
        if send:
            made = requests.step(node, None, made.id, "send", org_id=org)
    out.print(_line(made))


def _step(ctx: typer.Context, org: str, request_id: str, transition: str, **body: object) -> None:
    with command_node(ctx) as node, reporting():
        done = requests.step(
            node, None, request_id, transition, parse_obj(TransitionIn, {k: v for k, v in body.items() if v}), org
        )
    out.print(_line(done))


@request_app.command("send")
def request_send(ctx: typer.Context, request_id: IdArg, org: OrgOpt) -> None:
    """Send a draft: it enters the agreement's feed for the addressee's next pull."""
    _step(ctx, org, request_id, "send")


@request_app.command("withdraw")
def request_withdraw(ctx: typer.Context, request_id: IdArg, org: OrgOpt) -> None:
    """Withdraw a request not yet answered."""
    _step(ctx, org, request_id, "withdraw")


@request_app.command("ack")
def request_ack(ctx: typer.Context, request_id: IdArg, org: OrgOpt) -> None:
    """Acknowledge a request received."""
    _step(ctx, org, request_id, "acknowledge")


@request_app.command("answer")
def request_answer(
    ctx: typer.Context,
    request_id: IdArg,
    org: OrgOpt,
    code: Annotated[str, typer.Option("--code", help="preserved, disclosed or no-data")],
) -> None:
    """Answer a request received (a code only: no evidence travels)."""
    _step(ctx, org, request_id, "answer", code=code)


@request_app.command("refuse")
def request_refuse(
    ctx: typer.Context,
    request_id: IdArg,
    org: OrgOpt,
    code: Annotated[str, typer.Option("--code", help="refused-legal or refused-scope")],
) -> None:
    """Refuse a request received."""
    _step(ctx, org, request_id, "refuse", code=code)


@request_app.command("extend")
def request_extend(
    ctx: typer.Context,
    request_id: IdArg,
    org: OrgOpt,
    deadline: Annotated[str, typer.Option("--deadline", help="the new deadline, ISO 8601 with a zone")],
) -> None:
    """Extend a preservation request's period."""
    _step(ctx, org, request_id, "extend", deadline=deadline)


@request_app.command("list")
def request_list(
    ctx: typer.Context,
    org: OrgOpt,
    role: Annotated[str | None, typer.Option("--role", help="requester or addressee")] = None,
    state: Annotated[str | None, typer.Option("--state")] = None,
) -> None:
    """The organisation's requests, one line each."""
    if role not in (None, "requester", "addressee"):
        raise fail("--role is requester or addressee")
    with command_node(ctx) as node, reporting():
        found = requests.list_requests(node, None, org, role=role, state=state)
    for r in found:
        out.print(_line(r))
    if not found:
        out.print("no requests")


@request_app.command("show")
def request_show(ctx: typer.Context, request_id: IdArg, org: OrgOpt) -> None:
    """One request and its history."""
    with command_node(ctx) as node, reporting():
        _show(requests.get(node, None, request_id, org))


@request_app.command("tick")
def request_tick(ctx: typer.Context) -> None:
    """Expire the requests sent whose deadline passed unanswered; list (and escalate once) those near theirs."""
    with command_node(ctx) as node, reporting():
        done = requests.tick(node)
    report(done)


def report(done: requests.Tick) -> None:
    for r in done.expired:
        out.print(f"expired {_line(r)}")
    for r in done.due:
        out.print(f"deadline near{' (escalated)' if r.id in done.escalated else ''}: {_line(r)}")
    for rid in done.refused:
        out.print(f"{rid}: its expiry was refused by the agreement (audited)")
