"""The application factory: everything the API needs is handed in, nothing is a module global."""

from __future__ import annotations

from fastapi import FastAPI

from accord import __version__
from accord.api import problems
from accord.api.limits import BodyLimit, RequestIds
from accord.api.routes import admin, audit, cases, identifiers, meta, reports
from accord.services.node import Node

__all__ = ["create_app"]


def create_app(node: Node) -> FastAPI:
    app = FastAPI(
        title="Accord node API",
        version=__version__,
        description="Reports, cases, identifiers, organisations, credentials and the audit trail of one Accord node.",
    )
    app.state.node = node
    problems.install(app)
    for module in (meta, reports, cases, identifiers, admin, audit):
        app.include_router(module.router)

    app.add_middleware(RequestIds, ids=node.ids)
    app.add_middleware(BodyLimit, default=node.settings.max_body_bytes, bulk=node.settings.max_bulk_bytes)
    return app
