"""Jobs: queued work claimed by one runner at a time, progress written as it goes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from accord.errors import NotFound
from accord.model.job import Job, JobProgress, JobRejection, JobStatus
from accord.model.organisation import Actor
from accord.store.schema import jobs

__all__ = ["ClaimedJob", "claim_next", "finish", "get", "insert_job", "requeue_stale", "set_progress"]

MAX_REJECTIONS = 1000  # kept per job; the full count is in progress.rejected


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        org_id=row.org_id,
        kind=row.kind,
        format=row.params.get("format"),
        name=row.name,
        status=JobStatus(row.status),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        attempts=row.attempts,
        progress=JobProgress.model_validate(row.progress),
        rejections=[JobRejection.model_validate(r) for r in row.rejections],
        error=row.error,
    )


def insert_job(
    conn: Connection, *, job_id: str, actor: Actor, kind: str, name: str, params: dict[str, Any], at: datetime
) -> None:
    conn.execute(
        insert(jobs).values(
            id=job_id,
            org_id=actor.org_id,
            actor_id=actor.id,
            kind=kind,
            status=JobStatus.queued.value,
            params=params,
            name=name,
            created_at=at,
            attempts=0,
            progress=JobProgress().model_dump(),
            rejections=[],
        )
    )


def get(conn: Connection, actor: Actor, job_id: str) -> Job:
    row = conn.execute(select(jobs).where(jobs.c.id == job_id, jobs.c.org_id == actor.org_id)).first()
    if row is None:
        raise NotFound(f"no job {job_id}")
    return _job(row)


class ClaimedJob:
    def __init__(self, row: Any) -> None:
        self.id: str = row.id
        self.actor_id: str = row.actor_id
        self.kind: str = row.kind
        self.name: str = row.name
        self.params: dict[str, Any] = row.params


def claim_next(conn: Connection, at: datetime) -> ClaimedJob | None:
    """The oldest queued job, marked running. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several
    runners (processes) claim different jobs; SQLite has one writer, so the claim is serialised anyway."""
    q = select(jobs).where(jobs.c.status == JobStatus.queued.value).order_by(jobs.c.created_at, jobs.c.id).limit(1)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    row = conn.execute(q).first()
    if row is None:
        return None
    conn.execute(
        update(jobs)
        .where(jobs.c.id == row.id)
        .values(status=JobStatus.running.value, started_at=at, heartbeat_at=at, attempts=row.attempts + 1)
    )
    return ClaimedJob(row)


def set_progress(conn: Connection, job_id: str, progress: JobProgress, at: datetime) -> None:
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(progress=progress.model_dump(), heartbeat_at=at))


def finish(
    conn: Connection,
    job_id: str,
    status: JobStatus,
    progress: JobProgress,
    rejections: list[JobRejection],
    error: str | None,
    at: datetime,
) -> None:
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(
            status=status.value,
            progress=progress.model_dump(),
            rejections=[r.model_dump() for r in rejections[:MAX_REJECTIONS]],
            error=error,
            finished_at=at,
            heartbeat_at=at,
        )
    )


def requeue_stale(conn: Connection, older_than: datetime) -> int:
    """Running jobs whose runner stopped beating (the process died) go back to the queue. Re-running
    an import is safe: reports already stored come back as duplicates, not copies."""
    res = conn.execute(
        update(jobs)
        .where(jobs.c.status == JobStatus.running.value, jobs.c.heartbeat_at < older_than)
        .values(status=JobStatus.queued.value)
    )
    return int(res.rowcount)
