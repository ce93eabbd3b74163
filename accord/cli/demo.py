"""``accord demo``: a fresh node with a synthetic world loaded, ready to explore."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from accord.cli.files import counting_progress
from accord.errors import Conflict
from accord.intake.formats import ImportOptions
from accord.intake.importers.native import numbered_lines
from accord.model.organisation import ActorKind, CredentialIn, OrganisationIn, OrgKind, Role
from accord.services import admin
from accord.services import reports as report_service
from accord.services.node import Node, open_node
from accord.settings import Settings

__all__ = ["run_demo"]

MARKER = ".accord-demo"


def _fresh_dir(settings: Settings) -> Settings:
    """Demo data lives in its own directory, wiped on each run; a directory that holds anything else is refused."""
    root = settings.data_dir if settings.data_dir != Path("accord-data") else Path("accord-demo")
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise Conflict(f"{root} holds data that is not a demo's; choose another --data-dir")
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("created by `accord demo`; deleted and rebuilt by the next demo run\n")
    return replace(
        settings,
        data_dir=root,
        database_url=f"sqlite:///{root / 'accord.db'}",
        seal_key_file=root / "keys" / "seal.key",
    )


def run_demo(settings: Settings, seed: int, reports: int, out: Console, err: Console) -> tuple[Node, list[str]]:
    import orjson

    from accord.simulate import generate
    from accord.simulate.transfer_reports import transfer_reports

    settings = _fresh_dir(settings)
    node = open_node(settings)
    org, admin_key = admin.bootstrap(node, OrganisationIn(name="Demo Hotline", kind=OrgKind.hotline, jurisdiction="NL"))
    analyst = admin.create_credential_local(
        node, org.id, CredentialIn(name="demo analyst", kind=ActorKind.user, roles=[Role.analyst, Role.investigator])
    )
    auditor = admin.create_credential_local(
        node, org.id, CredentialIn(name="demo auditor", kind=ActorKind.user, roles=[Role.auditor])
    )
    world = settings.data_dir / "world"
    with counting_progress(reports, err, "generating world") as advance:
        generate(seed, reports, world, progress=advance)
    actor = admin.authenticate(node, analyst.token)
    options = ImportOptions(name="reports.ndjson", max_line_bytes=settings.max_body_bytes)
    with counting_progress(reports, err, "ingesting reports") as advance, (world / "reports.ndjson").open("rb") as fh:
        result = report_service.ingest_lines(
            node, actor, numbered_lines(fh, options), on_batch=lambda r: advance(r.lines)
        )
    # the world's money moves as a financial-intelligence partner's reports, so money runs have transfers
    with (world / "transfers.ndjson").open("rb") as fh:
        docs = transfer_reports(orjson.loads(line) for line in fh if line.strip())
        carried = [(i, orjson.dumps(doc)) for i, doc in enumerate(docs, 1)]
    with counting_progress(len(carried), err, "ingesting transfers") as advance:
        money = report_service.ingest_lines(node, actor, iter(carried), on_batch=lambda r: advance(r.lines))
    lines = [
        f"demo node ready: {result.accepted} reports from a synthetic world (seed {seed}) in {settings.data_dir}",
        f"money:        {money.accepted} partner reports carrying the world's transfers (accord analyze money --org)",
        f"ground truth: {world / 'truth.json'}",
        f"organisation: {org.id}",
        f"admin key:    {admin_key.token}",
        f"analyst key:  {analyst.token}",
        f"auditor key:  {auditor.token}",
        f"try: curl -H 'Authorization: Bearer {analyst.token}' 'http://127.0.0.1:8000/v1/reports?urgent=true&limit=5'",
    ]
    return node, lines
