"""Background jobs: long work (imports now; re-indexing, analytics and sync later) with stored progress."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from accord.model.base import Outbound

__all__ = ["Job", "JobProgress", "JobRejection", "JobStatus"]


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class JobProgress(BaseModel):
    bytes_total: int = 0
    bytes_done: int = 0
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


class JobRejection(BaseModel):
    line: int
    pointer: str
    message: str


class Job(Outbound):
    id: str
    org_id: str
    kind: str
    format: str | None
    name: str
    status: JobStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    progress: JobProgress
    rejections: list[JobRejection]  # the first ones, with line and field (the count is in progress)
    error: str | None
