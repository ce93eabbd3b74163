"""/v1/retention/rules: how long the organisation keeps each category of data (docs/retention.md)."""

from __future__ import annotations

from fastapi import APIRouter

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.retention import RetentionRules, RetentionRulesIn
from accord.services import retention as service

router = APIRouter(prefix="/v1/retention", tags=["retention"])


@router.get("/rules", response_model=RetentionRules)
def read_rules(actor: CurrentActor, node: NodeDep, rid: RequestId) -> RetentionRules:
    """The organisation's rules, and the retention caps of the agreements it is party to."""
    return service.get_rules(node, actor, rid)


@router.put("/rules", response_model=RetentionRules)
def replace_rules(body: RetentionRulesIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> RetentionRules:
    """Replace the organisation's rules (an admin): a rule not in the body is removed. Expired data is then
    purged by the node's next retention run."""
    return service.set_rules(node, actor, body, rid)
