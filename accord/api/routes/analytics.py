"""/v1/analytics: analyses of the organisation's reports run as jobs, their stored results (JSON, GraphML
for a network) and the graph view (docs/analytics.md, "Running analyses on a node")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.api.graph_view import select_elements, view_page
from accord.errors import Invalid
from accord.graph.analysis import network_graphml
from accord.model.analytics import AnalysisKind, AnalyticsRun, RunIn
from accord.services import analytics as service

__all__ = ["router"]

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])
STATIC = Path(__file__).resolve().parent.parent / "static"
GRAPHML = "application/graphml+xml"


@router.post("/runs", status_code=202, response_model=AnalyticsRun)
async def start_run(body: RunIn, request: Request, actor: CurrentActor, node: NodeDep, rid: RequestId) -> JSONResponse:
    """Queue an analysis (network, communities, keyplayers or timeline) of the organisation's reports;
    follow it at ``Location``."""
    run = await run_in_threadpool(service.start, node, actor, body, rid)
    runner = getattr(request.app.state, "jobs", None)
    if runner is not None:
        runner.wake()
    return JSONResponse(
        run.model_dump(mode="json"), status_code=202, headers={"Location": f"/v1/analytics/runs/{run.id}"}
    )


@router.get("/runs", response_model=list[AnalyticsRun])
def list_runs(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    kind: Annotated[str | None, Query(max_length=40, description="only runs of this analysis")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[AnalyticsRun]:
    """The organisation's runs, newest first."""
    return service.list_runs(node, actor, kind, limit, rid)


@router.get("/runs/{run_id}", response_model=AnalyticsRun)
def get_run(run_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> AnalyticsRun:
    """A run's status and progress."""
    return service.get(node, actor, run_id, rid)


@router.get(
    "/runs/{run_id}/result",
    responses={200: {"content": {"application/json": {}, GRAPHML: {}}}},
)
def get_result(
    run_id: str,
    request: Request,
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    format: Annotated[
        Literal["json", "graphml"] | None, Query(description="or Accept: application/graphml+xml")
    ] = None,
) -> Response:
    """A succeeded run's result with the run (its parameters and data version) and whether it is stale;
    a network run also as GraphML."""
    wanted = format or ("graphml" if GRAPHML in request.headers.get("accept", "") else "json")
    found = service.result(node, actor, run_id, rid, wanted)
    if wanted == "graphml":
        if found.run.kind != AnalysisKind.network:
            raise Invalid.at("?format", f"GraphML is for network runs; this is a {found.run.kind.value} run")
        return Response(
            network_graphml(found.doc),
            media_type=GRAPHML,
            headers={"Content-Disposition": f'attachment; filename="{found.run.id}.graphml"'},
        )
    body: dict[str, Any] = {"run": found.run.model_dump(mode="json"), "stale": found.stale, "result": found.doc}
    return JSONResponse(body)


@router.get("/runs/{run_id}/view", response_class=HTMLResponse)
def view_run(
    run_id: str,
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    communities: Annotated[str | None, Query(max_length=64, description="communities run to colour by")] = None,
    keyplayers: Annotated[str | None, Query(max_length=64, description="key-players run to mark")] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="draw at most this many entities")] = 500,
) -> HTMLResponse:
    """The network of a network run drawn with Cytoscape.js: communities coloured, key players marked
    (the runs named, or the newest of each on the same data version)."""
    data = service.view_data(node, actor, run_id, communities, keyplayers, rid)
    drawn = select_elements(data.network.doc, data.communities, data.keyplayers, limit)
    sources = {
        "communities": data.communities_run,
        "key players": data.keyplayers_run,
    }
    return HTMLResponse(view_page(run_id, drawn, data.network.stale, sources))


@router.get("/static/cytoscape.min.js", include_in_schema=False)
def cytoscape_js() -> FileResponse:
    """Cytoscape.js 3.30.4 (MIT; its licence is ``cytoscape.LICENSE`` beside it), served by the node."""
    return FileResponse(STATIC / "cytoscape.min.js", media_type="text/javascript")
