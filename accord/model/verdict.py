"""The signal-quality loop: what an analyst says of a recorded match, what an entry's verdicts add up to,
and the flag its bank's owner gets when they say it is wrong too often (docs/matching.md)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from accord.model.base import Inbound, Outbound

__all__ = ["EntryFlag", "MatchRecord", "Verdict", "VerdictIn", "VerdictKind"]


class VerdictKind(StrEnum):
    confirmed = "confirmed"  # the matched media is what the entry says it is
    false_positive = "false_positive"  # it is not: the entry (or the threshold) is wrong for it
    not_actionable = "not_actionable"  # right, but nothing to act on (known, out of scope, already handled)


class VerdictIn(Inbound):
    verdict: VerdictKind
    # a code, not free text: the owner's counts and the audit trail never carry words about a report
    note: str | None = Field(
        default=None, max_length=40, pattern=r"^[a-z][a-z0-9_]*$", description="a note code, e.g. 'cropped_copy'"
    )


class Verdict(Outbound):
    verdict: VerdictKind
    note: str | None
    actor_id: str | None
    at: datetime
    superseded_at: datetime | None


class MatchRecord(Outbound):
    """A recorded match of one of the organisation's reports, with its current verdict and the earlier ones."""

    id: int
    org_id: str
    report_id: str
    key: str
    bank_id: str
    entry_id: int
    distance: int
    threshold: int
    bank_version: int
    matched_at: datetime
    status: str = Field(description="active, or retracted once its entry was retracted")
    verdict: Verdict | None
    history: list[Verdict] = Field(description="earlier verdicts, oldest first")


class EntryFlag(Outbound):
    """An entry flagged to its bank's owner: how many verdicts, how many of them false positives."""

    id: int
    bank_id: str
    entry_id: int
    reason: str
    false_positives: int
    verdicts: int
    raised_at: datetime
