"""Analytics runs and what they read: every query scoped to one organisation.

A run's result is stored as zlib-compressed JSON: a network's elements compress about tenfold, and the
result is written once and read whole.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update

from accord.errors import NotFound
from accord.graph.sightings import Sighting, from_report
from accord.model.analytics import AnalysisKind, AnalyticsRun, DataVersion, RunProgress
from accord.model.job import JobStatus
from accord.store import reports as report_store
from accord.store.schema import analytics_runs as runs
from accord.store.schema import reports

__all__ = [
    "ClaimedRun",
    "claim",
    "claim_next",
    "data_version",
    "finish",
    "get",
    "insert_run",
    "latest",
    "list_runs",
    "requeue_stale",
    "result",
    "set_progress",
    "sightings",
]

_META = [c for c in runs.c if c.name != "result"]


def data_version(conn: Connection, org_id: str) -> DataVersion:
    """The organisation's reports now: how many, and the last ingestion time and id."""
    row = conn.execute(
        select(func.count(), func.max(reports.c.ingested_at), func.max(reports.c.id)).where(reports.c.org_id == org_id)
    ).one()
    last = row[1]
    if isinstance(last, str):  # SQLite returns an aggregate of a typed column untyped
        last = datetime.fromisoformat(last)
    return DataVersion(reports=int(row[0]), last_ingested_at=last, last_report_id=row[2])


def sightings(conn: Connection, org_id: str, after: str | None, upto: str, limit: int) -> list[Sighting]:
    """A page of the organisation's reports as the graph reads them (victims and sealed fields never read)."""
    return [from_report(r) for r in report_store.org_page(conn, org_id, after, upto, limit)]


def _run(row: Any) -> AnalyticsRun:
    return AnalyticsRun(
        id=row.id,
        org_id=row.org_id,
        kind=AnalysisKind(row.kind),
        parameters=row.params,
        status=JobStatus(row.status),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        progress=RunProgress.model_validate(row.progress),
        data_version=DataVersion.model_validate(row.data_version) if row.data_version else None,
        error=row.error,
    )


def insert_run(
    conn: Connection,
    *,
    run_id: str,
    org_id: str,
    actor_id: str | None,
    kind: AnalysisKind,
    params: dict[str, Any],
    at: datetime,
) -> None:
    conn.execute(
        insert(runs).values(
            id=run_id,
            org_id=org_id,
            actor_id=actor_id,
            kind=kind.value,
            status=JobStatus.queued.value,
            params=params,
            created_at=at,
            attempts=0,
            progress=RunProgress().model_dump(),
        )
    )


def get(conn: Connection, org_id: str, run_id: str) -> AnalyticsRun:
    row = conn.execute(select(*_META).where(runs.c.id == run_id, runs.c.org_id == org_id)).first()
    if row is None:
        raise NotFound(f"no analytics run {run_id}")
    return _run(row)


def list_runs(conn: Connection, org_id: str, kind: AnalysisKind | None, limit: int) -> list[AnalyticsRun]:
    q = select(*_META).where(runs.c.org_id == org_id)
    if kind is not None:
        q = q.where(runs.c.kind == kind.value)
    return [_run(r) for r in conn.execute(q.order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(limit))]


def latest(conn: Connection, org_id: str, kind: AnalysisKind, version: DataVersion) -> str | None:
    """The newest succeeded run of ``kind`` computed on the same data version, if any."""
    for run in list_runs(conn, org_id, kind, 50):
        if run.status == JobStatus.succeeded and run.data_version == version:
            return run.id
    return None


def result(conn: Connection, org_id: str, run_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(runs.c.result).where(runs.c.id == run_id, runs.c.org_id == org_id)).first()
    if row is None:
        raise NotFound(f"no analytics run {run_id}")
    if row.result is None:
        return None
    doc: dict[str, Any] = orjson.loads(zlib.decompress(row.result))
    return doc


class ClaimedRun:
    def __init__(self, row: Any) -> None:
        self.id: str = row.id
        self.org_id: str = row.org_id
        self.actor_id: str | None = row.actor_id
        self.kind = AnalysisKind(row.kind)
        self.params: dict[str, Any] = row.params


def _start(conn: Connection, row: Any, at: datetime) -> ClaimedRun:
    conn.execute(
        update(runs)
        .where(runs.c.id == row.id)
        .values(status=JobStatus.running.value, started_at=at, heartbeat_at=at, attempts=row.attempts + 1)
    )
    return ClaimedRun(row)


def claim_next(conn: Connection, at: datetime) -> ClaimedRun | None:
    """The oldest queued run, marked running (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, as for jobs)."""
    q = select(*_META).where(runs.c.status == JobStatus.queued.value).order_by(runs.c.created_at, runs.c.id).limit(1)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    row = conn.execute(q).first()
    return None if row is None else _start(conn, row, at)


def claim(conn: Connection, run_id: str, at: datetime) -> ClaimedRun | None:
    """This queued run, marked running (the console runs the run it queued itself)."""
    q = select(*_META).where(runs.c.id == run_id, runs.c.status == JobStatus.queued.value)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    row = conn.execute(q).first()
    return None if row is None else _start(conn, row, at)


def set_progress(
    conn: Connection, run_id: str, progress: RunProgress, at: datetime, version: DataVersion | None = None
) -> None:
    values: dict[str, Any] = {"progress": progress.model_dump(), "heartbeat_at": at}
    if version is not None:
        values["data_version"] = version.model_dump(mode="json")
    conn.execute(update(runs).where(runs.c.id == run_id).values(**values))


def finish(
    conn: Connection,
    run_id: str,
    status: JobStatus,
    progress: RunProgress,
    doc: dict[str, Any] | None,
    error: str | None,
    at: datetime,
) -> None:
    blob = zlib.compress(orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS), 6) if doc is not None else None
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            status=status.value,
            progress=progress.model_dump(),
            result=blob,
            error=error,
            finished_at=at,
            heartbeat_at=at,
        )
    )


def requeue_stale(conn: Connection, older_than: datetime) -> int:
    """Runs whose runner stopped beating go back to the queue: an analysis only reads, so re-running it is
    safe."""
    res = conn.execute(
        update(runs)
        .where(runs.c.status == JobStatus.running.value, runs.c.heartbeat_at < older_than)
        .values(status=JobStatus.queued.value)
    )
    return int(res.rowcount)
