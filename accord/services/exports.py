"""Exporting an organisation's reports in any registered format, every exported report audited and logged
in custody."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

from accord import plugins
from accord.custody.entry import CustodyAction
from accord.intake.formats import ExportContext
from accord.model.organisation import Actor
from accord.model.report import Report
from accord.safeguards.policy import Action
from accord.services.audit import authorize, draft
from accord.services.custody import record_reports
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import orgs as org_store
from accord.store import reports as store
from accord.store.reports import ReportFilter

__all__ = ["export"]

PAGE = 1000


def _pages(node: Node, actor: Actor, f: ReportFilter, fmt: str, request_id: str | None) -> Iterator[list[Report]]:
    """Pages of reports, each page's read recorded in the same transaction that read it: an "exported" custody
    leaf per report, then the audit event with the page's ids."""
    after: str | None = None
    while True:
        with node.db.write() as conn:
            page = store.page(conn, actor, f, after, PAGE)
            if page:
                record_reports(node, conn, actor, CustodyAction.EXPORTED, page, {"format": fmt})
                audit_store.append(
                    conn,
                    [
                        draft(
                            node,
                            actor,
                            "report.export",
                            "report",
                            request_id=request_id,
                            detail={"format": fmt, "ids": [r.id for r in page]},
                        )
                    ],
                )
        if not page:
            return
        yield page
        after = page[-1].id


def export(
    node: Node,
    actor: Actor,
    fmt: str,
    f: ReportFilter,
    out: IO[bytes],
    *,
    agreement_id: str | None = None,
    request_id: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the caller's organisation's reports matching ``f`` to ``out`` in format ``fmt``."""
    authorize(node, actor, Action.report_export, request_id)
    exporter = plugins.exporter(fmt)
    with node.db.read() as conn:
        org = org_store.org_by_id(conn, actor.org_id)
    context = ExportContext(org_id=org.id, org_name=org.name, generated_at=node.clock.now(), agreement_id=agreement_id)
    done = 0

    def reports() -> Iterator[Report]:
        nonlocal done
        for page in _pages(node, actor, f, fmt, request_id):
            yield from page
            done += len(page)
            if progress:
                progress(done)

    return exporter.write(reports(), out, context)
