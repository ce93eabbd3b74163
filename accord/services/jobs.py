"""Background jobs: an import uploaded through the API is spooled to disk, queued as a row, and run by
a runner thread in the serving process, with its progress stored so ``GET /v1/jobs/{id}`` can show it.

Why rows and a spool file rather than an in-memory queue: a job survives a restart (a runner that
finds a job still marked running from a dead process puts it back in the queue, and re-running an
import only finds duplicates), several server processes share one queue, and the upload is never
held in memory.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from accord.errors import AccordError
from accord.model.job import Job, JobProgress, JobRejection, JobStatus
from accord.model.organisation import Actor
from accord.safeguards.policy import Action
from accord.services import analytics
from accord.services.audit import authorize, draft
from accord.services.imports import import_stream
from accord.services.node import Node
from accord.services.reports import BulkResult
from accord.store import analytics as analytics_store
from accord.store import audit as audit_store
from accord.store import jobs as store
from accord.store import orgs as org_store

__all__ = ["JobRunner", "get", "new_import", "queue_import", "run_next", "spool_path"]

log = logging.getLogger("accord.jobs")
STALE_AFTER = timedelta(minutes=5)


def spool_path(node: Node, job_id: str) -> Path:
    return node.settings.data_dir / "spool" / f"{job_id}.upload"


def new_import(node: Node, actor: Actor, request_id: str | None = None) -> tuple[str, Path]:
    """Check the actor may import, then give the new job's id and the path to spool the upload to."""
    authorize(node, actor, Action.report_create, request_id)
    job_id = node.ids("job")
    path = spool_path(node, job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    return job_id, path


def queue_import(
    node: Node,
    actor: Actor,
    job_id: str,
    *,
    name: str,
    params: dict[str, Any],
    request_id: str | None = None,
) -> Job:
    now = node.clock.now()
    with node.db.write() as conn:
        store.insert_job(conn, job_id=job_id, actor=actor, kind="import", name=name, params=params, at=now)
        audit_store.append(
            conn,
            [draft(node, actor, "job.create", "job", job_id, request_id=request_id, detail={"kind": "import"})],
        )
        return store.get(conn, actor, job_id)


def get(node: Node, actor: Actor, job_id: str, request_id: str | None = None) -> Job:
    authorize(node, actor, Action.job_read, request_id)
    with node.db.read() as conn:
        return store.get(conn, actor, job_id)


def _progress(r: BulkResult, bytes_total: int, bytes_done: int) -> JobProgress:
    return JobProgress(
        bytes_total=bytes_total,
        bytes_done=bytes_done,
        lines=r.lines,
        accepted=r.accepted,
        duplicates=r.duplicates,
        rejected=r.rejected_lines,
    )


def run_next(node: Node) -> bool:
    """Run the oldest queued job to its end; False when there was none."""
    with node.db.write() as conn:
        claimed = store.claim_next(conn, node.clock.now())
        actor = org_store.actor_by_id(conn, claimed.actor_id) if claimed else None
    if claimed is None or actor is None:
        return False
    path = spool_path(node, claimed.id)
    total = path.stat().st_size if path.exists() else 0
    result = BulkResult()
    try:
        with path.open("rb") as raw:

            def on_batch(r: BulkResult) -> None:
                with node.db.write() as conn:
                    store.set_progress(conn, claimed.id, _progress(r, total, raw.tell()), node.clock.now())

            outcome = import_stream(
                node,
                actor,
                raw,
                name=claimed.name,
                format=claimed.params.get("format"),
                mapping=claimed.params.get("mapping"),
                source=claimed.params.get("source"),
                service=claimed.params.get("service"),
                request_id=claimed.id,
                on_batch=on_batch,
                path=path,
            )
        result = outcome.result
        status, error = JobStatus.succeeded, None
    except AccordError as exc:
        status, error = JobStatus.failed, exc.detail
    except FileNotFoundError:
        status, error = JobStatus.failed, "the uploaded file is gone (spool directory cleared?)"
    except Exception:  # a bug: the job fails visibly, the runner lives on
        log.exception("job %s failed", claimed.id)
        status, error = JobStatus.failed, f"internal error; the node's log has the details (job {claimed.id})"
    rejections = [JobRejection(line=r.line, pointer=r.pointer, message=r.message) for r in result.rejected]
    with node.db.write() as conn:
        store.finish(conn, claimed.id, status, _progress(result, total, total), rejections, error, node.clock.now())
    path.unlink(missing_ok=True)
    return True


class JobRunner:
    """One thread that runs queued jobs one after another, imports first, then analytics runs
    (``accord.services.analytics``); ``wake()`` after queueing one."""

    def __init__(self, node: Node, poll_seconds: float = 2.0) -> None:
        self.node, self.poll = node, poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="accord-jobs", daemon=True)

    def start(self) -> None:
        with self.node.db.write() as conn:
            back = store.requeue_stale(conn, self.node.clock.now() - STALE_AFTER)
            back += analytics_store.requeue_stale(conn, self.node.clock.now() - STALE_AFTER)
        if back:
            log.warning("requeued %d job(s) left running by a stopped process", back)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = run_next(self.node) or analytics.run_next(self.node)
            except Exception:  # the database went away for a moment: try again later
                log.exception("job runner")
                ran = False
            if not ran:
                self._wake.wait(self.poll)
                self._wake.clear()
