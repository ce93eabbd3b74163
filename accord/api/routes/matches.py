"""/v1/reports/{id}/matches and /v1/matches/{id}/verdict: an organisation's recorded matches and its
verdicts on them (docs/matching.md, "Verdicts and flags")."""

from __future__ import annotations

from fastapi import APIRouter

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.verdict import MatchRecord, VerdictIn
from accord.services import verdicts

router = APIRouter(prefix="/v1", tags=["banks"])


@router.get("/reports/{report_id}/matches", response_model=list[MatchRecord])
def report_matches(report_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> list[MatchRecord]:
    """The bank matches recorded for one of the organisation's reports, with their verdicts."""
    return verdicts.report_matches(node, actor, report_id, rid)


@router.post("/matches/{match_id}/verdict", response_model=MatchRecord)
def record_verdict(match_id: int, body: VerdictIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> MatchRecord:
    """Say whether a match was right: confirmed, false_positive or not_actionable (with a note code). A changed
    verdict is kept as history; the entry's bank owner sees counts only."""
    return verdicts.record_verdict(node, actor, match_id, body, rid)
