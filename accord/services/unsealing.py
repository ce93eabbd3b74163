"""Opening sealed fields: requests under a warrant, custodians' signed approvals, the opening itself,
emergency disclosure and its review, and the escalation of overdue reviews.

This is the only module that opens a report's sealed data (``Sealer.open``). An opening happens when,
at the moment of opening and inside one transaction:

1. the caller asked for it (the requester) and holds ``unseal.open``;
2. the request rests on a warrant of the organisation that is in force now, whose scope covers the
   report (by id, or by an identifier the report holds) and every requested field;
3. at least ``ACCORD_UNSEAL_APPROVALS`` distinct custodians of the organisation have approved it, each
   with a signature that verifies now, under a key that is still registered, over a message that binds
   this request's id and nonce, the warrant, the report, the fields and the approver;
4. the request was never opened before (one approval round, one disclosure).

Or, in imminent danger, a supervisor opens alone (``emergency``, with a reason): the disclosure is
flagged on the report and a custodian must review it within ``ACCORD_EMERGENCY_REVIEW_HOURS``; a
review not made in time is shown as overdue and escalated (an audit event and an error-level log line
naming the request, never its content).

Every refusal is an ``AccordError`` with a stable reason, and is audited with outcome ``refused`` by
``refusals``; every opening is audited with the field names, warrant and approving custodians, never
the values, and passes through ``custody_opened``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from sqlalchemy import Connection

from accord.custody.entry import MAX_DETAIL_TEXT, CustodyAction, CustodyEntry
from accord.errors import Corrupted, Invalid, NotFound, UnsealConflict, UnsealRefused
from accord.ids import ActorId, OrgId, ReportId
from accord.model.custodian import Custodian, CustodianId
from accord.model.organisation import Actor, Role
from accord.model.unseal import (
    Approval,
    ApprovalIn,
    Opened,
    OpenIn,
    ReportFlag,
    Review,
    ReviewIn,
    ReviewOutcome,
    UnsealRequest,
    UnsealRequestId,
    UnsealRequestIn,
    UnsealStatus,
)
from accord.model.warrant import Warrant, WarrantId
from accord.safeguards import approvals, policy
from accord.safeguards import warrants as rules
from accord.safeguards.policy import Action
from accord.services import custody
from accord.services.audit import draft, refusals
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import custodians as custodian_store
from accord.store import orgs as org_store
from accord.store import reports as report_store
from accord.store import unsealing as store
from accord.store import warrants as warrant_store
from accord.store.errors import DuplicateKey
from accord.store.unsealing import RequestFilter, RequestRow

__all__ = [
    "RequestFilter",
    "approve",
    "create",
    "custody_opened",
    "escalate_overdue",
    "flags",
    "get",
    "list_page",
    "open_request",
    "review",
]

log = logging.getLogger("accord.unsealing")

_OBJECT = "unseal_request"


# ----------------------------------------------------------------------------- reading


def _overdue(row: RequestRow, now: datetime) -> bool:
    return row.emergency and row.reviewed_at is None and row.review_due_at is not None and now > row.review_due_at


def _model(node: Node, row: RequestRow) -> UnsealRequest:
    review = None
    if row.emergency and row.review_due_at is not None:
        review = Review(
            due_at=row.review_due_at,
            overdue=_overdue(row, node.clock.now()),
            escalated_at=row.escalated_at,
            reviewed_at=row.reviewed_at,
            reviewed_by=ActorId(row.reviewed_by) if row.reviewed_by else None,
            outcome=ReviewOutcome(row.review_outcome) if row.review_outcome else None,
            note=row.review_note,
        )
    return UnsealRequest(
        id=UnsealRequestId(row.id),
        org_id=OrgId(row.org_id),
        warrant_id=WarrantId(row.warrant_id) if row.warrant_id else None,
        report_id=ReportId(row.report_id),
        fields=row.fields,
        nonce=row.nonce,
        requested_by=ActorId(row.requested_by),
        requested_at=row.requested_at,
        status=UnsealStatus(row.status),
        approvals=[
            Approval(
                custodian_id=CustodianId(a.custodian_id), approver_id=ActorId(a.approver_id), approved_at=a.approved_at
            )
            for a in row.approvals
        ],
        approvals_needed=node.settings.unseal_approvals,
        emergency=row.emergency,
        emergency_reason=row.emergency_reason,
        opened_at=row.opened_at,
        opened_by=ActorId(row.opened_by) if row.opened_by else None,
        review=review,
    )


def _escalate(node: Node, conn: Connection, rows: Sequence[RequestRow], actor: Actor | None) -> list[str]:
    """Mark overdue reviews escalated the first time anyone (or the operator's run) sees them."""
    now = node.clock.now()
    due = [r for r in rows if _overdue(r, now) and r.escalated_at is None]
    if not due:
        return []
    store.set_escalated(conn, [r.id for r in due], now)
    events = []
    for r in due:
        assert r.review_due_at is not None
        late = int((now - r.review_due_at).total_seconds() // 60)
        log.error("review of emergency disclosure %s (organisation %s) is overdue by %d min", r.id, r.org_id, late)
        events.append(
            draft(
                node,
                None,
                "unseal.escalate",
                _OBJECT,
                r.id,
                outcome="escalated",
                detail={
                    "due_at": r.review_due_at.isoformat(),
                    "overdue_minutes": late,
                    "seen_by": actor.id if actor else None,
                },
                org_id=r.org_id,
            )
        )
    audit_store.append(conn, events)
    return [r.id for r in due]


def get(node: Node, actor: Actor, unseal_id: str, request_id: str | None = None) -> UnsealRequest:
    with refusals(node, actor, "unseal.read", request_id):
        policy.require(actor, Action.unseal_read)
        with node.db.write() as conn:
            row = store.get(conn, actor, unseal_id)
            if _escalate(node, conn, [row], actor):
                row = store.get(conn, actor, unseal_id)
            audit_store.append(conn, [draft(node, actor, "unseal.read", _OBJECT, row.id, request_id=request_id)])
    return _model(node, row)


def list_page(
    node: Node,
    actor: Actor,
    f: RequestFilter,
    cursor: str | None,
    limit: int,
    *,
    overdue: bool = False,
    request_id: str | None = None,
) -> tuple[list[UnsealRequest], str | None]:
    """The organisation's requests; ``overdue`` keeps emergency disclosures whose review is late (and
    escalates those seen late for the first time)."""
    with refusals(node, actor, "unseal.list", request_id):
        policy.require(actor, Action.unseal_read)
        limit = max(1, min(limit, node.settings.page_size_max))
        if overdue:
            f = RequestFilter(f.status, f.report_id, f.emergency, overdue_at=node.clock.now())
        with node.db.write() as conn:
            rows = store.page(conn, actor, f, cursor, limit + 1)
            more = len(rows) > limit
            rows = rows[:limit]
            escalated = set(_escalate(node, conn, rows, actor))
            if escalated:
                rows = [store.get(conn, actor, r.id) if r.id in escalated else r for r in rows]
            audit_store.append(
                conn,
                [
                    draft(
                        node,
                        actor,
                        "unseal.list",
                        _OBJECT,
                        request_id=request_id,
                        detail={"ids": [r.id for r in rows], "overdue": overdue},
                    )
                ],
            )
    return [_model(node, r) for r in rows], rows[-1].id if more else None


def flags(node: Node, actor: Actor, report_id: str, request_id: str | None = None) -> list[ReportFlag]:
    """A report's emergency-disclosure flags: shown to whoever may read the report."""
    with refusals(node, actor, "report.flags", request_id):
        policy.require(actor, Action.report_read)
        now = node.clock.now()
        with node.db.write() as conn:
            report = report_store.get(conn, actor, report_id)
            rows = store.emergency_for_report(conn, actor, report.id)
            if _escalate(node, conn, rows, actor):
                rows = store.emergency_for_report(conn, actor, report.id)
            audit_store.append(
                conn,
                [
                    draft(
                        node,
                        actor,
                        "report.flags",
                        "report",
                        report.id,
                        request_id=request_id,
                        detail={"flags": len(rows)},
                    )
                ],
            )
    out = []
    for r in rows:
        assert r.opened_at is not None and r.review_due_at is not None
        out.append(
            ReportFlag(
                kind="emergency-disclosure",
                request_id=UnsealRequestId(r.id),
                opened_at=r.opened_at,
                review_due_at=r.review_due_at,
                reviewed=r.reviewed_at is not None,
                overdue=_overdue(r, now),
                escalated=r.escalated_at is not None,
            )
        )
    return out


def escalate_overdue(node: Node) -> list[UnsealRequest]:
    """Every organisation's overdue reviews, escalating those not yet escalated (``accord seal overdue``,
    run by the operator, for instance from cron). Returns them all."""
    with node.db.write() as conn:
        rows = store.overdue_all(conn, node.clock.now())
        _escalate(node, conn, rows, None)
        rows = store.overdue_all(conn, node.clock.now())
    return [_model(node, r) for r in rows]


# ----------------------------------------------------------------------------- asking


def create(node: Node, actor: Actor, rin: UnsealRequestIn, request_id: str | None = None) -> UnsealRequest:
    """Ask to open ``rin.fields`` of one report. Checked now against the warrant (so a request that can
    never be opened is refused at once) and checked again at opening."""
    with refusals(node, actor, "unseal.request", request_id) as seen:
        policy.require(actor, Action.unseal_request)
        now = node.clock.now()
        with node.db.write() as conn:
            sealed_fields = store.sealed_part(conn, actor, rin.report_id).fields
            seen.object("report", rin.report_id)
            for i, name in enumerate(rin.fields):
                if name not in sealed_fields:
                    have = ", ".join(sealed_fields) or "none"
                    raise Invalid.at(
                        f"/fields/{i}", f"report {rin.report_id} has no sealed field {name} (it has: {have})"
                    )
            if rin.warrant_id is None:
                if not policy.allowed(actor, Action.unseal_emergency):
                    raise UnsealRefused(
                        "no warrant: opening sealed data needs a recorded warrant in force (POST /v1/warrants); "
                        "only a supervisor may ask without one, for an emergency disclosure",
                        "no-warrant",
                    )
            else:
                warrant = warrant_store.get(conn, actor, rin.warrant_id)
                rules.check(warrant, now, rin.report_id, store.report_keys(conn, actor, rin.report_id), rin.fields)
            row = RequestRow(
                id=node.ids("unr"),
                org_id=actor.org_id,
                warrant_id=rin.warrant_id,
                report_id=rin.report_id,
                fields=list(rin.fields),
                nonce=secrets.token_hex(16),
                requested_by=actor.id,
                requested_at=now,
                status=UnsealStatus.pending.value,
                emergency=False,
            )
            store.insert_request(conn, row)
            audit_store.append(
                conn,
                [
                    draft(
                        node,
                        actor,
                        "unseal.request",
                        _OBJECT,
                        row.id,
                        request_id=request_id,
                        detail={"report_id": row.report_id, "warrant_id": row.warrant_id, "fields": row.fields},
                    )
                ],
            )
    return _model(node, row)


# ----------------------------------------------------------------------------- approving


def _own_custodian(conn: Connection, actor: Actor, custodian_id: str) -> Custodian:
    """The caller's own, unrevoked key registration (another organisation's id reads as missing)."""
    custodian = custodian_store.get(conn, actor, custodian_id)
    if custodian.revoked_at is not None:
        raise UnsealRefused(
            f"custodian key {custodian.id} was revoked; sign with a registered key", "custodian-revoked"
        )
    if custodian.actor_id != actor.id:
        raise UnsealRefused(
            f"custodian key {custodian.id} is another custodian's: sign with your own registered key", "not-your-key"
        )
    return custodian


def _key_active(conn: Connection, actor: Actor, custodian_id: str) -> bool:
    key = custodian_store.get_many(conn, actor, [custodian_id]).get(custodian_id)
    return key is not None and key.revoked_at is None


def _approval_message(row: RequestRow, warrant_id: str, custodian_id: str, approver_id: str) -> bytes:
    return approvals.approval_message(
        request_id=row.id,
        nonce=row.nonce,
        warrant_id=warrant_id,
        report_id=row.report_id,
        fields=row.fields,
        custodian_id=custodian_id,
        approver_id=approver_id,
    )


def approve(node: Node, actor: Actor, unseal_id: str, ain: ApprovalIn, request_id: str | None = None) -> UnsealRequest:
    """Record one custodian's signed approval of a pending request."""
    with refusals(node, actor, "unseal.approve", request_id) as seen:
        policy.require(actor, Action.unseal_approve)
        now = node.clock.now()
        with node.db.write() as conn:
            row = store.get(conn, actor, unseal_id, for_update=True)
            seen.object(_OBJECT, row.id)
            if row.status != UnsealStatus.pending:
                raise UnsealConflict(
                    f"unseal request {row.id} was already opened: approvals are for pending requests", "already-opened"
                )
            if row.warrant_id is None:
                raise UnsealRefused(
                    f"unseal request {row.id} rests on no warrant: custodians approve openings under a warrant "
                    "(an emergency disclosure needs no approval; it gets a review)",
                    "no-warrant",
                )
            if actor.id == row.requested_by:
                raise UnsealRefused("you asked for this opening: another custodian must approve it", "self-approval")
            custodian = _own_custodian(conn, actor, ain.custodian_id)
            earlier = next((a for a in row.approvals if a.approver_id == actor.id), None)
            if earlier is not None and _key_active(conn, actor, earlier.custodian_id):
                raise UnsealConflict(
                    f"you already approved unseal request {row.id}: an approval counts once", "duplicate-approval"
                )
            rules.require_in_force(warrant_store.get(conn, actor, row.warrant_id), now)
            message = _approval_message(row, row.warrant_id, custodian.id, actor.id)
            if not approvals.verify(approvals.parse_public_key(custodian.public_key), message, ain.signature):
                raise UnsealRefused(
                    f"the signature does not verify under custodian key {custodian.id} for this request's approval "
                    "message (request id, nonce, warrant, report, fields, approver)",
                    "bad-signature",
                )
            if earlier is not None:  # signed with a key revoked since: the new signature replaces it
                store.delete_approval(conn, actor, row.id)
            try:
                store.insert_approval(conn, actor, row.id, custodian.id, ain.signature, now)
            except DuplicateKey:  # pragma: no cover - the row lock and the check above come first
                raise UnsealConflict(
                    "you already approved this request: an approval counts once", "duplicate-approval"
                ) from None
            row = store.get(conn, actor, row.id)
            audit_store.append(
                conn,
                [
                    draft(
                        node,
                        actor,
                        "unseal.approve",
                        _OBJECT,
                        row.id,
                        request_id=request_id,
                        detail={
                            "custodian_id": custodian.id,
                            "approvals": len(row.approvals),
                            "replaced": earlier is not None,
                        },
                    )
                ],
            )
    return _model(node, row)


def _valid_approvers(conn: Connection, actor: Actor, row: RequestRow, warrant: Warrant) -> list[str]:
    """Distinct people whose approval of this request still holds: a key still registered to them, the
    custodian role still theirs, not the requester, and a signature that verifies over this request.
    Re-verified at every opening, so a row edited in the database counts for nothing."""
    keys = custodian_store.get_many(conn, actor, [a.custodian_id for a in row.approvals])
    people: list[str] = []
    for a in row.approvals:
        c = keys.get(a.custodian_id)
        if c is None or c.revoked_at is not None or c.actor_id != a.approver_id or a.approver_id == row.requested_by:
            continue
        try:
            approver = org_store.actor_by_id(conn, a.approver_id)
        except NotFound:  # pragma: no cover - actors are never deleted
            continue
        if approver.org_id != actor.org_id or not approver.has(Role.custodian):
            continue
        message = _approval_message(row, warrant.id, c.id, a.approver_id)
        if (
            approvals.verify(approvals.parse_public_key(c.public_key), message, a.signature)
            and a.approver_id not in people
        ):
            people.append(a.approver_id)
    return people


# ----------------------------------------------------------------------------- opening


def _extract(node: Node, row: RequestRow, blob: bytes | None) -> dict[str, Any]:
    if blob is None:
        raise Corrupted(f"report {row.report_id} lists sealed fields but holds no sealed data")
    try:
        payload = orjson.loads(node.sealer.open(blob, row.report_id))
    except (InvalidTag, ValueError):
        log.error("sealed data of report %s failed its integrity check (unseal request %s)", row.report_id, row.id)
        raise Corrupted(
            f"the sealed data of report {row.report_id} failed its integrity check; nothing was opened"
        ) from None
    out: dict[str, Any] = {}
    for name in row.fields:
        value: Any = payload
        for part in name.strip("/").split("/"):
            if not isinstance(value, dict) or part not in value:
                raise Corrupted(f"report {row.report_id}'s sealed data holds no {name}")
            value = value[part]
        out[name] = value
    return out


def open_request(
    node: Node, actor: Actor, unseal_id: str, oin: OpenIn | None = None, request_id: str | None = None
) -> Opened:
    """Open the request's fields and return their values, once. See the module docstring for the rules."""
    oin = oin or OpenIn()
    with refusals(node, actor, "unseal.open", request_id) as seen:
        policy.require(actor, Action.unseal_emergency if oin.emergency else Action.unseal_open)
        if oin.emergency and not oin.reason:
            raise Invalid.at("/reason", "an emergency disclosure needs a reason")
        now = node.clock.now()
        with node.db.write() as conn:
            row = store.get(conn, actor, unseal_id, for_update=True)
            seen.object(_OBJECT, row.id)
            if row.status != UnsealStatus.pending:
                raise UnsealConflict(
                    f"unseal request {row.id} was already opened: an approval round allows one disclosure; ask again",
                    "already-opened",
                )
            # first: a purged report or sealed part is Gone whatever the warrant and approvals say
            sealed = store.sealed_part(conn, actor, row.report_id)
            approvers: list[str] = []
            if not oin.emergency:
                if row.requested_by != actor.id:
                    raise UnsealRefused("only the actor who asked for this opening may open it", "not-requester")
                if row.warrant_id is None:
                    raise UnsealRefused(
                        f"unseal request {row.id} rests on no warrant: only an emergency disclosure opens without one",
                        "no-warrant",
                    )
                warrant = warrant_store.get(conn, actor, row.warrant_id)
                rules.check(warrant, now, row.report_id, store.report_keys(conn, actor, row.report_id), row.fields)
                approvers = _valid_approvers(conn, actor, row, warrant)
                needed = node.settings.unseal_approvals
                if len(approvers) < needed:
                    raise UnsealRefused(
                        f"{needed} approvals from distinct custodians are needed; {len(approvers)} valid recorded",
                        "approvals-missing",
                    )
            values = _extract(node, row, sealed.blob)
            due = now + timedelta(hours=node.settings.emergency_review_hours) if oin.emergency else None
            reason = oin.reason if oin.emergency else None
            if not store.set_opened(
                conn, actor, row.id, now, emergency=oin.emergency, reason=reason, review_due_at=due
            ):
                raise UnsealConflict(
                    f"unseal request {row.id} was opened meanwhile", "already-opened"
                )  # pragma: no cover
            detail: dict[str, object] = {
                "report_id": row.report_id,
                "warrant_id": row.warrant_id,
                "fields": row.fields,
                "emergency": oin.emergency,
                "approvers": approvers,
            }
            if due is not None:
                detail["review_due_at"] = due.isoformat()
            custody_opened(node, conn, actor, row, now, emergency=oin.emergency, digest=sealed.digest)
            audit_store.append(
                conn, [draft(node, actor, "unseal.open", _OBJECT, row.id, request_id=request_id, detail=detail)]
            )
    return Opened(
        request_id=UnsealRequestId(row.id),
        report_id=ReportId(row.report_id),
        opened_at=now,
        emergency=oin.emergency,
        fields=values,
    )


def custody_opened(
    node: Node,
    conn: Connection,
    actor: Actor,
    request: RequestRow,
    opened_at: datetime,
    *,
    emergency: bool,
    digest: str,
) -> int:
    """The one place where an opening of sealed data becomes a custody-log leaf ("unsealed"); returns its
    sequence number.

    Called inside the opening's transaction, before its audit event (the lock order of
    ``accord.services.custody``), so the leaf and the opening commit together or not at all. The leaf is
    about the report and carries its content ``digest``, like every other leaf about that report: an
    evidence bundle checks that every entry about an item carries the item's digest, and the
    ciphertext's digest is neither stable (the data key is per record) nor checkable by anyone without
    the node. ``detail`` names the request, the warrant, the field names (JSON pointers such as
    ``/narrative``: names, not values) and whether it was an emergency.
    """
    names = ",".join(request.fields)
    detail: dict[str, str | int] = {
        "unseal_request_id": request.id,
        "field_count": len(request.fields),
        "emergency": int(emergency),
    }
    if len(names) <= MAX_DETAIL_TEXT:
        detail["fields"] = names  # a very long list of pointers keeps its count only
    if request.warrant_id is not None:
        detail["warrant_id"] = request.warrant_id
    entry = CustodyEntry(
        action=CustodyAction.UNSEALED,
        actor_id=actor.id,
        org_id=actor.org_id,
        at=opened_at,
        object_type="report",
        object_id=request.report_id,
        digest=digest,
        detail=detail,
    )
    return custody.record(node, conn, [entry])[0]


# ----------------------------------------------------------------------------- reviewing


def review(node: Node, actor: Actor, unseal_id: str, rin: ReviewIn, request_id: str | None = None) -> UnsealRequest:
    """A custodian's signed review of an emergency disclosure (due within the review window)."""
    with refusals(node, actor, "unseal.review", request_id) as seen:
        policy.require(actor, Action.unseal_review)
        now = node.clock.now()
        with node.db.write() as conn:
            row = store.get(conn, actor, unseal_id, for_update=True)
            seen.object(_OBJECT, row.id)
            if not row.emergency or row.opened_at is None:
                raise UnsealConflict(
                    f"unseal request {row.id} is not an emergency disclosure: only those are reviewed", "not-emergency"
                )
            if row.reviewed_at is not None:
                raise UnsealConflict(f"emergency disclosure {row.id} was already reviewed", "already-reviewed")
            if actor.id == row.opened_by:
                raise UnsealRefused("you made this disclosure: another custodian must review it", "self-review")
            custodian = _own_custodian(conn, actor, rin.custodian_id)
            message = approvals.review_message(
                request_id=row.id,
                nonce=row.nonce,
                outcome=rin.outcome.value,
                custodian_id=custodian.id,
                approver_id=actor.id,
            )
            if not approvals.verify(approvals.parse_public_key(custodian.public_key), message, rin.signature):
                raise UnsealRefused(
                    f"the signature does not verify under custodian key {custodian.id} for this review message "
                    "(request id, nonce, outcome, reviewer)",
                    "bad-signature",
                )
            if not store.set_reviewed(conn, actor, row.id, now, rin.outcome.value, rin.note, rin.signature):
                raise UnsealConflict(
                    f"emergency disclosure {row.id} was reviewed meanwhile", "already-reviewed"
                )  # pragma: no cover
            assert row.review_due_at is not None
            audit_store.append(
                conn,
                [
                    draft(
                        node,
                        actor,
                        "unseal.review",
                        _OBJECT,
                        row.id,
                        request_id=request_id,
                        detail={
                            "outcome": rin.outcome.value,
                            "custodian_id": custodian.id,
                            "late": now > row.review_due_at,
                        },
                    )
                ],
            )
            row = store.get(conn, actor, row.id)
    return _model(node, row)
