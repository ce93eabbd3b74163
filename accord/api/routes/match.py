"""/v1/match: match a batch of hashes, URLs or vPDQ frame lists, or one uploaded image, against the banks
the organisation sees (docs/matching.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.errors import Invalid
from accord.model.bank import ImageHashes, MatchIn, MatchResult
from accord.model.parse import parse_json
from accord.services import matching

router = APIRouter(prefix="/v1", tags=["banks"])

MAX_IMAGE_BYTES = 50 * 1024 * 1024
"""An uploaded image's largest size (its decoded canvas has its own limit: accord.signals.images)."""


class MatchOut(BaseModel):
    results: list[MatchResult]
    videos: list[MatchResult] = []
    image: ImageHashes | None = None


_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": MatchIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "format": "binary", "description": "a benign image file"},
                        "banks": {"type": "array", "items": {"type": "string"}, "description": "bank ids"},
                    },
                }
            },
        },
    }
}


@router.post("/match", response_model=MatchOut, response_model_exclude_none=True, openapi_extra=_BODY)
async def match(request: Request, actor: CurrentActor, node: NodeDep, rid: RequestId) -> MatchOut:
    """Per hash, in order, every entry it matches: bank, entry, distance, threshold and bank version; per
    video (a vPDQ frame list), every vPDQ entry with the match percentages. A hash that matches nothing has
    no matches (not an error); a malformed one refuses the request. Or, as multipart/form-data, one image
    (field ``image``): hashed with PDQ, MD5 and SHA-256 and matched as those three hashes."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _image(request, actor, node, rid)
    body = parse_json(MatchIn, await request.body())
    found = await run_in_threadpool(matching.match, node, actor, body, rid)
    return MatchOut(results=found[: len(body.hashes)], videos=found[len(body.hashes) :])


async def _image(request: Request, actor: CurrentActor, node: NodeDep, rid: RequestId) -> MatchOut:
    async with request.form(max_files=1, max_fields=100) as form:
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise Invalid.at("/image", "send the image as a file in the form field 'image'")
        data = await upload.read(MAX_IMAGE_BYTES + 1)
        banks = [b for b in form.getlist("banks") if isinstance(b, str)] or None
    if len(data) > MAX_IMAGE_BYTES:
        raise Invalid.at("/image", f"an image of at most {MAX_IMAGE_BYTES:,} bytes")
    hashes = await run_in_threadpool(matching.image_hashes, data)
    found = await run_in_threadpool(matching.match, node, actor, matching.image_query(hashes, banks), rid)
    return MatchOut(results=found, image=hashes)
