"""/v1/deconfliction: runs toward a peer, their results and alerts, and the peer-facing PSI endpoint.

The peer-facing endpoint takes no API key: the envelope's signature, by a trusted peer's key, under an
agreement whose purposes include deconfliction, is its credential (docs/federation.md, "Deconfliction
between nodes"). It answers 200 with a signed envelope (the PSI reply) or a signed receipt (after the
finish message), or a refusal as problem+json with the signed refusal receipt: 429 for the rate limit.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.api.limits import peer_body
from accord.api.problems import problem
from accord.model.deconfliction import DeconflictionAlert, DeconflictionIn, DeconflictionRun
from accord.services import deconfliction as service
from accord.store.deconfliction import Run

__all__ = ["router"]

router = APIRouter(tags=["deconfliction"])

_OPENAPI_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "a DSSE envelope"}}},
    }
}


def _run(run: Run) -> DeconflictionRun:
    fields = asdict(run)
    fields.pop("session")
    return DeconflictionRun.model_validate(fields)


@router.post("/v1/deconfliction/runs", status_code=201, response_model=DeconflictionRun)
async def start_run(body: DeconflictionIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> DeconflictionRun:
    """Ask a trusted peer which of the organisation's identifiers or hashes it holds too (private set
    intersection), or which of its PDQ hashes have a near duplicate there (set ``pdq``); the answer is the
    stored run, with the overlap and its reference number."""
    run = await service.start(
        node,
        actor,
        peer=body.peer,
        kind=body.set,
        mode=body.mode,
        agreement_id=body.agreement_id,
        threshold=body.threshold,
        request_id=rid,
    )
    return _run(run)


@router.get("/v1/deconfliction/runs", response_model=list[DeconflictionRun])
def list_runs(actor: CurrentActor, node: NodeDep, rid: RequestId) -> list[DeconflictionRun]:
    """The organisation's runs, started here or answered for a peer, newest first."""
    return [_run(r) for r in service.list_runs(node, actor, rid)]


@router.get("/v1/deconfliction/runs/{deconfliction_id}", response_model=DeconflictionRun)
def get_run(deconfliction_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> DeconflictionRun:
    """One run of the organisation's."""
    return _run(service.get_run(node, actor, deconfliction_id, rid))


@router.get("/v1/deconfliction/alerts", response_model=list[DeconflictionAlert])
def list_alerts(actor: CurrentActor, node: NodeDep, rid: RequestId) -> list[DeconflictionAlert]:
    """Deconfliction alerts: reference, the two organisations, the agreement and the count, newest first."""
    return [DeconflictionAlert.model_validate(asdict(a)) for a in service.list_alerts(node, actor, rid)]


@router.post(service.PATH, response_class=Response, openapi_extra=_OPENAPI_BODY)
async def envelopes(request: Request, node: NodeDep, rid: RequestId) -> Response:
    """A peer's PSI envelope (offer, PDQ candidates, or finish); within the sender's inbox rate (else 429,
    as the federation inbox endpoints)."""
    raw = await peer_body(request, node, rid)
    out = await run_in_threadpool(service.answer, node, raw, rid)
    if out.refused is None:
        return Response(out.body, media_type="application/json")
    r = out.refused
    return problem(
        out.status, r.code, r.title, r.detail, request, reason=r.reason, clause=r.clause, receipt=out.body.decode()
    )
