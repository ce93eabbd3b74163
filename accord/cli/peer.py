"""``accord peer`` and ``accord agreement``: the peer registry and the signed agreements held for it.

At the console these are the operator's commands (audited as the node). A peer's identity document comes
from the peer itself (``GET /v1/federation/identity``, or ``accord identity`` on its console), as a file
or as the JSON text.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from accord.cli.context import command_node
from accord.cli.exit import fail, reporting
from accord.cli.request import report as request_report
from accord.services import banks, case_refs, federation, peers, requests, shares, sightings, sync
from accord.store.peers import Peer

__all__ = ["agreement_app", "identity_command", "peer_app"]

peer_app = typer.Typer(no_args_is_help=True, help="The nodes this node federates with.")
agreement_app = typer.Typer(
    no_args_is_help=True,
    help="Sharing agreements: signed ones with peers (sign, add, list) and local ones between organisations "
    "hosted here (create, local, end).",
)

out = Console(soft_wrap=True, highlight=False)


def _table(rows: list[Peer]) -> None:
    # one line a peer, whole ids and URLs (a table would shorten them to the terminal's width)
    for p in rows:
        orgs = ", ".join(p.orgs) or "-"
        out.print(
            f"{p.node_id} [bold]{p.state}[/bold] {p.base_url} organisations {orgs} "
            f"key {p.identity.current.keyid[:16]} added {p.added_at.isoformat()}"
        )
    if not rows:
        out.print("no peers")


def _document(value: str) -> bytes:
    """An identity document given as a file path or as the JSON text itself."""
    if value.lstrip().startswith("{"):
        return value.encode()
    path = Path(value)
    try:
        return path.read_bytes()
    except OSError as e:
        raise fail(f"{value}: cannot read the identity document ({e.strerror})") from None


NodeArg = Annotated[str, typer.Argument(help="the peer's node id (node_...)")]


@peer_app.command("add")
def peer_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="the peer's base URL, e.g. https://accord.hotline.example")],
    identity: Annotated[str, typer.Argument(help="the peer's identity document: a file, or the JSON itself")],
    org: Annotated[list[str] | None, typer.Option("--org", help="an organisation behind the peer (repeat)")] = None,
) -> None:
    """Register a peer, pending until `accord peer trust`."""
    raw = _document(identity)
    with command_node(ctx) as node, reporting(identity if not identity.lstrip().startswith("{") else "identity"):
        peer = peers.add_peer(node, None, url, raw, org)
    out.print(f"peer {peer.node_id} added (pending): trust it with `accord peer trust {peer.node_id}`")


@peer_app.command("list")
def peer_list(
    ctx: typer.Context, all_: Annotated[bool, typer.Option("--all", help="removed peers too")] = False
) -> None:
    """The peers, their state and current key."""
    with command_node(ctx) as node, reporting():
        _table(peers.list_peers(node, None, include_removed=all_))


@peer_app.command("trust")
def peer_trust(ctx: typer.Context, node_id: NodeArg) -> None:
    """Let the peer's keys open envelopes here (under an agreement in force)."""
    with command_node(ctx) as node, reporting():
        _table([peers.trust_peer(node, None, node_id)])


@peer_app.command("update")
def peer_update(
    ctx: typer.Context,
    peer: Annotated[str, typer.Option("--peer", help="the peer's node id (node_...)")],
    identity: Annotated[
        str | None, typer.Option("--identity", help="its new identity document: a file, or the JSON")
    ] = None,
    from_url: Annotated[
        bool,
        typer.Option(
            "--from-url", help="fetch the document the peer publishes (GET /v1/federation/identity at its URL)"
        ),
    ] = False,
) -> None:
    """Take a peer's identity document after a key rotation: refused, naming why, unless it keeps every key
    on file with its window and only adds keys whose windows open after the last one closes."""
    if (identity is None) == (not from_url):
        raise fail("give either --identity FILE or --from-url")
    if identity is None:
        with command_node(ctx) as node, reporting():
            updated = asyncio.run(peers.update_peer_from_url(node, None, peer))
    else:
        raw = _document(identity)
        with command_node(ctx) as node, reporting(identity if not identity.lstrip().startswith("{") else "identity"):
            updated = peers.update_peer(node, None, peer, raw)
    out.print(f"peer {updated.node_id}: identity updated, {len(updated.identity.keys)} keys on file")
    _table([updated])


@peer_app.command("remove")
def peer_remove(ctx: typer.Context, node_id: NodeArg) -> None:
    """Stop accepting anything from the peer (its record stays: envelopes and custody name it)."""
    with command_node(ctx) as node, reporting():
        _table([peers.remove_peer(node, None, node_id)])


@peer_app.command("sync")
def peer_sync(
    ctx: typer.Context,
    peer: Annotated[str | None, typer.Option("--peer", help="pull this peer only (node id)")] = None,
    once: Annotated[bool, typer.Option("--once", help="one round, then exit (default: keep pulling)")] = False,
    interval: Annotated[float, typer.Option("--interval", help="seconds between rounds", min=1)] = 60.0,
    force: Annotated[bool, typer.Option("--force", help="pull a peer in backoff too")] = False,
) -> None:
    """Pull every agreement's feed from each peer party to it, from the stored cursors; a peer that fails
    is tried again after a backoff. Each round then expires and escalates cross-border requests (as
    `accord request tick`). Exit status 3 if a pull of the last round failed."""
    with command_node(ctx) as node, reporting():
        while True:
            done = asyncio.run(sync.sync(node, peer=peer, force=force))
            for r in done:
                if r.backing_off:
                    out.print(f"{r.peer} {r.agreement_id}: backing off until {r.retry_at:%Y-%m-%dT%H:%M:%SZ}")
                elif r.error:
                    out.print(f"{r.peer} {r.agreement_id}: failed ({r.error}); next try {r.retry_at:%H:%M:%SZ}")
                else:
                    out.print(
                        f"{r.peer} {r.agreement_id}: {r.batches} batches, {r.applied} applied, "
                        f"{r.skipped} already here, cursor {r.position}"
                    )
            request_report(requests.tick(node))  # requests: expire the overdue, escalate those near their deadline
            if once:
                break
            time.sleep(interval)
    if any(r.error for r in done):
        raise typer.Exit(3)


@peer_app.command("share")
def peer_share(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="the organisation whose bank, reports or case they are")],
    agreement: Annotated[str, typer.Option("--agreement", help="the signed agreement whose feed it joins")],
    category: Annotated[str, typer.Option("--category", help="the data category it is shared as")],
    bank: Annotated[str | None, typer.Option("--bank", help="the bank (name or id)")] = None,
    reports: Annotated[
        bool,
        typer.Option("--reports", help="share the organisation's reports of the category (sightings) instead"),
    ] = False,
    marking_max: Annotated[
        str | None,
        typer.Option("--marking-max", help="with --reports: the highest marking shared (default the agreement's)"),
    ] = None,
    case: Annotated[
        str | None,
        typer.Option("--case", help="share a reference to this case (never its title or report ids) instead"),
    ] = None,
    marking: Annotated[
        str | None,
        typer.Option("--marking", help="with --case: the reference's marking (default the agreement's maximum)"),
    ] = None,
) -> None:
    """Share a bank into an agreement's sync feed (its entries now and every later change, retractions too),
    with --reports the organisation's reports of a category (those stored now and every later one), or with
    --case a reference to one of its cases (and every later status change)."""
    if [reports, bank is not None, case is not None].count(True) != 1:
        raise fail("give one of --bank BANK, --reports or --case CASE")
    if marking_max is not None and not reports:
        raise fail("--marking-max goes with --reports")
    if marking is not None and case is None:
        raise fail("--marking goes with --case")
    with command_node(ctx) as node, reporting():
        if reports:
            rule = sightings.share_reports(node, None, org, agreement, category, marking_max)
        elif case is not None:
            shared, new = case_refs.share_case(node, None, org, case, agreement, category, marking)
        else:
            assert bank is not None
            bank_id = banks.resolve_local(node, org, bank)
            bank_share = sync.share_bank(node, None, org, bank_id, agreement, category)
    if reports:
        out.print(f"reports of {category} up to {rule.marking_max} shared into the feed of {agreement} ({rule.id})")
    elif case is not None:
        already = "" if new else " (already: nothing changed)"
        out.print(
            f"case {case} shared into the feed of {agreement} as {shared.category} marked {shared.marking}, "
            f"version {shared.version}{already}"
        )
    else:
        out.print(f"bank {bank_id} shared into the feed of {agreement} as {category} ({bank_share.id})")


OrgOpt = Annotated[str, typer.Option("--org", help="the organisation whose shares they are")]


@peer_app.command("shares")
def peer_shares(ctx: typer.Context, org: OrgOpt) -> None:
    """The organisation's shares in force: banks shared into agreements' feeds, and report share rules."""
    with command_node(ctx) as node, reporting():
        found = shares.list_shares(node, None, org)
    for s in found:
        what = f"bank {s.bank_id}" if s.kind == "bank" else f"reports up to {s.marking_max}"
        out.print(f"{s.id} {what} into the feed of {s.agreement_id} as {s.category}")
    if not found:
        out.print("no shares")


@peer_app.command("unshare")
def peer_unshare(
    ctx: typer.Context,
    share_id: Annotated[str | None, typer.Argument(help="the share's id (shr_...), with --org")] = None,
    org: Annotated[str | None, typer.Option("--org", help="the organisation whose share it is")] = None,
    case: Annotated[str | None, typer.Option("--case", help="instead: the case whose reference to withdraw")] = None,
    agreement: Annotated[
        str | None, typer.Option("--agreement", help="with --case: the agreement it is shared under")
    ] = None,
) -> None:
    """Stop a share: no new change (bank) or report enters the feed through it. What it shared stays with the
    receivers and is not retracted; a removed bank share still carries retractions of the entries it shared.
    With --case and --agreement: withdraw a case reference (the peers receive its withdrawal)."""
    if case is not None or agreement is not None:
        if share_id is not None or case is None or agreement is None:
            raise fail("give SHARE --org ORG, or --case CASE --agreement AGREEMENT")
        with command_node(ctx) as node, reporting():
            share = case_refs.unshare_case(node, None, case, agreement)
        out.print(f"case {case} withdrawn from the feed of {agreement} (version {share.version})")
        return
    if share_id is None or org is None:
        raise fail("give SHARE --org ORG, or --case CASE --agreement AGREEMENT")
    with command_node(ctx) as node, reporting():
        removed = shares.unshare(node, None, org, share_id)
    what = f"bank {removed.bank_id}" if removed.kind == "bank" else f"reports of {removed.category}"
    out.print(f"share {removed.id} removed: {what} no longer enters the feed of {removed.agreement_id}")


@peer_app.command("cases")
def peer_cases(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="the organisation they were received for")],
    withdrawn: Annotated[bool, typer.Option("--withdrawn", help="list withdrawn references too")] = False,
) -> None:
    """The case references peers shared with the organisation: one line each (never a title: none travels)."""
    with command_node(ctx) as node, reporting():
        found = case_refs.received(node, None, org, withdrawn=withdrawn)
    for r in found:
        out.print(
            f"{r.origin_case} [bold]{r.status}[/bold] {r.jurisdiction} lead {r.lead_org_name} ({r.lead_org_id}) "
            f"at {r.peer} under {r.agreement_id}, {r.linked_reports} linked reports, "
            f"updated {r.updated_at.isoformat()}, version {r.version}"
        )
    if not found:
        out.print("no case references")


FileArg = Annotated[Path, typer.Argument(help="a signed agreement (JSON)", exists=True, dir_okay=False)]


@agreement_app.command("sign")
def agreement_sign(
    ctx: typer.Context,
    file: FileArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="where to write the signed agreement")],
) -> None:
    """Add this node's signature to an agreement (send the result to the other party)."""
    with command_node(ctx) as node, reporting(str(file)):
        signed = peers.countersign(node, file.read_bytes())
    output.write_bytes(signed)
    out.print(f"signed as {node.me.node_id}; written to {output}")


@agreement_app.command("add")
def agreement_add(
    ctx: typer.Context,
    file: FileArg,
    upstream: Annotated[
        bool,
        typer.Option(
            "--upstream",
            help="an agreement between other nodes, held so that what a peer received under it and shares on "
            "can be checked here (its onward-sharing clause)",
        ),
    ] = False,
) -> None:
    """Store a signed agreement with peers, signed by every party; envelopes under it are accepted from now on."""
    with command_node(ctx) as node, reporting(str(file)):
        agreement = peers.store_agreement(node, None, file.read_bytes(), upstream=upstream)
    out.print(f"agreement {agreement.id} stored: parties {', '.join(agreement.parties)}")


@agreement_app.command("list")
def agreement_list(ctx: typer.Context) -> None:
    """The stored signed agreements (with peers) and who signed them; local ones: `accord agreement local`."""
    with command_node(ctx) as node, reporting():
        stored = peers.list_agreements(node)
    if not stored:
        out.print("no agreements")
        return
    for signed in stored:
        a = signed.agreement
        until = "open" if a.valid_until is None else a.valid_until.isoformat()
        out.print(
            f"{a.id} parties {', '.join(a.parties)} categories {', '.join(a.categories) or '-'} "
            f"max {a.max_marking} valid {a.valid_from.isoformat()} to {until} "
            f"signed by {', '.join(sig.node for sig in signed.signatures)}"
        )


def identity_command(ctx: typer.Context) -> None:
    """Print this node's public identity document (what a peer registers with `accord peer add`)."""
    with command_node(ctx) as node, reporting():
        typer.echo(federation.identity_document(node).decode())
