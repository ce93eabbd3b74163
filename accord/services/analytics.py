"""Analytics runs: network, communities, key players and timelines of an organisation's reports, run as
jobs with stored progress, their results kept with the parameters and the data version they used
(docs/analytics.md, "Running analyses on a node").

A run is queued (``start``; the API answers 202 at once) and run by the server's job runner
(``run_next``), or queued and run at once by the console (``run_local``, acting for an organisation as the
node, audited with no actor). It reads only its own organisation's reports, page by page in short read
transactions, up to the last report that existed when it started, so a result always matches its data
version; a result is *stale* when the organisation's data version has moved on since.

Payments are not stored by intake, so a run on a node has no payment edges; ``accord analyze money``
takes a transfers file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accord.errors import AccordError, Invalid, NotFound
from accord.graph import analysis
from accord.graph.network import Network
from accord.graph.timeline import Event, from_sightings
from accord.model.analytics import (
    AnalysisKind,
    AnalyticsRun,
    CommunitiesParams,
    DataVersion,
    KeyPlayersParams,
    NetworkParams,
    Params,
    RunIn,
    RunProgress,
    TimelineParams,
    parse_params,
)
from accord.model.job import JobStatus
from accord.model.organisation import Actor
from accord.safeguards import policy
from accord.safeguards.policy import Action
from accord.services.audit import authorize, draft, refusals
from accord.services.node import Node
from accord.store import analytics as store
from accord.store import audit as audit_store
from accord.store import orgs as org_store

__all__ = [
    "PAGE",
    "Outcome",
    "Result",
    "ViewData",
    "get",
    "list_runs",
    "result",
    "run_local",
    "run_next",
    "start",
    "view_data",
]

log = logging.getLogger("accord.analytics")
PAGE = 2000  # reports per read transaction
BEAT = 5.0  # seconds between progress writes while reading
Progress = Callable[[RunProgress], None]


def _queue(node: Node, org_id: str, actor: Actor | None, body: RunIn, request_id: str | None) -> AnalyticsRun:
    kind, params = parse_params(body.kind, body.parameters)
    run_id = node.ids("run")
    now = node.clock.now()
    with node.db.write() as conn:
        stored = params.model_dump(mode="json")
        store.insert_run(
            conn, run_id=run_id, org_id=org_id, actor_id=actor.id if actor else None, kind=kind, params=stored, at=now
        )
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "analytics.run",
                    "analytics_run",
                    run_id,
                    request_id=request_id,
                    detail={"kind": kind.value, "parameters": stored},
                    org_id=org_id,
                )
            ],
        )
        return store.get(conn, org_id, run_id)


def start(node: Node, actor: Actor, body: RunIn, request_id: str | None = None) -> AnalyticsRun:
    """Queue a run for the actor's organisation; bad parameters are refused before anything is written."""
    authorize(node, actor, Action.analytics_run, request_id)
    with refusals(node, actor, "analytics.run", request_id):
        return _queue(node, actor.org_id, actor, body, request_id)


def get(node: Node, actor: Actor, run_id: str, request_id: str | None = None) -> AnalyticsRun:
    authorize(node, actor, Action.analytics_read, request_id)
    with node.db.read() as conn:
        return store.get(conn, actor.org_id, run_id)


def list_runs(
    node: Node, actor: Actor, kind: str | None, limit: int, request_id: str | None = None
) -> list[AnalyticsRun]:
    authorize(node, actor, Action.analytics_read, request_id)
    wanted = parse_params(kind, {})[0] if kind is not None else None
    with node.db.read() as conn:
        return store.list_runs(conn, actor.org_id, wanted, limit)


@dataclass(frozen=True)
class Result:
    run: AnalyticsRun
    stale: bool
    """The organisation's reports changed since the run read them."""
    doc: dict[str, Any]


def _read(node: Node, actor: Actor, run_id: str, request_id: str | None, what: str) -> Result:
    authorize(node, actor, Action.analytics_read, request_id)
    with refusals(node, actor, "analytics.read", request_id), node.db.write() as conn:
        run = store.get(conn, actor.org_id, run_id)
        doc = store.result(conn, actor.org_id, run_id)
        if run.status != JobStatus.succeeded or doc is None:
            raise NotFound(f"run {run_id} has no result (it is {run.status.value})")
        stale = store.data_version(conn, actor.org_id) != run.data_version
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "analytics.read",
                    "analytics_run",
                    run_id,
                    request_id=request_id,
                    detail={"kind": run.kind.value, "as": what},
                )
            ],
        )
    return Result(run, stale, doc)


def result(node: Node, actor: Actor, run_id: str, request_id: str | None = None, what: str = "json") -> Result:
    """A succeeded run's result (404 while it is queued, running or failed), audited."""
    return _read(node, actor, run_id, request_id, what)


@dataclass(frozen=True)
class ViewData:
    network: Result
    communities: dict[str, Any] | None
    keyplayers: dict[str, Any] | None
    communities_run: str | None
    keyplayers_run: str | None


def view_data(
    node: Node,
    actor: Actor,
    run_id: str,
    communities: str | None,
    keyplayers: str | None,
    request_id: str | None = None,
) -> ViewData:
    """A network run's result for the graph view, with the communities and key players to colour and mark
    it by: the runs named, or else the newest of each on the same data version."""
    net = _read(node, actor, run_id, request_id, "view")
    if net.run.kind != AnalysisKind.network:
        raise Invalid.at("/run_id", f"run {run_id} is a {net.run.kind.value} run; the view draws a network run")
    picked: dict[AnalysisKind, str | None] = {
        AnalysisKind.communities: communities,
        AnalysisKind.keyplayers: keyplayers,
    }
    docs: dict[AnalysisKind, dict[str, Any] | None] = {}
    for kind, chosen in picked.items():
        if chosen is None and net.run.data_version is not None:
            with node.db.read() as conn:
                chosen = picked[kind] = store.latest(conn, actor.org_id, kind, net.run.data_version)
        if chosen is None:
            docs[kind] = None
            continue
        other = _read(node, actor, chosen, request_id, "view")
        if other.run.kind != kind:
            raise Invalid.at(f"?{kind.value}", f"run {chosen} is a {other.run.kind.value} run, not {kind.value}")
        docs[kind] = other.doc
    return ViewData(
        net,
        docs[AnalysisKind.communities],
        docs[AnalysisKind.keyplayers],
        picked[AnalysisKind.communities],
        picked[AnalysisKind.keyplayers],
    )


# --- running ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    run: AnalyticsRun
    doc: dict[str, Any] | None


def _execute(node: Node, claimed: store.ClaimedRun, progress: Progress | None) -> None:
    """Run one claimed run to its end, its outcome (result or error) written to its row."""
    state = RunProgress(stage="reading reports")
    last_beat = [time.monotonic()]

    def beat(p: RunProgress, force: bool = False) -> None:
        nonlocal state
        state = p
        if progress is not None:
            progress(p)
        now = time.monotonic()
        if force or now - last_beat[0] >= BEAT:
            last_beat[0] = now
            with node.db.write() as conn:
                store.set_progress(conn, claimed.id, p, node.clock.now())

    doc: dict[str, Any] | None = None
    try:
        _, params = parse_params(claimed.kind.value, claimed.params)
        with node.db.write() as conn:
            version = store.data_version(conn, claimed.org_id)
            jurisdiction = org_store.org_by_id(conn, claimed.org_id).jurisdiction
            state = RunProgress(stage="reading reports", total=version.reports)
            store.set_progress(conn, claimed.id, state, node.clock.now(), version)
        doc = _analyse(node, claimed, params, version, {claimed.org_id: jurisdiction}, beat)
        status, error = JobStatus.succeeded, None
    except AccordError as exc:
        status, error = JobStatus.failed, exc.detail
    except Exception:  # a bug: the run fails visibly, the runner lives on
        log.exception("analytics run %s failed", claimed.id)
        status, error = JobStatus.failed, f"internal error; the node's log has the details (run {claimed.id})"
    done = RunProgress(stage="done" if doc is not None else "failed", done=state.done, total=state.total)
    if progress is not None:
        progress(done)
    with node.db.write() as conn:
        store.finish(conn, claimed.id, status, done, doc, error, node.clock.now())


def _analyse(
    node: Node,
    claimed: store.ClaimedRun,
    params: Params,
    version: DataVersion,
    org_jurisdiction: dict[str, str],
    beat: Callable[..., None],
) -> dict[str, Any]:
    total = version.reports
    net = Network(max_sharers=getattr(params, "max_sharers", 20))
    events: list[Event] = []
    read, after = 0, None
    while version.last_report_id is not None:
        with node.db.read() as conn:
            page = store.sightings(conn, claimed.org_id, after, version.last_report_id, PAGE)
        if not page:
            break
        after = page[-1].report
        if isinstance(params, TimelineParams):
            wanted = set(params.keys) if params.keys else None
            events.extend(e for e in from_sightings(page) if wanted is None or wanted.intersection(e.keys))
        else:
            net.add(page)
        read += len(page)
        beat(RunProgress(stage="reading reports", done=read, total=total))
    beat(RunProgress(stage=claimed.kind.value, done=read, total=total), True)
    if isinstance(params, TimelineParams):
        return analysis.timeline_result(events, params)
    if isinstance(params, CommunitiesParams):
        return analysis.communities_result(net, params, org_jurisdiction)
    if isinstance(params, KeyPlayersParams):

        def note(stage: str) -> None:
            beat(RunProgress(stage=f"keyplayers: {stage}", done=read, total=total))

        return analysis.keyplayers_result(net, params, note)
    assert isinstance(params, NetworkParams)
    return analysis.network_result(net, params)


def run_next(node: Node) -> bool:
    """Run the oldest queued analytics run to its end; False when there was none. The run acts with its
    actor's rights as they are now: an actor who lost analytics.run since queueing it gets a failed run."""
    with node.db.write() as conn:
        claimed = store.claim_next(conn, node.clock.now())
        actor = org_store.actor_by_id(conn, claimed.actor_id) if claimed and claimed.actor_id else None
    if claimed is None:
        return False
    if claimed.actor_id is not None and (actor is None or not policy.allowed(actor, Action.analytics_run)):
        with node.db.write() as conn:
            store.finish(
                conn,
                claimed.id,
                JobStatus.failed,
                RunProgress(stage="failed"),
                None,
                "the actor who queued this run may no longer run analyses",
                node.clock.now(),
            )
        return True
    _execute(node, claimed, None)
    return True


def run_local(node: Node, org_id: str, body: RunIn, progress: Progress | None = None) -> Outcome:
    """Queue a run for ``org_id`` as the node (the operator at the console) and run it here, now."""
    with node.db.read() as conn:
        org = org_store.org_by_id(conn, org_id)
    run = _queue(node, org.id, None, body, None)
    with node.db.write() as conn:
        claimed = store.claim(conn, run.id, node.clock.now())
    if claimed is None:  # a server's runner took it first: it runs there
        raise Invalid.at("", f"run {run.id} was taken by a running server; follow it with GET /v1/analytics/runs")
    _execute(node, claimed, progress)
    with node.db.read() as conn:
        return Outcome(store.get(conn, org.id, run.id), store.result(conn, org.id, run.id))
