"""Retention: the organisations' rules, and the purge of what expired under them (docs/retention.md).

A purge runs as the node, not as an actor: ``accord retention run`` at the console, and the server's
background runner every ``ACCORD_RETENTION_INTERVAL_SECONDS``. It works in batches of
``ACCORD_RETENTION_BATCH_SIZE`` reports, one transaction each: the reports' content goes, a tombstone per
report stays, a ``purged`` custody leaf per report records the digest of what went (never the content),
and one ``retention.purge`` audit event per batch names the ids. A crash leaves whole batches only, and a
run picks up where the last one stopped.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from accord.custody.entry import CustodyAction, CustodyEntry
from accord.errors import Invalid, NotFound
from accord.ids import ActorId, OrgId
from accord.model.organisation import Actor
from accord.model.retention import (
    CategoryPlan,
    Limit,
    RetentionRules,
    RetentionRulesIn,
    plan,
)
from accord.safeguards import policy
from accord.safeguards.policy import Action
from accord.services import custody
from accord.services.audit import authorize, draft, refusals
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import orgs as org_store
from accord.store import retention as store

__all__ = [
    "CATEGORY_ORDER",
    "RETENTION_ACTOR",
    "RetentionRunner",
    "RunResult",
    "get_rules",
    "rules_local",
    "run",
    "set_rule_local",
    "set_rules",
    "unset_rule_local",
]

log = logging.getLogger("accord.retention")

RETENTION_ACTOR = ActorId("accord:retention")
"""Who a purge's custody leaves name: the node's retention job (the rule it applied is in ``detail``)."""

CATEGORY_ORDER = ("report", "sealed")
"""Whole reports first: a report that goes whole needs no part purged first."""


# --- rules -----------------------------------------------------------------------------------------


def _view(conn: Connection, org_id: str) -> RetentionRules:
    return RetentionRules(
        rules=store.rules(conn, org_id), agreement_caps=store.agreement_caps(conn, org_id).get(org_id, [])
    )


def _check(node: Node, conn: Connection, org_id: str, rin: RetentionRulesIn) -> None:
    """Every category known; every agreement one the organisation is party to. An agreement of others
    is "no agreement", as a missing one: its existence is not the caller's to learn."""
    known = ", ".join(node.vocab.retention.codes())
    errors = {
        f"/rules/{i}/category": f"unknown retention category {r.category!r} (known: {known})"
        for i, r in enumerate(rin.rules)
        if r.category not in node.vocab.retention
    }
    if errors:
        first = next(iter(errors.items()))
        raise Invalid(f"{first[0]}: {first[1]}", errors)
    named = [r.agreement_id for r in rin.rules if r.agreement_id is not None]
    party = store.parties_of(conn, org_id, named)
    for i, r in enumerate(rin.rules):
        if r.agreement_id is not None and r.agreement_id not in party:
            raise NotFound(f"/rules/{i}/agreement_id: no agreement {r.agreement_id} that your organisation is party to")


def _replace(
    node: Node, org_id: str, rin: RetentionRulesIn, by: Actor | None, request_id: str | None
) -> RetentionRules:
    with node.db.write() as conn:
        store.lock_org(conn, org_id)
        _check(node, conn, org_id, rin)
        wanted = [(r.category, r.agreement_id, r.days) for r in rin.rules]
        added, changed, removed = store.replace_rules(
            conn, org_id, wanted, new_id=lambda: node.ids("rrl"), by=by.id if by else None, at=node.clock.now()
        )
        view = _view(conn, org_id)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    by,
                    "retention.rules.set",
                    "organisation",
                    org_id,
                    request_id=request_id,
                    org_id=org_id,
                    detail={
                        "added": added,
                        "changed": changed,
                        "removed": removed,
                        "rules": [
                            {"id": r.id, "category": r.category, "days": r.days, "agreement_id": r.agreement_id}
                            for r in view.rules
                        ],
                    },
                )
            ],
        )
    return view


def get_rules(node: Node, actor: Actor, request_id: str | None = None) -> RetentionRules:
    """The caller's organisation's rules, and the caps of the agreements it is party to."""
    authorize(node, actor, Action.retention_read, request_id)
    with node.db.write() as conn:
        view = _view(conn, actor.org_id)
        audit_store.append(
            conn, [draft(node, actor, "retention.rules.read", request_id=request_id, detail={"rules": len(view.rules)})]
        )
    return view


def set_rules(node: Node, actor: Actor, rin: RetentionRulesIn, request_id: str | None = None) -> RetentionRules:
    """Replace the organisation's rules with ``rin`` (an org admin). Refusals are audited with their reason."""
    with refusals(node, actor, "retention.rules.set", request_id):
        policy.require(actor, Action.retention_manage)
        return _replace(node, actor.org_id, rin, actor, request_id)


def rules_local(node: Node, org_id: str) -> RetentionRules:
    """For the operator at the console (``accord retention rules``)."""
    with node.db.read() as conn:
        org = org_store.org_by_id(conn, org_id)
        return _view(conn, org.id)


def _edit_local(node: Node, org_id: str, category: str, agreement_id: str | None, days: int | None) -> RetentionRules:
    if category not in node.vocab.retention:
        known = ", ".join(node.vocab.retention.codes())
        raise Invalid.at("/category", f"unknown retention category {category!r} (known: {known})")
    with node.db.read() as conn:
        org = org_store.org_by_id(conn, org_id)
        current = store.rules(conn, org.id)
        if agreement_id is not None and not store.parties_of(conn, org.id, [agreement_id]):
            raise NotFound(f"no agreement {agreement_id} that organisation {org.id} is party to")
    kept = [
        {"category": r.category, "agreement_id": r.agreement_id, "days": r.days}
        for r in current
        if (r.category, r.agreement_id) != (category, agreement_id)
    ]
    if days is not None:
        kept.append({"category": category, "agreement_id": agreement_id, "days": days})
    return _replace(node, org.id, RetentionRulesIn.model_validate({"rules": kept}), None, None)


def set_rule_local(
    node: Node, org_id: str, category: str, days: int, agreement_id: str | None = None
) -> RetentionRules:
    """Set one rule (``accord retention set``), audited as the node itself; the others stay as they are."""
    return _edit_local(node, org_id, category, agreement_id, days)


def unset_rule_local(node: Node, org_id: str, category: str, agreement_id: str | None = None) -> RetentionRules:
    """Remove one rule (``accord retention unset``); removing one that does not exist changes nothing."""
    return _edit_local(node, org_id, category, agreement_id, None)


# --- the purge ---------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What a run purged (or, dry, would purge) per (organisation, category), and how."""

    at: datetime
    dry_run: bool
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    batches: int = 0
    wal_cleared: bool | None = None
    """SQLite: whether the WAL was checkpointed and emptied after the purge (None: nothing purged, or dry)."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _plans(conn: Connection, org_id: str | None) -> list[CategoryPlan]:
    if org_id is not None:
        orgs: list[str] = [org_store.org_by_id(conn, org_id).id]
        all_rules = store.rules(conn, org_id)
    else:
        orgs = store.orgs_with_rules(conn)
        all_rules = store.rules(conn)
    caps = store.agreement_caps(conn, org_id)
    return [plan(o, c, all_rules, caps.get(o, [])) for o in orgs for c in CATEGORY_ORDER]


def _detail(category: str, limit: Limit) -> dict[str, str | int]:
    detail: dict[str, str | int] = {"category": category, "days": limit.days}
    if limit.rule_id is not None:
        detail["rule_id"] = limit.rule_id
    if limit.agreement_id is not None:
        detail["agreement_id"] = limit.agreement_id
    if category != "report":
        detail["part"] = category  # the leaf's digest is this part's, not the report's (accord.custody.bundle)
    return detail


def _purge_batch(node: Node, p: CategoryPlan, now: datetime, size: int) -> int:
    with node.db.write() as conn:
        found = store.candidates(conn, p, now, size)
        if not found:
            return 0
        ids = [c.id for c in found]
        if p.category == "report":
            store.delete_reports(conn, p.org_id, ids)
            digests = [c.digest for c in found]
        else:
            store.delete_sealed(conn, p.org_id, ids)
            digests = [hashlib.sha256(c.sealed or b"").hexdigest() for c in found]
        at = node.clock.now()
        limits = [p.limit_for(c.agreement_id) for c in found]
        entries = []
        for c, digest, limit in zip(found, digests, limits, strict=True):
            assert limit is not None  # the candidate matched one of the plan's limits
            entries.append(
                CustodyEntry(
                    action=CustodyAction.PURGED,
                    actor_id=RETENTION_ACTOR,
                    org_id=OrgId(p.org_id),
                    at=at,
                    object_type="report",
                    object_id=c.id,
                    digest=digest,
                    detail=_detail(p.category, limit),
                )
            )
        seqs = custody.record(node, conn, entries)
        store.insert_purges(
            conn,
            [
                store.PurgeRecord(
                    report_id=c.id,
                    category=p.category,
                    org_id=p.org_id,
                    purged_at=at,
                    rule_id=limit.rule_id if limit else None,
                    agreement_id=limit.agreement_id if limit else None,
                    days=limit.days if limit else 0,
                    digest=digest,
                    custody_seq=seq,
                )
                for c, digest, limit, seq in zip(found, digests, limits, seqs, strict=True)
            ],
        )
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    None,
                    "retention.purge",
                    "report",
                    org_id=p.org_id,
                    detail={
                        "category": p.category,
                        "count": len(ids),
                        "ids": ids,
                        "rule_ids": sorted({lim.rule_id for lim in limits if lim and lim.rule_id}),
                        "agreement_ids": sorted({lim.agreement_id for lim in limits if lim and lim.agreement_id}),
                    },
                )
            ],
        )
    return len(ids)


def run(
    node: Node,
    *,
    org_id: str | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_batch: Callable[[str, str, int], None] | None = None,
) -> RunResult:
    """Purge what expired by the node's clock (every organisation, or ``org_id``'s only).

    Expiry is judged against one moment, taken when the run starts. ``dry_run`` counts and changes
    nothing (not even the audit trail). ``on_plan`` gets the number of reports (and parts) due before
    any is purged; ``on_batch`` (org id, category, count) after each batch has committed.
    """
    size = batch_size or node.settings.retention_batch_size
    result = RunResult(at=node.clock.now(), dry_run=dry_run)
    now = result.at
    with node.db.read() as conn:
        plans = [p for p in _plans(conn, org_id) if not p.empty]
        whole = {p.org_id: p for p in plans if p.category == "report"}
        due = {
            (p.org_id, p.category): store.count_expired(
                conn, p, now, unless=whole.get(p.org_id) if p.category != "report" else None
            )
            for p in plans
        }
    if on_plan is not None:
        on_plan(sum(due.values()))
    if dry_run:
        result.counts = {k: n for k, n in due.items() if n}
        return result
    for p in plans:
        while True:
            n = _purge_batch(node, p, now, size)
            if not n:
                break
            key = (p.org_id, p.category)
            result.counts[key] = result.counts.get(key, 0) + n
            result.batches += 1
            if on_batch is not None:
                on_batch(p.org_id, p.category, n)
    if result.total:
        result.wal_cleared = node.db.checkpoint_wal()
        log.info("retention purged %d item(s) in %d batch(es)", result.total, result.batches)
    return result


class RetentionRunner:
    """A thread that runs ``run`` every ``interval`` seconds while the server serves.

    The first run comes one interval after start, not at start: a server restarted in a loop does not purge
    in a loop, and tests that start the app see no purge they did not ask for.
    """

    def __init__(self, node: Node, interval: float) -> None:
        self.node, self.interval = node, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="accord-retention", daemon=True)
        self.runs = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                run(self.node)
            except Exception:  # the database went away for a moment: the next run picks up where this stopped
                log.exception("retention run")
            self.runs += 1
