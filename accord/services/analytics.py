"""Analytics runs: network, communities, key players, timelines, entity resolution and money flows of an
organisation's reports, run as jobs with stored progress, their results kept with the parameters and the
data version they used (docs/analytics.md, "Running analyses on a node").

A run is queued (``start``; the API answers 202 at once) and run by the server's job runner
(``run_next``), or queued and run at once by the console (``run_local``, acting for an organisation as the
node, audited with no actor). It reads only its own organisation's reports, page by page in short read
transactions, up to the last report that existed when it started, so a result always matches its data
version; a result is *stale* when the organisation's data version has moved on since.

A resolve run reads the subjects of the reports and the analysts' merge and split decisions stored when
it starts (a decision naming a record that no longer exists is ignored and counted). A network,
communities or key-players run given ``resolve_run`` makes that run's entities its nodes; ``latest`` is
replaced by the newest succeeded resolve run's id when the run is queued, so the stored parameters say
which one was used. Transfers are stored with the reports that carried them (``store.transfers``): a money
run reads those of the reports its data version counts, and graph runs add them as payment edges.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accord.errors import AccordError, Invalid, NotFound
from accord.graph import analysis
from accord.graph.money import Ledger, build_ledger
from accord.graph.network import Network
from accord.graph.rates import shipped
from accord.graph.records import RecordSet, records_from_report
from accord.graph.resolve import STAGES, Decision, ResolveConfig, resolve
from accord.graph.timeline import Event, from_sightings
from accord.model.analytics import (
    AnalysisKind,
    AnalyticsRun,
    CommunitiesParams,
    DataVersion,
    KeyPlayersParams,
    MoneyParams,
    NetworkParams,
    Params,
    ResolveParams,
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
from accord.store import resolution as resolution_store
from accord.store import transfers as transfer_store

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


_GRAPH = (NetworkParams, CommunitiesParams, KeyPlayersParams)


def _resolve_run(conn: Any, org_id: str, wanted: str) -> str:
    """The id of the resolve run ``wanted`` names ('latest': the newest that succeeded), checked to be the
    organisation's and a succeeded resolve run; else ``Invalid`` at ``/parameters/resolve_run``."""
    where = "/parameters/resolve_run"
    if wanted == "latest":
        for run in store.list_runs(conn, org_id, AnalysisKind.resolve, 500):
            if run.status == JobStatus.succeeded:
                return run.id
        raise Invalid.at(where, "no resolve run has succeeded yet: run one (kind resolve) first")
    try:
        run = store.get(conn, org_id, wanted)
    except NotFound:
        raise Invalid.at(where, f"no resolve run {wanted}") from None
    if run.kind != AnalysisKind.resolve or run.status != JobStatus.succeeded:
        raise Invalid.at(where, f"run {wanted} is not a succeeded resolve run ({run.kind.value}, {run.status.value})")
    return run.id


def _queue(node: Node, org_id: str, actor: Actor | None, body: RunIn, request_id: str | None) -> AnalyticsRun:
    kind, params = parse_params(body.kind, body.parameters)
    run_id = node.ids("run")
    now = node.clock.now()
    with node.db.write() as conn:
        if isinstance(params, _GRAPH) and params.resolve_run is not None:
            params = params.model_copy(update={"resolve_run": _resolve_run(conn, org_id, params.resolve_run)})
        if isinstance(params, MoneyParams) and params.trace:
            unknown = [k for k in params.trace if k not in transfer_store.known(conn, org_id, params.trace)]
            if unknown:
                raise Invalid.at("/parameters/trace", f"instrument {unknown[0]!r} takes part in no stored transfer")
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
    if isinstance(params, ResolveParams):
        return _resolve(node, claimed, params, version, beat)
    if isinstance(params, MoneyParams):
        beat(RunProgress(stage="reading transfers", done=0, total=total), True)
        ledger, stored = _ledger(node, claimed.org_id, version, params.skip_unpriced)
        beat(RunProgress(stage="money", done=total, total=total), True)
        return analysis.money_result(ledger, params, stored)
    entity_of: dict[str, str] | None = None
    resolved_by: str | None = None
    if isinstance(params, _GRAPH) and params.resolve_run is not None:
        resolved_by = params.resolve_run
        with node.db.read() as conn:
            found = store.result(conn, claimed.org_id, resolved_by)
        if found is None or "entity_of" not in found:
            raise Invalid.at("/parameters/resolve_run", f"run {resolved_by} has no entities to use")
        entity_of = found["entity_of"]
    net = Network(entity_of, max_sharers=getattr(params, "max_sharers", 20))
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
    if isinstance(params, TimelineParams):
        beat(RunProgress(stage=claimed.kind.value, done=read, total=total), True)
        return analysis.timeline_result(events, params)
    if version.last_report_id is not None:
        beat(RunProgress(stage="reading transfers", done=read, total=total), True)
        net.add_transfers(_ledger(node, claimed.org_id, version, True)[0].transfers)
    beat(RunProgress(stage=claimed.kind.value, done=read, total=total), True)
    doc: dict[str, Any]
    if isinstance(params, CommunitiesParams):
        doc = analysis.communities_result(net, params, org_jurisdiction)
    elif isinstance(params, KeyPlayersParams):

        def note(stage: str) -> None:
            beat(RunProgress(stage=f"keyplayers: {stage}", done=read, total=total))

        doc = analysis.keyplayers_result(net, params, note)
    else:
        assert isinstance(params, NetworkParams)
        doc = analysis.network_result(net, params)
    doc["resolve_run"] = resolved_by
    return doc


def _ledger(node: Node, org_id: str, version: DataVersion, skip_unpriced: bool) -> tuple[Ledger, int]:
    """The organisation's transfers carried by the reports of ``version``, priced at the shipped rates;
    and how many were stored."""
    rows: list[dict[str, Any]] = []
    after = 0
    while version.last_report_id is not None:
        with node.db.read() as conn:
            page = transfer_store.page(conn, org_id, version.last_report_id, after, PAGE)
        if not page:
            break
        after = page[-1]["row"]
        rows.extend(page)
    rows.sort(key=lambda r: (r["at"], r["row"]))
    return build_ledger(rows, shipped(), skip_unpriced=skip_unpriced), len(rows)


def _resolve(
    node: Node, claimed: store.ClaimedRun, params: ResolveParams, version: DataVersion, beat: Callable[..., None]
) -> dict[str, Any]:
    """Entity resolution of the subjects of the reports ``version`` counts, respecting the decisions stored
    now that name two of their records (others are ignored and counted)."""
    total = version.reports
    records = RecordSet()
    read, after = 0, None
    while version.last_report_id is not None:
        with node.db.read() as conn:
            page = resolution_store.org_subjects_page(conn, claimed.org_id, after, version.last_report_id, PAGE)
        if not page:
            break
        after = page[-1][0]
        for report_id, received_at, subjects in page:
            records_from_report(report_id, claimed.org_id, received_at, subjects or (), records)
        read += len(page)
        beat(RunProgress(stage="reading reports", done=read, total=total))
    with node.db.read() as conn:
        rows = resolution_store.org_decisions(conn, claimed.org_id)
    known = {r.record_id for r in records.records}
    decided = [Decision(kind, a, b) for _, kind, a, b, *_ in rows if a in known and b in known]  # type: ignore[arg-type]
    config = ResolveConfig(
        threshold=params.threshold,
        phone_window_days=params.phone_window_days,
        ip_window_days=params.ip_window_days,
        seed=params.seed,
    )

    def stage(name: str) -> None:
        beat(RunProgress(stage=f"resolve: {name}", done=STAGES.index(name) + 1, total=len(STAGES)), True)

    found = resolve(records.records, decided, config, progress=stage)
    return analysis.resolve_result(found, records, len(decided), len(rows) - len(decided))


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
