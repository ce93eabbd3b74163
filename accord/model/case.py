"""Cases group reports into an investigation led by one organisation."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from accord.ids import CaseId, OrgId, ReportId
from accord.model.base import Inbound, Outbound

__all__ = ["TRANSITIONS", "Case", "CaseIn", "CaseStatus", "CaseUpdate", "LinkReports"]


class CaseStatus(StrEnum):
    open = "open"
    active = "active"
    suspended = "suspended"
    closed = "closed"


TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.open: frozenset({CaseStatus.active, CaseStatus.suspended, CaseStatus.closed}),
    CaseStatus.active: frozenset({CaseStatus.suspended, CaseStatus.closed}),
    CaseStatus.suspended: frozenset({CaseStatus.active, CaseStatus.closed}),
    CaseStatus.closed: frozenset({CaseStatus.active}),  # reopened when new evidence arrives
}


class CaseIn(Inbound):
    title: str = Field(min_length=1, max_length=200, description="an operational label, not personal data")
    jurisdiction: str = Field(description="ISO 3166-1 alpha-2")
    report_ids: list[ReportId] = Field(default_factory=list, max_length=1000)


class CaseUpdate(Inbound):
    status: CaseStatus


class LinkReports(Inbound):
    report_ids: list[ReportId] = Field(min_length=1, max_length=1000)


class Case(Outbound):
    id: CaseId
    org_id: OrgId
    title: str
    status: CaseStatus
    jurisdiction: str
    report_ids: list[ReportId]
    created_at: datetime
    updated_at: datetime
