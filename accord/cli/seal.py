"""``accord seal``: split and restore the node sealing key, custodians' signing keys and approvals, and
the operator's escalation of overdue emergency reviews."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from accord.cli.context import command_node, root_settings
from accord.cli.exit import fail, reporting
from accord.errors import Invalid
from accord.model.custodian import CustodianId
from accord.model.unseal import ApprovalIn
from accord.safeguards import approvals, shamir
from accord.services import admin, unsealing

__all__ = ["seal_app"]

seal_app = typer.Typer(no_args_is_help=True, help="The sealing key, custodians' keys and approvals.")

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only; never replace an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise fail(f"{path}: already exists; not overwritten") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


@seal_app.command("split")
def split(
    ctx: typer.Context,
    k: Annotated[int, typer.Option("--k", help="shares needed to restore the key")],
    n: Annotated[int, typer.Option("--n", help="shares to write, one per custodian")],
    out_dir: Annotated[Path, typer.Option("--out", help="directory for share-I-of-N.json (created, mode 0700)")],
) -> None:
    """Split the node sealing key into N share files, any K of which restore it (Shamir, GF(2^8)).

    Hand each file to one custodian and delete it here. The fingerprint printed identifies the key:
    record it, and compare it when the key is restored."""
    key_file = root_settings(ctx).seal_key_file
    if not key_file.is_file():
        raise fail(f"{key_file}: no sealing key here (a node creates it on first start)")
    key = key_file.read_bytes()
    if len(key) != 32:
        raise fail(f"{key_file}: a sealing key is exactly 32 bytes")
    with reporting():
        shares = shamir.split(key, k, n)
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = [out_dir / f"share-{s.index}-of-{s.n}.json" for s in shares]
    for p in paths:
        if p.exists():
            raise fail(f"{p}: already exists; not overwritten")
    for s, p in zip(shares, paths, strict=True):
        _write_private(p, s.dumps())
    out.print(f"wrote {n} shares to {out_dir} (any {k} restore the key; set {shares[0].set_id})")
    out.print(f"key fingerprint: {shamir.fingerprint(key)}")


@seal_app.command("join")
def join(
    ctx: typer.Context,
    share_files: Annotated[list[Path], typer.Argument(help="K or more share files of one split")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="where to write the key (default: the node's key file)")
    ] = None,
    expect_fingerprint: Annotated[
        str | None, typer.Option(help="the fingerprint printed at split time; refuse any other key")
    ] = None,
) -> None:
    """Restore the node sealing key from custodians' share files (disaster recovery)."""
    shares = []
    for path in share_files:
        if not path.is_file():
            raise fail(f"{path}: no such file")
        with reporting(str(path)):
            shares.append(shamir.Share.loads(path.read_bytes()))
    with reporting():
        key = shamir.combine(shares)
    fp = shamir.fingerprint(key)
    if expect_fingerprint is not None and expect_fingerprint.strip().lower() != fp:
        raise fail(f"the restored key has fingerprint {fp}, not {expect_fingerprint}: a share is wrong")
    target = out_file or root_settings(ctx).seal_key_file
    if target.exists():
        if target.read_bytes() == key:
            out.print(f"{target} already holds this key (fingerprint {fp})")
            return
        raise fail(f"{target}: holds another key; not overwritten (use --out)")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_private(target, key)
    out.print(f"restored the sealing key to {target} (fingerprint {fp})")


@seal_app.command("keygen")
def keygen(
    out_file: Annotated[Path, typer.Option("--out", help="file for the private key (PEM, mode 0600)")],
) -> None:
    """Make a custodian's Ed25519 signing key; prints the public key an admin registers (POST /v1/custodians)."""
    pem, public = approvals.new_signing_key()
    _write_private(out_file, pem)
    out.print(public)


@seal_app.command("approve")
def approve(
    ctx: typer.Context,
    request: Annotated[str, typer.Argument(help="unseal request id")],
    custodian_id: Annotated[str, typer.Option(help="your custodian key registration (cus_...)")],
    signing_key: Annotated[Path, typer.Option(help="your private key file (from accord seal keygen)")],
    key: Annotated[str, typer.Option(envvar="ACCORD_KEY", help="your API key (custodian role)")],
) -> None:
    """Sign and record your approval of an unseal request, after reading what it asks for."""
    if not signing_key.is_file():
        raise fail(f"{signing_key}: no such file")
    with reporting(str(signing_key)):
        private = approvals.load_signing_key(signing_key.read_bytes())
    with command_node(ctx) as node, reporting():
        actor = admin.authenticate(node, key)
        req = unsealing.get(node, actor, request)
        if req.warrant_id is None:
            raise Invalid.at("", f"unseal request {req.id} rests on no warrant: there is nothing to approve")
        message = approvals.approval_message(
            request_id=req.id,
            nonce=req.nonce,
            warrant_id=req.warrant_id,
            report_id=req.report_id,
            fields=req.fields,
            custodian_id=custodian_id,
            approver_id=actor.id,
        )
        approved = unsealing.approve(
            node,
            actor,
            req.id,
            ApprovalIn(custodian_id=CustodianId(custodian_id), signature=approvals.sign(private, message)),
        )
    out.print(
        f"approved {approved.id}: report {approved.report_id}, fields {', '.join(approved.fields)}, "
        f"warrant {approved.warrant_id}; {len(approved.approvals)} of {approved.approvals_needed} approvals"
    )


@seal_app.command("overdue")
def overdue(ctx: typer.Context) -> None:
    """List emergency disclosures whose custodian review is overdue, escalating each the first time
    (an audit event and an error log line). Exit 1 when there is any: run it from cron."""
    with command_node(ctx) as node, reporting():
        late = unsealing.escalate_overdue(node)
    for r in late:
        assert r.review is not None
        err.print(f"OVERDUE {r.id} organisation {r.org_id} report {r.report_id}: review was due {r.review.due_at}")
    if late:
        raise typer.Exit(1)
    out.print("no overdue emergency reviews")
