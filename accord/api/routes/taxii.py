"""/taxii2/: a TAXII 2.1 server with one API root whose collections are the caller's agreements
(docs/federation.md, "TAXII 2.1"; the content is ``accord.services.taxii``'s).

Media types as TAXII 2.1 says: every answer is ``application/taxii+json;version=2.1``; a request whose
Accept names no TAXII 2.1 type (nor a wildcard) is a 406, an add whose body is not TAXII 2.1 a 415.
Errors are TAXII error messages (``accord.api.problems`` writes them for every path under /taxii2/).
Authentication is the API's: a Bearer key or session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.errors import AccordError, Invalid, NotFound
from accord.services import taxii as service

__all__ = ["API_ROOT", "TAXII", "router"]

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
API_ROOT = "accord"
ROOT = f"/{API_ROOT}"


class NotAcceptable(AccordError):
    status = 406
    code = "not-acceptable"
    title = "Not acceptable"


class UnsupportedMediaType(AccordError):
    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"


def _media(value: str) -> tuple[str, dict[str, str]]:
    kind, *params = (p.strip() for p in value.split(";"))
    named = dict(p.split("=", 1) for p in params if "=" in p)
    return kind.lower(), {k.strip().lower(): v.strip().strip('"') for k, v in named.items()}


def _taxii_type(value: str, kinds: tuple[str, ...]) -> bool:
    kind, params = _media(value)
    return kind in kinds and params.get("version", "2.1") == "2.1"


def accepts_taxii(request: Request) -> None:
    """406 unless the Accept header allows TAXII 2.1 (absent, a wildcard, or the type itself)."""
    header = request.headers.get("accept")
    if not header:
        return
    for part in header.split(","):
        kind, _ = _media(part)
        if kind in ("*/*", "application/*") or _taxii_type(part, ("application/taxii+json",)):
            return
    raise NotAcceptable(f"this server answers {TAXII}, which the Accept header ({header}) does not allow")


router = APIRouter(prefix="/taxii2", tags=["taxii"], dependencies=[Depends(accepts_taxii)])


def _answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=TAXII, headers=headers)


def _collection(c: service.Collection) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": f"Agreement {c.id}",
        "description": f"What the parties share under agreement {c.id}, at most TLP:{c.max_marking}",
        "alias": c.id,
        "can_read": True,
        "can_write": True,
        "media_types": [STIX],
    }


@router.get("/")
def discovery(actor: CurrentActor, request: Request) -> Response:
    """TAXII discovery: this server's one API root."""
    base = str(request.url_for("api_root"))
    return _answer(
        {
            "title": "Accord TAXII 2.1",
            "description": "Collections per sharing agreement",
            "default": base,
            "api_roots": [base],
        }
    )


@router.get(f"{ROOT}/", name="api_root")
def api_root(actor: CurrentActor, node: NodeDep) -> Response:
    return _answer(
        {
            "title": "Accord",
            "description": "One collection per agreement your organisation is party to",
            "versions": [TAXII],
            "max_content_length": node.settings.max_body_bytes,
        }
    )


@router.get(f"{ROOT}/collections/")
def list_collections(actor: CurrentActor, node: NodeDep, rid: RequestId) -> Response:
    return _answer({"collections": [_collection(c) for c in service.collections(node, actor, rid)]})


@router.get(f"{ROOT}/collections/{{collection_id}}/")
def get_collection(collection_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Response:
    return _answer(_collection(service.collection(node, actor, collection_id, rid)))


def _filters(request: Request) -> tuple[list[str], list[str]]:
    def values(name: str) -> list[str]:
        return [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]

    return values("match[type]"), values("match[id]")


def _time(value: str | None, name: str) -> datetime | None:
    return service.parse_time(value, name) if value else None


def _page_headers(page: service.Page) -> dict[str, str]:
    out = {}
    if page.first is not None and page.last is not None:
        out["X-TAXII-Date-Added-First"] = service.taxii_time(page.first)
        out["X-TAXII-Date-Added-Last"] = service.taxii_time(page.last)
    return out


Limit = Annotated[int | None, Query(description="at most this many objects (the server caps it at 1000)")]
AddedAfter = Annotated[str | None, Query(description="only objects added after this time")]
Next = Annotated[str | None, Query(description="the 'next' of the previous page")]


def _page(
    request: Request,
    node: Any,
    actor: Any,
    rid: str,
    collection_id: str,
    limit: int | None,
    added_after: str | None,
    next: str | None,
    *,
    manifest: bool = False,
    object_id: str | None = None,
) -> service.Page:
    types, ids = _filters(request)
    return service.objects(
        node,
        actor,
        collection_id,
        added_after=_time(added_after, "added_after"),
        limit=limit,
        next_token=next,
        types=types,
        ids=[object_id] if object_id else ids,
        manifest=manifest,
        request_id=rid,
    )


def _envelope(page: service.Page, key: str, items: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        out["next"] = page.next
    if items:
        out[key] = items
    return out


@router.get(f"{ROOT}/collections/{{collection_id}}/objects/")
def get_objects(
    collection_id: str,
    request: Request,
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    limit: Limit = None,
    added_after: AddedAfter = None,
    next: Next = None,
) -> Response:
    """The collection's objects, oldest added first, in pages (``limit``, ``next``, ``added_after``,
    ``match[type]``, ``match[id]``)."""
    page = _page(request, node, actor, rid, collection_id, limit, added_after, next)
    return _answer(_envelope(page, "objects", page.objects), headers=_page_headers(page))


@router.get(f"{ROOT}/collections/{{collection_id}}/objects/{{object_id}}/")
def get_object(
    collection_id: str,
    object_id: str,
    request: Request,
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    limit: Limit = None,
    added_after: AddedAfter = None,
    next: Next = None,
) -> Response:
    page = _page(request, node, actor, rid, collection_id, limit, added_after, next, object_id=object_id)
    if not page.objects and not added_after and not next:
        raise NotFound(f"no object {object_id} in this collection")
    return _answer(_envelope(page, "objects", page.objects), headers=_page_headers(page))


@router.get(f"{ROOT}/collections/{{collection_id}}/manifest/")
def get_manifest(
    collection_id: str,
    request: Request,
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    limit: Limit = None,
    added_after: AddedAfter = None,
    next: Next = None,
) -> Response:
    page = _page(request, node, actor, rid, collection_id, limit, added_after, next, manifest=True)
    records = [
        {"id": o["id"], "date_added": service.taxii_time(at), "version": v, "media_type": STIX}
        for o, at, v in zip(page.objects, page.added, page.versions, strict=True)
    ]
    return _answer(_envelope(page, "objects", records), headers=_page_headers(page))


@router.post(f"{ROOT}/collections/{{collection_id}}/objects/", status_code=202)
async def add_objects(
    collection_id: str, request: Request, actor: CurrentActor, node: NodeDep, rid: RequestId
) -> Response:
    """Add objects (a TAXII envelope): read by the STIX importer, stored under the agreement; the answer
    is the status resource, complete."""
    kind = request.headers.get("content-type", "")
    if not _taxii_type(kind, ("application/taxii+json",)):
        raise UnsupportedMediaType(f"send the objects as {TAXII}, not {kind or 'no content type'}")
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid.at("", f"malformed JSON: {exc}") from None
    resource = await run_in_threadpool(service.add_objects, node, actor, collection_id, body, rid)
    return _answer(resource, status=202)


@router.get(f"{ROOT}/status/{{status_id}}/")
def get_status(status_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Response:
    return _answer(service.status(node, actor, status_id, rid))
