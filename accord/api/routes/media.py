"""/v1/media: exact search by one media hash (md5, sha256 or PDQ as hex, any case)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.api.routes.identifiers import Hits
from accord.errors import Invalid
from accord.model.media import Media
from accord.model.parse import parse_obj
from accord.services import reports as service

router = APIRouter(prefix="/v1/media", tags=["media"])


class MediaHits(Hits):
    """Reports holding a medium with this hash, and the organisation's record of the hash."""


@router.get("", response_model=MediaHits)
def search(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    md5: str | None = Query(default=None, pattern="^[0-9a-fA-F]{32}$"),
    sha256: str | None = Query(default=None, pattern="^[0-9a-fA-F]{64}$"),
    pdq: str | None = Query(default=None, pattern="^[0-9a-fA-F]{64}$", description="exact PDQ hash"),
    limit: int = Query(default=100, ge=1, le=500),
) -> MediaHits:
    given = {k: v for k, v in (("md5", md5), ("sha256", sha256), ("pdq", pdq)) if v is not None}
    if len(given) != 1:
        message = "give exactly one of md5, sha256, pdq"
        raise Invalid(message, {f"?{k}": message for k in given or ("md5", "sha256", "pdq")})
    medium = parse_obj(Media, given)
    return MediaHits.of(service.search_media(node, actor, medium, limit, rid))
