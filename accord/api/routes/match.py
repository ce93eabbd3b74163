"""/v1/match: match a batch of hashes or URLs against the banks the organisation sees (docs/matching.md)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.bank import MatchIn, MatchResult
from accord.services import matching

router = APIRouter(prefix="/v1", tags=["banks"])


class MatchOut(BaseModel):
    results: list[MatchResult]


@router.post("/match", response_model=MatchOut)
def match(body: MatchIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> MatchOut:
    """Per hash, in order, every entry it matches: bank, entry, distance, threshold and bank version.
    A hash that matches nothing has no matches (not an error); a malformed one refuses the request."""
    return MatchOut(results=matching.match(node, actor, body, rid))
