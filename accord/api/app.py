"""The application factory: everything the API needs is handed in, nothing is a module global."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from accord import __version__
from accord.api import problems
from accord.api.limits import BodyLimit, RequestIds
from accord.api.routes import (
    admin,
    agreements,
    analytics,
    audit,
    banks,
    cases,
    custody,
    federation,
    identifiers,
    match,
    matches,
    media,
    meta,
    reports,
    retention,
    reviews,
    transfer,
)
from accord.api.routes.case_refs import router as case_refs_router
from accord.api.routes.deconfliction import router as deconfliction_router
from accord.api.routes.peers import router as peers_router
from accord.api.routes.people import router as people_router
from accord.api.routes.requests import router as requests_router
from accord.api.routes.sealing import router as sealing_router
from accord.api.routes.sessions import router as sessions_router
from accord.api.routes.taxii import router as taxii_router
from accord.services.jobs import JobRunner
from accord.services.node import Node
from accord.services.retention import RetentionRunner

__all__ = ["create_app"]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The job runner lives as long as the app serves (imports uploaded through /v1/import run there), and
    so does the retention runner, unless ``ACCORD_RETENTION_INTERVAL_SECONDS`` is 0."""
    node: Node = app.state.node
    runner = JobRunner(node) if app.state.run_jobs else None
    interval = node.settings.retention_interval_s
    purger = RetentionRunner(node, interval) if app.state.run_jobs and interval > 0 else None
    for started in (runner, purger):
        if started is not None:
            started.start()
    app.state.jobs = runner
    app.state.retention = purger
    try:
        yield
    finally:
        for started in (purger, runner):
            if started is not None:
                started.stop()


def create_app(node: Node, *, run_jobs: bool = True) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="Accord node API",
        version=__version__,
        description=(
            "Reports, cases, identifiers, organisations, credentials, the audit trail and the custody log "
            "of one Accord node."
        ),
    )
    app.state.node = node
    app.state.run_jobs = run_jobs
    problems.install(app)
    for module in (
        meta,
        reports,
        transfer,
        cases,
        identifiers,
        media,
        admin,
        audit,
        custody,
        retention,
        banks,
        match,
        matches,
        reviews,
        analytics,
        federation,
        agreements,
    ):
        app.include_router(module.router)
    app.include_router(sessions_router)
    app.include_router(people_router)
    app.include_router(sealing_router)
    app.include_router(taxii_router)
    app.include_router(deconfliction_router)
    app.include_router(case_refs_router)
    app.include_router(requests_router)
    app.include_router(peers_router)

    app.add_middleware(RequestIds, ids=node.ids)
    app.add_middleware(BodyLimit, default=node.settings.max_body_bytes, bulk=node.settings.max_bulk_bytes)
    return app
