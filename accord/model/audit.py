"""Audit events: who did what to which object, when, and whether it worked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from accord.model.base import Outbound

__all__ = ["AuditEvent"]


class AuditEvent(Outbound):
    seq: int = Field(description="position in the node's hash chain, from 1")
    at: datetime
    actor_id: str | None
    org_id: str | None
    action: str = Field(description="e.g. report.create, report.read, case.update, auth.failure")
    object_type: str | None
    object_id: str | None
    request_id: str | None
    outcome: str = Field(description="success or failure")
    detail: dict[str, Any] = Field(description="counts and codes only: never personal data or free text")
    prev_hash: str
    hash: str
