"""``accord deconflict``: ask a trusted peer which of the organisation's identifiers or hashes it holds too
(``--set pdq``: which of its PDQ hashes have a near duplicate there).

The run is the API's (``POST /v1/deconfliction/runs``), made at the console with a key of the organisation's
(``--key`` or ``ACCORD_KEY``): a private set intersection over signed envelopes, rate-limited per peer
and audited on both nodes (docs/federation.md, "Deconfliction between nodes").
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from accord.cli.context import command_node
from accord.cli.exit import reporting
from accord.services import admin
from accord.services import deconfliction as service

__all__ = ["deconflict_command"]

out = Console(soft_wrap=True, highlight=False)


def deconflict_command(
    ctx: typer.Context,
    peer: Annotated[str, typer.Option("--peer", help="the peer's node id (node_...)")],
    set_: Annotated[str, typer.Option("--set", help="identifiers, hashes, or pdq (near-duplicate PDQ hashes)")],
    key: Annotated[str, typer.Option(envvar="ACCORD_KEY", help="an API key of the organisation asking")],
    mode: Annotated[str, typer.Option(help="members (which overlap) or count (how many)")] = "members",
    agreement: Annotated[str | None, typer.Option(help="the agreement to run under (default: the first)")] = None,
    threshold: Annotated[
        int | None,
        typer.Option(help="--set pdq: the Hamming distance of a near duplicate (default: the node's, <= 31)"),
    ] = None,
) -> None:
    """Deconflict with a peer: learn which of your identifiers or hashes it holds too, and nothing else."""
    with command_node(ctx) as node, reporting():
        actor = admin.authenticate(node, key)
        run = asyncio.run(
            service.start(node, actor, peer=peer, kind=set_, mode=mode, agreement_id=agreement, threshold=threshold)
        )
    if run.set == "pdq":
        out.print(
            f"deconfliction {run.reference} with {run.peer} ({run.peer_org}) under {run.agreement_id}: "
            f"{run.count} of your {run.own_size} PDQ hashes have a near duplicate at the peer "
            f"(distance <= {run.threshold}; the peer put in {run.peer_size} chunk keys)"
        )
    else:
        out.print(
            f"deconfliction {run.reference} with {run.peer} ({run.peer_org}) under {run.agreement_id}: "
            f"{run.count} of your {run.own_size} {run.set} overlap (the peer put in {run.peer_size})"
        )
    for item in run.members or []:
        out.print(f"  {item}")
