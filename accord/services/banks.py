"""Banks: create, read, add, remove and retract entries, export (docs/matching.md).

Every change bumps the bank's version by one, in the transaction that makes it, and is audited there;
a refused change is audited with its reason (``refusals``) and writes nothing else. The API's functions
take the acting person or key; the ``*_local`` ones are the operator's at the console (``accord bank``),
acting for an organisation named by id, audited with no actor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from accord import plugins
from accord.errors import Invalid, NotFound
from accord.model.bank import Bank, BankIn, EntriesAdded, EntriesIn, Entry
from accord.model.organisation import Actor
from accord.model.verdict import EntryFlag
from accord.safeguards import policy
from accord.safeguards.policy import Action
from accord.services.audit import authorize, draft, refusals
from accord.services.node import Node
from accord.signals.signal_type import Matching
from accord.signals.signal_types import vpdq as vpdq_type
from accord.signals.vpdq import QUALITY_TOLERANCE, VpdqFrame, parse_frames
from accord.store import audit as audit_store
from accord.store import banks as store
from accord.store import orgs as org_store
from accord.store import retention as retention_store
from accord.store import reviews as review_store
from accord.store import sync as sync_store
from accord.store import verdicts as verdict_store

__all__ = [
    "EntryPage",
    "Export",
    "add_entries",
    "add_entries_local",
    "add_in",
    "create",
    "create_in",
    "create_local",
    "export",
    "export_local",
    "feed_items",
    "flags",
    "flags_local",
    "get",
    "get_local",
    "list_banks",
    "list_banks_local",
    "list_entries",
    "remove_entry",
    "remove_entry_local",
    "remove_in",
    "resolve_local",
    "retract_entry",
    "retract_entry_local",
]


def _audit(
    node: Node,
    conn: Connection,
    actor: Actor | None,
    org_id: str,
    action: str,
    bank_id: str,
    request_id: str | None,
    detail: dict[str, object],
) -> None:
    audit_store.append(
        conn, [draft(node, actor, action, "bank", bank_id, request_id=request_id, org_id=org_id, detail=detail)]
    )


# --- banks -------------------------------------------------------------------------------------------


def _checked(node: Node, conn: Connection, org_id: str, body: BankIn) -> dict[str, object]:
    kind = plugins.signal_type(body.type)
    node.vocab.markings.check(body.marking, "/marking")
    if kind.max_distance:
        threshold = node.settings.pdq_threshold if body.threshold is None else body.threshold
        if not 0 <= threshold <= kind.max_distance:
            raise Invalid.at("/threshold", f"a {body.type} threshold is 0 to {kind.max_distance}, got {threshold}")
    else:
        if body.threshold not in (None, 0):
            raise Invalid.at("/threshold", f"{body.type} matches exactly: no threshold")
        threshold = 0
    video = kind.matching is Matching.frames
    for name in ("frame_quality", "query_match_percent", "compared_match_percent"):
        if not video and getattr(body, name) is not None:
            raise Invalid.at(f"/{name}", f"{name} is a vpdq bank's setting, not a {body.type} bank's")
    if body.agreement_id is not None:
        # an agreement the organisation is no party to is "no agreement", as a missing one
        if not retention_store.parties_of(conn, org_id, [body.agreement_id]):
            raise NotFound(f"/agreement_id: no agreement {body.agreement_id} that your organisation is party to")
        cap = store.agreement_max_marking(conn, body.agreement_id)
        terms = node.vocab.markings.terms
        if cap in terms and terms[body.marking].attrs["rank"] > terms[cap].attrs["rank"]:
            raise Invalid.at("/marking", f"agreement {body.agreement_id} allows at most {cap}, not {body.marking}")
    row: dict[str, object] = {
        "name": body.name,
        "signal_type": kind.get_name(),
        "threshold": threshold,
        "marking": body.marking,
        "agreement_id": body.agreement_id,
        "fp_flag_count": body.fp_flag_count,
        "fp_flag_share": body.fp_flag_share,
    }
    if video:
        row |= {
            "frame_quality": QUALITY_TOLERANCE if body.frame_quality is None else body.frame_quality,
            "query_match_percent": 80.0 if body.query_match_percent is None else body.query_match_percent,
            "compared_match_percent": 0.0 if body.compared_match_percent is None else body.compared_match_percent,
        }
    return row


def _create(node: Node, org_id: str, actor: Actor | None, body: BankIn, request_id: str | None) -> Bank:
    with node.db.write() as conn:
        return create_in(node, conn, org_id, actor, body, request_id)


def create_in(
    node: Node, conn: Connection, org_id: str, actor: Actor | None, body: BankIn, request_id: str | None
) -> Bank:
    """Create a bank in the caller's transaction (sync creates mirror banks with the batch that fills them)."""
    row = _checked(node, conn, org_id, body)
    bank_id = node.ids("bnk")
    now = node.clock.now()
    store.insert_bank(conn, bank_id, org_id, {**row, "created_by": actor.id if actor else None}, now)
    bank = store.get(conn, org_id, bank_id, now)
    _audit(
        node,
        conn,
        actor,
        org_id,
        "bank.create",
        bank_id,
        request_id,
        {
            "type": bank.type,
            "threshold": bank.threshold,
            "marking": bank.marking,
            "agreement_id": bank.agreement_id,
        },
    )
    return bank


def create(node: Node, actor: Actor, body: BankIn, request_id: str | None = None) -> Bank:
    with refusals(node, actor, "bank.create", request_id):
        policy.require(actor, Action.bank_manage)
        return _create(node, actor.org_id, actor, body, request_id)


def create_local(node: Node, org_id: str, body: BankIn) -> Bank:
    return _create(node, _org(node, org_id), None, body, None)


def _org(node: Node, org_id: str) -> str:
    with node.db.read() as conn:
        return org_store.org_by_id(conn, org_id).id


def list_banks(node: Node, actor: Actor, request_id: str | None = None) -> list[Bank]:
    """The banks the caller's organisation sees: its own and those shared with it by a valid agreement."""
    authorize(node, actor, Action.bank_read, request_id)
    with node.db.write() as conn:
        found = store.visible(conn, actor.org_id, node.clock.now())
        audit_store.append(
            conn, [draft(node, actor, "bank.list", request_id=request_id, detail={"ids": [b.id for b in found]})]
        )
    return found


def list_banks_local(node: Node, org_id: str) -> list[Bank]:
    with node.db.read() as conn:
        return store.visible(conn, org_store.org_by_id(conn, org_id).id, node.clock.now())


def get(node: Node, actor: Actor, bank_id: str, request_id: str | None = None) -> Bank:
    authorize(node, actor, Action.bank_read, request_id)
    with refusals(node, actor, "bank.read", request_id), node.db.write() as conn:
        bank = store.get(conn, actor.org_id, bank_id, node.clock.now())
        _audit(node, conn, actor, actor.org_id, "bank.read", bank.id, request_id, {})
    return bank


def get_local(node: Node, org_id: str, bank_id: str) -> Bank:
    with node.db.read() as conn:
        return store.get(conn, org_store.org_by_id(conn, org_id).id, bank_id, node.clock.now())


def resolve_local(node: Node, org_id: str, name_or_id: str) -> str:
    """The id of the organisation's own bank named (or with the id) ``name_or_id``."""
    with node.db.read() as conn:
        org = org_store.org_by_id(conn, org_id).id
        try:
            return store.get_owned(conn, org, name_or_id, node.clock.now(), lock=False).id
        except NotFound:
            return store.owned_by_name(conn, org, name_or_id)


# --- entries -----------------------------------------------------------------------------------------


def _add(
    node: Node, org_id: str, actor: Actor | None, bank_id: str, body: EntriesIn, request_id: str | None
) -> EntriesAdded:
    with node.db.write() as conn:
        return add_in(node, conn, org_id, actor, bank_id, body, request_id)


def add_in(
    node: Node,
    conn: Connection,
    org_id: str,
    actor: Actor | None,
    bank_id: str,
    body: EntriesIn,
    request_id: str | None,
) -> EntriesAdded:
    """Add entries in the caller's transaction (``add_entries``); what is added enters the feeds the bank
    is shared into, in the same transaction."""
    now = node.clock.now()
    bank = store.get_owned(conn, org_id, bank_id, now)
    kind = plugins.signal_type(bank.type)
    video = kind.matching is Matching.frames
    values: dict[str, str | None] = {}
    frames: dict[str, list[VpdqFrame]] = {}  # a vPDQ entry's frames, under its value (the digest)
    for i, e in enumerate(body.entries):
        if len(e.value) > kind.max_length:
            raise Invalid.at(f"/entries/{i}/value", f"at most {kind.max_length:,} characters for {bank.type}")
        try:
            canonical = kind.validate(e.value)
        except Invalid as exc:
            raise Invalid.at(f"/entries/{i}/value", next(iter(exc.errors.values()), exc.detail)) from None
        if video:
            frames[vpdq_type.digest(canonical)] = parse_frames(canonical)
            canonical = vpdq_type.digest(canonical)
        values.setdefault(canonical, e.source)
    present = store.existing_values(conn, bank.id, list(values))
    fresh = [(v, s) for v, s in values.items() if v not in present]
    added: list[Entry] = []
    if fresh:
        version = store.bump_version(conn, bank.id, now)
        rows = [{"value": v, "source": s, "added_by": actor.id if actor else None, "added_at": now} for v, s in fresh]
        added = store.insert_entries(conn, bank, rows, version)
        if video:
            store.insert_frames(conn, {e.id: frames[e.value] for e in added})
            added = [e.model_copy(update={"frames": len(frames[e.value])}) for e in added]
        _to_feeds(conn, bank, "add", added, version, now)
        _audit(
            node,
            conn,
            actor,
            org_id,
            "bank.entries.add",
            bank.id,
            request_id,
            {"added": len(added), "already_present": len(body.entries) - len(added), "version": version},
        )
    bank = store.get(conn, org_id, bank.id, now)
    return EntriesAdded(bank=bank, added=added, already_present=len(body.entries) - len(added))


def add_entries(node: Node, actor: Actor, bank_id: str, body: EntriesIn, request_id: str | None = None) -> EntriesAdded:
    """Add entries (values in the bank's type, canonicalised); a value the bank holds already is not added
    twice. All or nothing: one bad value refuses the batch, naming it."""
    with refusals(node, actor, "bank.entries.add", request_id):
        policy.require(actor, Action.bank_manage)
        return _add(node, actor.org_id, actor, bank_id, body, request_id)


def add_entries_local(node: Node, org_id: str, bank_id: str, body: EntriesIn) -> EntriesAdded:
    return _add(node, _org(node, org_id), None, bank_id, body, None)


def _remove(
    node: Node,
    org_id: str,
    actor: Actor | None,
    bank_id: str,
    entry_id: int,
    reason: str | None,
    request_id: str | None,
) -> Entry:
    with node.db.write() as conn:
        return remove_in(node, conn, org_id, actor, bank_id, entry_id, reason, request_id)


def remove_in(
    node: Node,
    conn: Connection,
    org_id: str,
    actor: Actor | None,
    bank_id: str,
    entry_id: int,
    reason: str | None,
    request_id: str | None,
) -> Entry:
    """Remove (``reason`` None) or retract an entry in the caller's transaction; the change enters the
    feeds the bank is shared into, so a retraction reaches every node that pulled the entry."""
    action = "bank.entry.retract" if reason is not None else "bank.entry.remove"
    now = node.clock.now()
    bank = store.get_owned(conn, org_id, bank_id, now)
    current = store.entry(conn, bank.id, entry_id)
    if current.removed_in_version is not None and (reason is None or current.retracted):
        return current  # removed (or retracted) already: nothing changes, the version stays
    version = store.bump_version(conn, bank.id, now)
    done = store.remove_entry(conn, bank.id, entry_id, version, now, reason=reason)
    _to_feeds(conn, bank, "retract" if reason is not None else "remove", [done], version, now)
    detail: dict[str, object] = {"entry_id": entry_id, "version": version}
    if reason is not None:
        # counts only: the owner learns how much the retraction reached, never whose reports
        detail |= _review_matches(node, conn, bank.id, entry_id, request_id)
    _audit(node, conn, actor, org_id, action, bank.id, request_id, detail)
    return done


def feed_items(
    share: sync_store.Share, bank: Bank, op: str, entries: list[Entry], version: int
) -> list[sync_store.NewFeedItem]:
    """The feed items of a change to a bank shared into an agreement's feed: one per entry, named
    ``<bank id>/<entry id>`` with the bank version that made the change (what a puller's idempotency keys on)."""
    head = {"id": bank.id, "name": bank.name, "type": bank.type, "threshold": bank.threshold, "marking": bank.marking}
    return [
        sync_store.NewFeedItem(
            share.agreement_id,
            "bank.entry",
            f"{bank.id}/{e.id}",
            version,
            bank.marking,
            share.category,
            share.received_under,
            {
                "op": op,
                "bank": head,
                "entry": {"id": e.id, "value": e.value},
                "reason": e.retracted_reason if op == "retract" else None,
            },
        )
        for e in entries
    ]


def _to_feeds(conn: Connection, bank: Bank, op: str, entries: list[Entry], version: int, at: datetime) -> None:
    """Append a change to the feeds the bank is shared into. A removed share takes no add or removal, but
    still takes the retraction of an entry it put into the feed: removing a share is not a retraction, and
    the receivers keep what it shared, so a correction of it is still owed to them."""
    for share in sync_store.shares_of(conn, bank.id):
        chosen = entries
        if share.removed_at is not None:
            if op != "retract":
                continue
            chosen = [e for e in entries if sync_store.last_version(conn, share.agreement_id, f"{bank.id}/{e.id}")]
        sync_store.append_feed(conn, feed_items(share, bank, op, chosen, version), at)


def _review_matches(
    node: Node, conn: Connection, bank_id: str, entry_id: int, request_id: str | None
) -> dict[str, int]:
    """A retraction's reach: every match the entry produced is marked retracted, and each organisation
    holding one gets a review of each matched report and of each of its cases citing one, with one
    ``review.open`` audit event (its own report and review ids)."""
    now = node.clock.now()
    produced = verdict_store.of_entry(conn, entry_id)
    verdict_store.retract(conn, [m for m, _, _ in produced], now)
    per_org: dict[str, dict[str, int]] = {}
    for _, org, report in produced:
        per_org.setdefault(org, {})
        per_org[org][report] = per_org[org].get(report, 0) + 1
    opened = 0
    for org, reports in sorted(per_org.items()):
        items = [review_store.NewReview(org, "report", r, bank_id, entry_id, n) for r, n in sorted(reports.items())]
        for case_id, cited in review_store.cases_citing(conn, org, list(reports)).items():
            items.append(
                review_store.NewReview(org, "case", case_id, bank_id, entry_id, sum(reports[r] for r in cited))
            )
        made = review_store.insert_new(conn, items, "entry_retracted", lambda: node.ids("rvw"), now)
        opened += len(made)
        if made:
            audit_store.append(
                conn,
                [
                    draft(
                        node,
                        None,
                        "review.open",
                        "review",
                        request_id=request_id,
                        org_id=org,
                        detail={
                            "reason": "entry_retracted",
                            "bank_id": bank_id,
                            "entry_id": entry_id,
                            "ids": [r.id for r in made],
                            "reports": sorted(reports),
                            "cases": sorted(r.object_id for r in made if r.object_type == "case"),
                        },
                    )
                ],
            )
    return {"matches": len(produced), "organisations": len(per_org), "reviews": opened}


def remove_entry(node: Node, actor: Actor, bank_id: str, entry_id: int, request_id: str | None = None) -> Entry:
    """Take an entry out of the bank (it stops matching from the new version on). Removing it again
    changes nothing and answers the entry as it is."""
    with refusals(node, actor, "bank.entry.remove", request_id):
        policy.require(actor, Action.bank_manage)
        return _remove(node, actor.org_id, actor, bank_id, entry_id, None, request_id)


def remove_entry_local(node: Node, org_id: str, bank_id: str, entry_id: int) -> Entry:
    return _remove(node, _org(node, org_id), None, bank_id, entry_id, None, None)


def retract_entry(
    node: Node, actor: Actor, bank_id: str, entry_id: int, reason: str, request_id: str | None = None
) -> Entry:
    """Retract an entry: it was wrong. It is removed (if it was not already) and flagged retracted with
    the reason, so that the matches it produced can be found and reviewed."""
    with refusals(node, actor, "bank.entry.retract", request_id):
        policy.require(actor, Action.bank_manage)
        return _remove(node, actor.org_id, actor, bank_id, entry_id, reason, request_id)


def retract_entry_local(node: Node, org_id: str, bank_id: str, entry_id: int, reason: str) -> Entry:
    return _remove(node, _org(node, org_id), None, bank_id, entry_id, reason, None)


@dataclass(frozen=True)
class EntryPage:
    items: list[Entry]
    next_cursor: int | None


def list_entries(
    node: Node,
    actor: Actor,
    bank_id: str,
    after: int | None,
    limit: int,
    *,
    include_removed: bool = False,
    request_id: str | None = None,
) -> EntryPage:
    authorize(node, actor, Action.bank_read, request_id)
    limit = max(1, min(limit, node.settings.page_size_max))
    with refusals(node, actor, "bank.entries.read", request_id), node.db.write() as conn:
        bank = store.get(conn, actor.org_id, bank_id, node.clock.now())
        items = store.entries_page(conn, bank.id, after, limit + 1, include_removed=include_removed)
        more = len(items) > limit
        items = _with_counts(conn, bank, items[:limit])
        _audit(node, conn, actor, actor.org_id, "bank.entries.read", bank.id, request_id, {"count": len(items)})
    return EntryPage(items, items[-1].id if more else None)


def _with_counts(conn: Connection, bank: Bank, items: list[Entry]) -> list[Entry]:
    """Entries with their match and verdict counts (and a vPDQ entry's frame count)."""
    ids = [e.id for e in items]
    counts = verdict_store.entry_counts(conn, ids)
    frames = store.frame_counts(conn, ids) if bank.type == store.VPDQ else {}
    return [e.model_copy(update={"counts": counts[e.id], "frames": frames.get(e.id)}) for e in items]


def _flags(node: Node, org_id: str, actor: Actor | None, bank_id: str, request_id: str | None) -> list[EntryFlag]:
    with node.db.write() as conn:
        bank = store.get_owned(conn, org_id, bank_id, node.clock.now(), lock=False)
        found = verdict_store.flags(conn, bank.id)
        _audit(node, conn, actor, org_id, "bank.flags.read", bank.id, request_id, {"count": len(found)})
    return found


def flags(node: Node, actor: Actor, bank_id: str, request_id: str | None = None) -> list[EntryFlag]:
    """The entries of the organisation's own bank flagged for their false positives (a bank shared with
    the caller is its owner's to read: 403)."""
    authorize(node, actor, Action.bank_read, request_id)
    with refusals(node, actor, "bank.flags.read", request_id):
        return _flags(node, actor.org_id, actor, bank_id, request_id)


def flags_local(node: Node, org_id: str, bank_id: str) -> list[EntryFlag]:
    return _flags(node, _org(node, org_id), None, bank_id, None)


@dataclass(frozen=True)
class Export:
    bank: Bank
    entries: list[Entry]
    values: list[str]
    """Each entry's signal as exchanged: its value, or for a vPDQ entry ThreatExchange's ``signal_str`` (a
    JSON list of ``pdq_hex,quality,timestamp`` strings), which ``accord bank import`` reads back."""


def _export(node: Node, org_id: str, actor: Actor | None, bank_id: str, request_id: str | None) -> Export:
    with node.db.write() as conn:
        bank = store.get(conn, org_id, bank_id, node.clock.now())
        entries: list[Entry] = []
        after: int | None = None
        while page := store.entries_page(conn, bank.id, after, 10_000):
            entries += page
            after = page[-1].id
        values = [e.value for e in entries]
        if bank.type == store.VPDQ:
            frames = store.frames_of(conn, [e.id for e in entries])
            values = [json.dumps([f"{f.pdq_hex},{f.quality},{f.timestamp:.3f}" for f in frames[e.id]]) for e in entries]
        _audit(node, conn, actor, org_id, "bank.export", bank.id, request_id, {"entries": len(entries)})
    return Export(bank, entries, values)


def export(node: Node, actor: Actor, bank_id: str, request_id: str | None = None) -> Export:
    """The bank and every entry it holds now (an empty bank exports as a bank with no entries)."""
    authorize(node, actor, Action.bank_read, request_id)
    with refusals(node, actor, "bank.export", request_id):
        return _export(node, actor.org_id, actor, bank_id, request_id)


def export_local(node: Node, org_id: str, bank_id: str) -> Export:
    return _export(node, _org(node, org_id), None, bank_id, None)
