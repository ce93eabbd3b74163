"""Recorded matches as their organisation sees them, verdicts on them, entries' counts, entry flags and
what a retraction or a purge does to matches (docs/matching.md, "Verdicts and flags", "Retraction").

Scoping: a match belongs to the organisation of the report it matched; ``record`` and ``of_report`` find
only the caller's (another's is a NotFound, as a missing one). Entry counts and flags are counts across
every organisation's verdicts and name no report: they are what a bank's owner may read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from accord.errors import NotFound
from accord.model.bank import EntryCounts
from accord.model.verdict import EntryFlag, MatchRecord, Verdict, VerdictKind
from accord.store.schema import banks, entry_flags, match_verdicts, matches
from accord.store.sync import remote_counts

__all__ = [
    "FlagPolicy",
    "delete_for_reports",
    "entry_counts",
    "flag_policy",
    "flags",
    "insert_flag",
    "of_entry",
    "of_report",
    "record",
    "retract",
    "set_verdict",
]

_CHUNK = 5000


def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


def _verdict(row: Any) -> Verdict:
    return Verdict(
        verdict=VerdictKind(row.verdict),
        note=row.note,
        actor_id=row.actor_id,
        at=row.at,
        superseded_at=row.superseded_at,
    )


def _records(conn: Connection, rows: list[Any]) -> list[MatchRecord]:
    ids = [r.id for r in rows]
    said: dict[int, list[Verdict]] = {i: [] for i in ids}
    v = match_verdicts.c
    for chunk in _chunks(ids):
        for row in conn.execute(select(match_verdicts).where(v.match_id.in_(chunk)).order_by(v.id)):
            said[row.match_id].append(_verdict(row))
    out = []
    for r in rows:
        verdicts = said[r.id]
        current = next((x for x in verdicts if x.superseded_at is None), None)
        out.append(
            MatchRecord(
                id=r.id,
                org_id=r.org_id,
                report_id=r.report_id,
                key=r.key,
                bank_id=r.bank_id,
                entry_id=r.entry_id,
                distance=r.distance,
                threshold=r.threshold,
                bank_version=r.bank_version,
                matched_at=r.matched_at,
                status=r.status,
                verdict=current,
                history=[x for x in verdicts if x.superseded_at is not None],
            )
        )
    return out


def record(conn: Connection, org_id: str, match_id: int) -> MatchRecord:
    """One of the organisation's matches; another organisation's is a NotFound, as a missing one."""
    m = matches.c
    row = conn.execute(select(matches).where(m.id == match_id, m.org_id == org_id)).first()
    if row is None:
        raise NotFound(f"no match {match_id}")
    return _records(conn, [row])[0]


def of_report(conn: Connection, org_id: str, report_id: str) -> list[MatchRecord]:
    m = matches.c
    rows = list(conn.execute(select(matches).where(m.org_id == org_id, m.report_id == report_id).order_by(m.id)))
    return _records(conn, rows)


def set_verdict(
    conn: Connection, match: MatchRecord, verdict: VerdictKind, note: str | None, actor_id: str | None, at: datetime
) -> None:
    """Make ``verdict`` the match's current one; the one it replaces is kept, marked superseded."""
    v = match_verdicts.c
    conn.execute(
        update(match_verdicts).where(v.match_id == match.id, v.superseded_at.is_(None)).values(superseded_at=at)
    )
    conn.execute(
        insert(match_verdicts).values(
            match_id=match.id,
            org_id=match.org_id,
            bank_id=match.bank_id,
            entry_id=match.entry_id,
            verdict=verdict.value,
            note=note,
            actor_id=actor_id,
            at=at,
        )
    )


def entry_counts(conn: Connection, entry_ids: Sequence[int]) -> dict[int, EntryCounts]:
    """Per entry: its matches and its current verdicts by kind, across every organisation (counts only), with
    the verdict counts peers sent back on it (their matches against their mirror of the entry; sync)."""
    out = {i: EntryCounts() for i in entry_ids}
    m, v = matches.c, match_verdicts.c
    for chunk in _chunks(sorted(set(entry_ids))):
        made = select(m.entry_id, func.count()).where(m.entry_id.in_(chunk)).group_by(m.entry_id)
        for entry_id, n in conn.execute(made):
            out[entry_id] = out[entry_id].model_copy(update={"matches": n})
        said = (
            select(v.entry_id, v.verdict, func.count())
            .where(v.entry_id.in_(chunk), v.superseded_at.is_(None))
            .group_by(v.entry_id, v.verdict)
        )
        for entry_id, verdict, n in conn.execute(said):
            out[entry_id] = out[entry_id].model_copy(update={verdict: n})
    for entry_id, (confirmed, fp, na) in remote_counts(conn, list(out)).items():
        c = out[entry_id]
        out[entry_id] = c.model_copy(
            update={
                "confirmed": c.confirmed + confirmed,
                "false_positive": c.false_positive + fp,
                "not_actionable": c.not_actionable + na,
            }
        )
    return out


@dataclass(frozen=True)
class FlagPolicy:
    bank_id: str
    owner: str
    count: int
    share: int

    def due(self, counts: EntryCounts) -> bool:
        said = counts.confirmed + counts.false_positive + counts.not_actionable
        fp = counts.false_positive
        return fp >= self.count and fp * 100 >= self.share * said


def flag_policy(conn: Connection, bank_id: str) -> FlagPolicy:
    """The bank's flag thresholds and owner (read for a verdict on a match it produced, visible or not now)."""
    b = banks.c
    row = conn.execute(select(b.org_id, b.fp_flag_count, b.fp_flag_share).where(b.id == bank_id)).one()
    return FlagPolicy(bank_id, row.org_id, row.fp_flag_count, row.fp_flag_share)


def insert_flag(
    conn: Connection, bank_id: str, entry_id: int, reason: str, counts: EntryCounts, at: datetime
) -> EntryFlag | None:
    """Flag the entry for ``reason``, once: None when it was flagged for that already."""
    f = entry_flags.c
    if conn.execute(select(f.id).where(f.entry_id == entry_id, f.reason == reason)).first() is not None:
        return None
    said = counts.confirmed + counts.false_positive + counts.not_actionable
    conn.execute(
        insert(entry_flags).values(
            bank_id=bank_id,
            entry_id=entry_id,
            reason=reason,
            false_positives=counts.false_positive,
            verdicts=said,
            raised_at=at,
        )
    )
    row = conn.execute(select(entry_flags).where(f.entry_id == entry_id, f.reason == reason)).one()
    return _flag(row)


def _flag(row: Any) -> EntryFlag:
    return EntryFlag(
        id=row.id,
        bank_id=row.bank_id,
        entry_id=row.entry_id,
        reason=row.reason,
        false_positives=row.false_positives,
        verdicts=row.verdicts,
        raised_at=row.raised_at,
    )


def flags(conn: Connection, bank_id: str) -> list[EntryFlag]:
    """The bank's flags, oldest first (the caller has checked the bank is the asker's own)."""
    f = entry_flags.c
    return [_flag(r) for r in conn.execute(select(entry_flags).where(f.bank_id == bank_id).order_by(f.id))]


# --- retraction and purge ----------------------------------------------------------------------------


def of_entry(conn: Connection, entry_id: int) -> list[tuple[int, str, str]]:
    """(match id, organisation, report id) of every match the entry produced, whoever holds it."""
    m = matches.c
    q = select(m.id, m.org_id, m.report_id).where(m.entry_id == entry_id).order_by(m.id)
    return [(r.id, r.org_id, r.report_id) for r in conn.execute(q)]


def retract(conn: Connection, match_ids: Sequence[int], at: datetime) -> None:
    m = matches.c
    for chunk in _chunks(match_ids):
        conn.execute(
            update(matches).where(m.id.in_(chunk), m.status != "retracted").values(status="retracted", retracted_at=at)
        )


def delete_for_reports(conn: Connection, org_id: str, report_ids: Sequence[str]) -> int:
    """Remove the organisation's matches of these reports and their verdicts (a purge); returns how many
    matches went. The entry's counts lose them: a purged report says nothing about an entry any more."""
    m, v = matches.c, match_verdicts.c
    gone = 0
    for chunk in _chunks(report_ids):
        ids = list(conn.execute(select(m.id).where(m.org_id == org_id, m.report_id.in_(chunk))).scalars())
        for part in _chunks(ids):
            conn.execute(delete(match_verdicts).where(v.match_id.in_(part)))
            conn.execute(delete(matches).where(m.id.in_(part)))
        gone += len(ids)
    return gone
