"""``accord``: set up a node, run it, feed it, and check its audit trail and custody log."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from accord.cli import files
from accord.cli.agreement import agreement_app
from accord.cli.analyze import analyze_app
from accord.cli.bank import bank_app, match_command
from accord.cli.calibrate import calibrate
from accord.cli.deconflict import deconflict_command
from accord.cli.exit import fail, reporting
from accord.cli.peer import identity_command, peer_app
from accord.cli.person import person_app
from accord.cli.request import request_app
from accord.cli.retention import retention_app
from accord.cli.review import review_app
from accord.cli.seal import seal_app
from accord.cli.taxii import taxii_app
from accord.model.organisation import ActorKind, CredentialIn, OrganisationIn, OrgKind, Role
from accord.model.parse import parse_obj
from accord.services import admin, audit
from accord.services import reports as report_service
from accord.services.node import Node, open_node
from accord.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
org_app = typer.Typer(no_args_is_help=True, help="Organisations hosted on this node.")
key_app = typer.Typer(no_args_is_help=True, help="API keys.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit trail.")
custody_app = typer.Typer(no_args_is_help=True, help="The custody log: checkpoints, keys, evidence bundles.")
app.add_typer(org_app, name="org")
app.add_typer(key_app, name="key")
app.add_typer(audit_app, name="audit")
app.add_typer(custody_app, name="custody")
app.add_typer(person_app, name="person")
app.add_typer(seal_app, name="seal")
app.add_typer(retention_app, name="retention")
app.add_typer(analyze_app, name="analyze")
app.add_typer(bank_app, name="bank")
app.add_typer(review_app, name="review")
app.add_typer(taxii_app, name="taxii")
app.add_typer(peer_app, name="peer")
app.add_typer(agreement_app, name="agreement")
app.add_typer(request_app, name="request")
app.command("identity")(identity_command)
app.command("deconflict")(deconflict_command)
bank_app.command("calibrate")(calibrate)
app.command("match")(match_command)

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option(envvar="ACCORD_DATA_DIR", help="where the node keeps its files")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(envvar="ACCORD_DATABASE_URL", help="sqlite:///... or postgresql://...")
    ] = None,
) -> None:
    # an explicit --data-dir without --database-url means the SQLite file inside that directory
    ctx.obj = Settings.from_env(data_dir=data_dir, database_url=database_url)


def _node(ctx: typer.Context, *, current_schema: bool = True) -> Node:
    settings: Settings = ctx.obj
    with reporting():
        node = open_node(settings)
        if current_schema:
            try:
                admin.require_current_schema(node)
            except BaseException:
                node.close()
                raise
        return node


def _org_in(name: str, kind: str, jurisdiction: str) -> OrganisationIn:
    return parse_obj(OrganisationIn, {"name": name, "kind": kind, "jurisdiction": jurisdiction})


@app.command()
def init(
    ctx: typer.Context,
    org_name: Annotated[str, typer.Option(help="name of the organisation running this node")] = "Operator",
    kind: Annotated[OrgKind, typer.Option(help="what kind of organisation it is")] = OrgKind.hotline,
    jurisdiction: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country")] = "NL",
) -> None:
    """Create the database, the operator organisation and its first admin key (shown once)."""
    node = _node(ctx, current_schema=False)
    with reporting():
        org, issued = admin.bootstrap(node, _org_in(org_name, kind.value, jurisdiction))
    out.print(f"initialised node at {node.settings.database_url}")
    out.print(f"operator organisation: {org.id} ({org.name})")
    out.print(f"admin key (shown once, keep it safe): {issued.token}")


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Migrate this node's database to the schema this version of Accord needs (back it up first)."""
    node = _node(ctx, current_schema=False)
    try:
        with reporting():
            before, after = admin.upgrade(node)
    finally:
        node.close()
    if before == after:
        out.print(f"the database is already at schema revision {after}")
    else:
        out.print(f"database upgraded from schema revision {before or 'none'} to {after}")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="server processes (each with its own connections)")] = 1,
) -> None:
    """Run the HTTP API."""

    import uvicorn

    settings: Settings = ctx.obj
    if workers > 1:
        _node(ctx).close()  # refuse here, once, when the schema is behind (the workers would each fail)
        # workers build their node from the environment: hand them the settings this command resolved
        os.environ.update(ACCORD_DATA_DIR=str(settings.data_dir), ACCORD_DATABASE_URL=settings.database_url)
        uvicorn.run(
            "accord.api.asgi:app_from_env", factory=True, host=host, port=port, workers=workers, log_level="warning"
        )
        return
    from accord.api.app import create_app

    uvicorn.run(create_app(_node(ctx)), host=host, port=port, log_level="warning")


@org_app.command("add")
def org_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="organisation name")],
    kind: Annotated[OrgKind, typer.Option(help="kind of organisation")],
    jurisdiction: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country")],
) -> None:
    """Host another organisation on this node."""
    node = _node(ctx)
    with reporting():
        org = admin.create_org_local(node, _org_in(name, kind.value, jurisdiction))
    out.print(org.id)


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    org: Annotated[str, typer.Option(help="organisation id the key belongs to")],
    name: Annotated[str, typer.Option(help="who or what holds the key")],
    role: Annotated[list[Role], typer.Option(help="a role; repeat for several")],
    kind: Annotated[ActorKind, typer.Option(help="user or service")] = ActorKind.service,
    expires: Annotated[datetime | None, typer.Option(help="expiry, ISO 8601 with zone")] = None,
) -> None:
    """Issue an API key; the token is printed once and stored only as an argon2 hash."""
    node = _node(ctx)
    with reporting():
        cin = parse_obj(CredentialIn, {"name": name, "kind": kind, "roles": role, "expires_at": expires})
        issued = admin.create_credential_local(node, org, cin)
    out.print(issued.token)


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    expect_head: Annotated[
        str | None, typer.Option(help="SEQ:HASH of a head recorded earlier; detects truncation")
    ] = None,
) -> None:
    """Walk the audit hash chain; exit 1 if any event was edited, removed, inserted or reordered."""
    node = _node(ctx)
    with reporting():
        result = audit.verify(node)
        head = audit.head(node)
    for b in result.breaks[:50]:
        err.print(f"audit event {b.seq}: {b.reason}")
    if expect_head:
        seq, _, digest = expect_head.partition(":")
        if not seq.isdigit() or head is None or head[0] < int(seq) or not audit.contains(node, int(seq), digest):
            err.print(f"the recorded head {expect_head} is not in the chain: events were removed or rewritten")
            raise typer.Exit(1)
    if not result.ok:
        err.print(f"audit trail BROKEN: {len(result.breaks)} fault(s) in {result.checked} events")
        raise typer.Exit(1)
    out.print(f"audit trail intact: {result.checked} events" + (f", head {head[0]}:{head[1]}" if head else ""))


@custody_app.command("verify")
def custody_verify(
    ctx: typer.Context,
    bundle: Annotated[
        Path | None, typer.Argument(help="an evidence bundle to check offline; without it, the node's whole log")
    ] = None,
    trusted_key: Annotated[
        list[str] | None,
        typer.Option(help="the node's published verifier key (name+id+key) to trust instead of the bundle's; repeat"),
    ] = None,
) -> None:
    """Verify an evidence bundle offline (no database, no settings), or the node's whole custody log.

    Exit 0 when everything verifies, 1 when anything does not; each failure names the item and the check.
    """
    if bundle is None:
        _verify_log(ctx)
        return
    from accord.custody.bundle import verify_bundle
    from accord.custody.note import NoteError, Verifier

    if not bundle.is_file():
        raise fail(f"{bundle}: no such file")
    trusted = None
    if trusted_key:
        try:
            trusted = [Verifier.parse(k) for k in trusted_key]
        except NoteError as e:
            raise fail(f"--trusted-key: {e}") from None
    result = verify_bundle(bundle.read_bytes(), trusted)
    for f in result.failures:
        err.print(f"FAILED {f}", markup=False)
    if not result.ok:
        err.print(f"{bundle}: does NOT verify ({len(result.failures)} failure(s))", markup=False)
        raise typer.Exit(1)
    cp = result.checkpoint
    assert cp is not None
    out.print(
        f"{bundle}: verifies: {result.items} item(s), {result.entries} custody entries, all included in "
        f"{cp.origin} at size {cp.size} (root {cp.root_hash.hex()})",
        markup=False,
    )
    for key in result.signed_by:
        note = "" if result.pinned else "  (key taken from the bundle: compare it with the node's published key)"
        out.print(f"signed by {key}{note}", markup=False)


def _verify_log(ctx: typer.Context) -> None:
    from accord.services import custody

    node = _node(ctx)
    with reporting():
        result = custody.verify_log(node)
    for f in result.faults[:50]:
        err.print(f"custody {f}", markup=False)
    if not result.ok:
        more = len(result.faults) + result.more_faults - min(50, len(result.faults))
        if more:
            err.print(f"... and {more} more")
        err.print(
            f"custody log BROKEN: {len(result.faults) + result.more_faults} fault(s) in {result.leaves} leaves, "
            f"first at {result.faults[0].where}"
        )
        raise typer.Exit(1)
    out.print(
        f"custody log intact: {result.leaves} leaves, {result.nodes} subtree hashes, "
        f"{result.checkpoints} signed checkpoints; root {result.root.hex()}"
    )


@custody_app.command("export")
def custody_export(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="the case whose reports the bundle proves")],
    out_file: Annotated[Path, typer.Option("--out", help="the bundle file to write")],
    key: Annotated[str, typer.Option(envvar="ACCORD_KEY", help="API key of the exporting actor")],
) -> None:
    """Write an evidence bundle: the case's report digests and metadata, their custody entries, an inclusion
    proof of each to one signed checkpoint, and the public keys. The export itself is logged."""
    from accord.services import custody

    node = _node(ctx)
    with reporting():
        actor = admin.authenticate(node, key)
        data = custody.export_case(node, actor, case_id)
    with reporting(str(out_file)), files.replacing(out_file) as partial:
        partial.write_bytes(data)
    out.print(f"evidence bundle for {case_id} written to {out_file}", markup=False)


@custody_app.command("checkpoint")
def custody_checkpoint(ctx: typer.Context) -> None:
    """Print the log's newest signed checkpoint (signing one if the log grew)."""
    from accord.services import custody

    node = _node(ctx)
    with reporting():
        signed = custody.current_checkpoint(node)
    print(signed.note, end="")


@custody_app.command("keys")
def custody_keys(ctx: typer.Context) -> None:
    """Print the log's verifier keys (current last): publish them so bundles can be checked against them."""
    from accord.services import custody

    node = _node(ctx)
    with reporting():
        custody.current_checkpoint(node)  # the first key is registered when it first signs
        for v in custody.verifiers(node):
            print(v.encode())


@custody_app.command("rotate-key")
def custody_rotate_key(ctx: typer.Context) -> None:
    """Replace the checkpoint signing key. Old checkpoints stay verifiable (the old public key is kept), and
    the first checkpoint under the new key is signed by both."""
    from accord.services import custody

    node = _node(ctx)
    with reporting():
        rotated = custody.rotate_key(node)
    out.print(f"retired {rotated.old.encode()}", markup=False)
    out.print(f"current {rotated.new.encode()}", markup=False)
    out.print(f"signed checkpoint at size {rotated.checkpoint.checkpoint.size} with both keys", markup=False)


@audit_app.command("export")
def audit_export(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="NDJSON file to write (replaced only when complete)")],
    key: Annotated[str, typer.Option(envvar="ACCORD_KEY", help="API key of an auditor")],
    actor_id: Annotated[str | None, typer.Option(help="only this actor's events")] = None,
    action: Annotated[str | None, typer.Option(help='an action, or a family such as "unseal.*"')] = None,
    object_id: Annotated[str | None, typer.Option(help="only events about this object")] = None,
    object_type: Annotated[str | None, typer.Option(help="only events about objects of this type")] = None,
    outcome: Annotated[str | None, typer.Option(help="success, denied, refused, failure...")] = None,
    since: Annotated[datetime | None, typer.Option(help="at or after (UTC unless a zone is given)")] = None,
    until: Annotated[datetime | None, typer.Option(help="before (UTC unless a zone is given)")] = None,
) -> None:
    """Export your organisation's audit trail as NDJSON, one event a line in chain order (recorded too)."""
    from accord.store.audit import AuditQuery

    node = _node(ctx)
    utc = [d.replace(tzinfo=UTC) if d is not None and d.tzinfo is None else d for d in (since, until)]
    q = AuditQuery(actor_id, action, object_id, utc[0], utc[1], outcome=outcome, object_type=object_type)
    try:
        with reporting(str(out_file)):
            actor = admin.authenticate(node, key)
            with files.replacing(out_file) as partial, partial.open("wb") as fh:
                n = audit.export(node, actor, q, fh.write)
    finally:
        node.close()
    out.print(f"{n} audit events written to {out_file}")


@app.command()
def ingest(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="the file to import (may be gzip or a one-file zip)")],
    key: Annotated[str, typer.Option(envvar="ACCORD_KEY", help="API key of the submitting actor")],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="native|csv|ncmec|stix|ftm|case (detected when omitted)")
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="column mapping (YAML) for --format csv")] = None,
    source: Annotated[str | None, typer.Option(help="source code for formats that carry none")] = None,
    service: Annotated[
        str | None, typer.Option(help="your service's name for formats that do not name it (NCMEC: the ESP)")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="reports per transaction")] = None,
    acks: Annotated[bool, typer.Option(help="print 'ack N' after each committed batch (for supervisors)")] = False,
    parse_workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="helper processes that read ahead of the writer (default on a multi-core machine: one, for "
            "native NDJSON only from 8 MiB on; see docs/benchmarks.md)",
        ),
    ] = None,
) -> None:
    """Import reports from a file. Rejected reports are listed with their line (or position) and field."""
    from accord.services.imports import import_stream

    node = _node(ctx)
    if not file.is_file():
        raise fail(f"{file}: no such file")
    with reporting():
        actor = admin.authenticate(node, key)
    with reporting(str(mapping or "")):
        mapping_doc = files.read_mapping(mapping) if mapping else None
    with reporting(str(file)), file.open("rb") as raw, files.byte_progress(raw, file, err) as advance:

        def on_batch(r: report_service.BulkResult) -> None:
            advance()
            if acks:
                print(f"ack {r.accepted + r.duplicates}", flush=True)

        outcome = import_stream(
            node,
            actor,
            raw,
            name=str(file),
            format=format,
            mapping=mapping_doc,
            source=source,
            service=service,
            batch_size=batch_size,
            on_batch=on_batch,
            parse_workers=parse_workers,
            path=file,
        )
    result = outcome.result
    for rej in result.rejected[:200]:
        err.print(f"{file}:{rej.line}: {rej.pointer or '/'}: {rej.message}", markup=False, highlight=False)
    if len(result.rejected) > 200:
        err.print(f"... and {len(result.rejected) - 200} more rejected")
    out.print(
        f"{outcome.format}: {result.accepted} accepted, {result.duplicates} duplicates, "
        f"{result.rejected_lines} rejected"
    )
    if result.rejected:
        raise typer.Exit(2)


@app.command()
def export(
    ctx: typer.Context,
    format: Annotated[str, typer.Argument(help="native|csv|stix|ftm|case|dsa")],
    out_file: Annotated[Path, typer.Option("--out", help="file to write (replaced only when the export succeeds)")],
    key: Annotated[str, typer.Option(envvar="ACCORD_KEY", help="API key of the exporting actor")],
    received_after: Annotated[datetime | None, typer.Option(help="only reports received at or after (UTC)")] = None,
    received_before: Annotated[datetime | None, typer.Option(help="only reports received before (UTC)")] = None,
    incident_type: Annotated[str | None, typer.Option(help="category code")] = None,
    urgency: Annotated[str | None, typer.Option(help="urgency indicator code")] = None,
    urgent: Annotated[bool | None, typer.Option("--urgent/--not-urgent", help="urgent channel only, or never")] = None,
    source: Annotated[str | None, typer.Option(help="source code")] = None,
    agreement: Annotated[str | None, typer.Option(help="agreement id to mark the export with")] = None,
) -> None:
    """Export your organisation's reports (every report exported is recorded in the audit trail)."""
    from accord.services import exports
    from accord.services.filters import report_filter

    node = _node(ctx)
    utc = [
        d.replace(tzinfo=UTC) if d is not None and d.tzinfo is None else d for d in (received_after, received_before)
    ]
    with reporting():
        actor = admin.authenticate(node, key)
        f = report_filter(
            node.vocab,
            lambda name: "--" + name.replace("_", "-"),
            received_after=utc[0],
            received_before=utc[1],
            incident_type=incident_type,
            urgency=urgency,
            urgent=urgent,
            source=source,
        )
    with (
        reporting(str(out_file)),
        files.counting_progress(None, err, f"exporting {format}") as advance,
        files.replacing(out_file) as partial,
        partial.open("wb") as fh,
    ):
        n = exports.export(node, actor, format, f, fh, agreement_id=agreement, progress=advance)
    out.print(f"{n} reports written to {out_file}")


@app.command()
def simulate(
    seed: Annotated[int, typer.Option(help="seed: the same seed gives the same world")] = 1,
    reports: Annotated[int, typer.Option(help="how many reports to generate")] = 2000,
    out_dir: Annotated[Path, typer.Option("--out", help="directory for reports.ndjson and truth.json")] = Path("sim"),
    noise: Annotated[
        float, typer.Option(min=0.1, max=2.0, help="identifier noise: 1.0 default, 0.5 cleaner, 2.0 harder")
    ] = 1.0,
) -> None:
    """Generate a synthetic world (neutral codes only) with its ground truth."""
    from accord.simulate import generate

    with files.counting_progress(reports, err, "generating") as advance:
        summary = generate(seed, reports, out_dir, progress=advance, noise=noise)
    out.print(f"wrote {summary.reports} reports to {out_dir}")


@app.command()
def demo(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="world seed")] = 7,
    reports: Annotated[int, typer.Option(help="reports in the demo world")] = 2000,
    port: Annotated[int, typer.Option(help="port to serve on")] = 8000,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the API after loading")] = True,
    nodes: Annotated[int, typer.Option(help="1, or 3 federated nodes on ports PORT, PORT+1, PORT+2")] = 1,
) -> None:
    """Set up a fresh demo node, load a synthetic world into it and serve it."""
    from accord.cli.demo import run_demo

    settings: Settings = ctx.obj
    if nodes not in (1, 3):
        raise fail("--nodes is 1 (one node) or 3 (a platform, a hotline and a police agency, federated)")
    if nodes == 3:
        from accord.cli.demo_nodes import run_federation_demo

        with reporting():
            run_federation_demo(settings, seed, reports, port, serve_api, out, err)
        return
    with reporting():
        node, lines = run_demo(settings, seed, reports, out, err)
    for line in lines:
        out.print(line)
    if serve_api:
        import uvicorn

        from accord.api.app import create_app

        out.print(f"serving on http://127.0.0.1:{port}/docs  (Ctrl-C to stop)")
        uvicorn.run(create_app(node), host="127.0.0.1", port=port, log_level="warning")
