"""Unseal requests: asking to open named sealed fields of one report, under a warrant, with custodians'
approvals; or, in imminent danger, a supervisor's emergency disclosure that a custodian reviews later.

A request moves from ``pending`` to ``opened`` once. Approvals and the opening are bound to it by its
random ``nonce`` (see ``accord.safeguards.approvals``); the opened values are returned to the caller
once and stored nowhere but in the sealed blob they came from.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, NewType

from pydantic import Field, field_validator

from accord.ids import ActorId, OrgId, ReportId
from accord.model.base import Inbound, Outbound
from accord.model.custodian import CustodianId
from accord.model.warrant import SealedField, WarrantId

__all__ = [
    "Approval",
    "ApprovalIn",
    "OpenIn",
    "Opened",
    "ReportFlag",
    "Review",
    "ReviewIn",
    "ReviewOutcome",
    "UnsealRequest",
    "UnsealRequestId",
    "UnsealRequestIn",
    "UnsealStatus",
]

UnsealRequestId = NewType("UnsealRequestId", str)


class UnsealStatus(StrEnum):
    pending = "pending"
    opened = "opened"


class ReviewOutcome(StrEnum):
    upheld = "upheld"
    not_upheld = "not-upheld"


class UnsealRequestIn(Inbound):
    warrant_id: WarrantId | None = Field(
        default=None, max_length=40, description="the warrant the opening rests on; only an emergency has none"
    )
    report_id: ReportId = Field(max_length=40)
    fields: list[SealedField] = Field(min_length=1, max_length=100)

    @field_validator("fields")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("each field once")
        return v


class ApprovalIn(Inbound):
    custodian_id: CustodianId = Field(max_length=40, description="your custodian registration (whose key signed)")
    signature: str = Field(max_length=200, description="Ed25519 signature (base64) of the approval message")


class ReviewIn(Inbound):
    custodian_id: CustodianId = Field(max_length=40)
    outcome: ReviewOutcome
    signature: str = Field(max_length=200, description="Ed25519 signature (base64) of the review message")
    note: str | None = Field(default=None, max_length=2000, description="the reviewer's finding; no personal data")


class OpenIn(Inbound):
    emergency: bool = Field(default=False, description="imminent danger: a supervisor opens alone, reviewed later")
    reason: str | None = Field(
        default=None, min_length=10, max_length=2000, description="why it could not wait (required for emergency)"
    )


class Approval(Outbound):
    custodian_id: CustodianId
    approver_id: ActorId
    approved_at: datetime


class Review(Outbound):
    due_at: datetime
    overdue: bool = Field(description="not reviewed and past due")
    escalated_at: datetime | None = Field(description="when it was first shown as overdue")
    reviewed_at: datetime | None
    reviewed_by: ActorId | None
    outcome: ReviewOutcome | None
    note: str | None


class UnsealRequest(Outbound):
    id: UnsealRequestId
    org_id: OrgId
    warrant_id: WarrantId | None
    report_id: ReportId
    fields: list[str]
    nonce: str = Field(description="random; bound into every approval's signed message")
    requested_by: ActorId
    requested_at: datetime
    status: UnsealStatus
    approvals: list[Approval]
    approvals_needed: int
    emergency: bool
    emergency_reason: str | None
    opened_at: datetime | None
    opened_by: ActorId | None
    review: Review | None = Field(description="emergency disclosures only")


class Opened(Outbound):
    """The one answer that carries sealed values: returned once, never stored, logged or audited."""

    request_id: UnsealRequestId
    report_id: ReportId
    opened_at: datetime
    emergency: bool
    fields: dict[str, Any]


class ReportFlag(Outbound):
    kind: str = Field(description="emergency-disclosure")
    request_id: UnsealRequestId
    opened_at: datetime
    review_due_at: datetime
    reviewed: bool
    overdue: bool
    escalated: bool
