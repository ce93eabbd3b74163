"""Federation between nodes: the node's public identity, and the inbox for peers' signed envelopes.

The inbox takes no API key: the envelope's signature, by a key of a trusted peer, is its credential.
Every answer carries the receipt this node signed (docs/federation.md): the body itself when the
envelope is accepted, the ``receipt`` member of the problem when it is refused. Each sending peer (each
client address, for a sender that is no trusted peer) is held to a rate over these endpoints and the
deconfliction one together: over it, 429 problem+json with ``Retry-After`` (``accord.services.inbox``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from accord.api.deps import NodeDep, RequestId
from accord.api.limits import peer_body
from accord.api.problems import problem
from accord.services import federation, sync

router = APIRouter(tags=["federation"])

_OPENAPI_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "a DSSE envelope"}}},
    }
}


@router.get("/v1/federation/identity", response_class=Response)
def identity(node: NodeDep) -> Response:
    """This node's identity document: its node id and every key it published, with their windows (public)."""
    return Response(federation.identity_document(node), media_type="application/json")


@router.post(federation.INBOX_PATH, response_class=Response, openapi_extra=_OPENAPI_BODY)
async def inbox(request: Request, node: NodeDep, rid: RequestId) -> Response:
    """A peer's signed envelope: 200 with the signed receipt, or 403 problem+json naming the reason (and the
    agreement clause) with the signed refusal receipt. Nothing is stored for a refused envelope."""
    raw = await peer_body(request, node, rid)
    answer = await run_in_threadpool(federation.receive, node, raw, rid)
    if answer.refused is None:
        return Response(answer.receipt, media_type="application/json")
    r = answer.refused
    return problem(
        403, r.code, r.title, r.detail, request, reason=r.reason, clause=r.clause, receipt=answer.receipt.decode()
    )


@router.post(sync.FEED_PATH, response_class=Response, openapi_extra=_OPENAPI_BODY)
async def feed(request: Request, node: NodeDep, rid: RequestId) -> Response:
    """A peer's signed pull request (``sync.pull``, after a cursor): 200 with the next batch of the agreement's
    feed as a signed envelope, or 403 problem+json naming the reason with the signed refusal receipt."""
    raw = await peer_body(request, node, rid)
    served = await run_in_threadpool(sync.serve_pull, node, raw, rid)
    if served.batch is not None:
        return Response(served.batch, media_type="application/json")
    r, answer = served.refused, served.receipt
    assert r is not None and answer is not None
    return problem(403, r.code, r.title, r.detail, request, reason=r.reason, clause=r.clause, receipt=answer.decode())


@router.post(sync.RECEIPTS_PATH, status_code=204, response_class=Response, openapi_extra=_OPENAPI_BODY)
async def receipts(request: Request, node: NodeDep, rid: RequestId) -> Response:
    """A peer's signed receipt for a batch this node served: 204 once kept (again: 204, nothing changes);
    422 if it does not verify or names no batch sent to its signer."""
    raw = await peer_body(request, node, rid)
    await run_in_threadpool(sync.accept_receipt, node, raw, rid)
    return Response(status_code=204)
