"""/v1/import (an upload that becomes a job), /v1/jobs/{id} (its progress), /v1/export (a download)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from accord import plugins
from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.api.routes.reports import ReportFilterDep
from accord.errors import Invalid
from accord.model.job import Job
from accord.services import exports, jobs

router = APIRouter(tags=["import and export"])

_UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _mapping(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid.at("?mapping", f"not valid YAML or JSON ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict):
        raise Invalid.at("?mapping", "a column mapping must be an object")
    return doc


@router.post("/v1/import", status_code=202, response_model=Job, openapi_extra=_UPLOAD)
async def start_import(
    request: Request,
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    format: Annotated[str | None, Query(description="native|csv|ncmec|stix|ftm|case; detected when omitted")] = None,
    name: Annotated[str, Query(max_length=200, description="the file's name, kept with the job")] = "upload",
    source: Annotated[str | None, Query(description="source code for formats that carry none")] = None,
    service: Annotated[
        str | None, Query(max_length=200, description="your service's name where the format has none (NCMEC)")
    ] = None,
    mapping: Annotated[str | None, Query(max_length=65536, description="CSV column mapping, YAML or JSON")] = None,
) -> JSONResponse:
    """Upload a file in any import format (gzip and one-file zip accepted). The body is stored, a job is
    queued and its id returned at once; follow it at ``Location``."""
    if format is not None:
        plugins.importer(format)  # an unknown format is refused before the upload is read
    if source is not None and source not in node.vocab.sources:
        raise Invalid.at("?source", f"unknown sources code {source!r}")
    params = {"format": format, "source": source, "service": service, "mapping": _mapping(mapping)}
    job_id, path = await run_in_threadpool(jobs.new_import, node, actor, rid)
    try:
        with path.open("wb") as fh:
            async for piece in request.stream():
                fh.write(piece)
    except BaseException:
        path.unlink(missing_ok=True)  # a broken or oversized upload leaves no job and no file
        raise
    safe_name = re.sub(r"[^\w.\-]+", "_", name)[:200] or "upload"
    job = await run_in_threadpool(jobs.queue_import, node, actor, job_id, name=safe_name, params=params, request_id=rid)
    runner = getattr(request.app.state, "jobs", None)
    if runner is not None:
        runner.wake()
    return JSONResponse(job.model_dump(mode="json"), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.get("/v1/jobs/{job_id}", response_model=Job)
def get_job(job_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Job:
    return jobs.get(node, actor, job_id, rid)


@router.get("/v1/export", response_class=StreamingResponse)
def export_reports(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    f: ReportFilterDep,
    format: Annotated[str, Query(description="native|csv|stix|ftm|case|dsa")],
    agreement_id: Annotated[str | None, Query(max_length=64, description="agreement to mark the export with")] = None,
) -> StreamingResponse:
    """The organisation's reports matching the filters, in the chosen format (every report read is audited)."""
    exporter = plugins.exporter(format)
    # large exports go to disk, not memory; the response body below owns and closes the file
    spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115
    try:
        exports.export(node, actor, format, f, spool, agreement_id=agreement_id, request_id=rid)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)

    def body() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(1 << 16):
                yield chunk

    return StreamingResponse(
        body(),
        media_type=exporter.media_type,
        headers={"Content-Disposition": f'attachment; filename="accord-export{exporter.suffix}"'},
    )
