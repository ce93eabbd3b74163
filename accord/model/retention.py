"""Retention rules, and how long a report's data is kept under them (docs/retention.md).

A rule keeps one data category (vocabulary ``retention``: the whole ``report``, or its ``sealed`` part) of
an organisation's reports for a number of days after the node stored them, optionally only for reports
held under one agreement. An agreement's own ``retention_days`` caps the whole report held under it, rule
or no rule. Where several limits apply, the shortest wins: a rule can shorten retention, never lengthen
what another rule or an agreement allows.

Why from ``ingested_at`` (when this node stored the report) and not ``received_at``: the latter is the
submitter's word, and a report claiming to be received in 2099 would never expire; the node's own clock
is also what the custody log's ``received`` leaf records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import Field, model_validator

from accord.ids import ActorId, OrgId
from accord.model.base import Inbound, Outbound

__all__ = [
    "MAX_DAYS",
    "AgreementCap",
    "CategoryPlan",
    "Limit",
    "RetentionRule",
    "RetentionRuleIn",
    "RetentionRules",
    "RetentionRulesIn",
    "plan",
]

MAX_DAYS = 36500  # as an agreement's retention_days


class RetentionRuleIn(Inbound):
    category: str = Field(max_length=40, description="vocabulary: retention (report, sealed)")
    days: int = Field(ge=1, le=MAX_DAYS, description="kept this many days after the node stored the report")
    agreement_id: str | None = Field(
        default=None, min_length=1, max_length=40, description="only reports held under this agreement"
    )


class RetentionRulesIn(Inbound):
    """The organisation's whole rule set: what is not listed is no longer a rule."""

    rules: list[RetentionRuleIn] = Field(max_length=200)

    @model_validator(mode="after")
    def _one_rule_per_scope(self) -> RetentionRulesIn:
        seen: dict[tuple[str, str | None], int] = {}
        for i, r in enumerate(self.rules):
            first = seen.setdefault((r.category, r.agreement_id), i)
            if first != i:
                raise ValueError(f"rules {first} and {i} both set category {r.category!r} for the same agreement")
        return self


class RetentionRule(Outbound):
    id: str
    org_id: OrgId
    category: str
    days: int
    agreement_id: str | None
    set_by: ActorId | None = Field(description="the admin who set it; null: the node operator at the console")
    set_at: datetime


class AgreementCap(Outbound):
    """An agreement the organisation is party to: whole reports held under it go after ``retention_days``."""

    agreement_id: str
    retention_days: int


class RetentionRules(Outbound):
    rules: list[RetentionRule]
    agreement_caps: list[AgreementCap]


@dataclass(frozen=True)
class Limit:
    """How long, and why: the rule that sets it (None: the agreement's own retention_days)."""

    days: int
    rule_id: str | None = None
    agreement_id: str | None = None

    def cutoff(self, now: datetime) -> datetime:
        """Reports stored at or before this are expired: kept ``days`` days, not a second more."""
        return now - timedelta(days=self.days)


@dataclass(frozen=True)
class CategoryPlan:
    """Which of an organisation's reports are expired for one category at one moment.

    ``general`` applies to every report; ``by_agreement`` holds, for reports held under an agreement,
    the limits shorter than ``general`` (only those add anything to it)."""

    org_id: str
    category: str
    general: Limit | None
    by_agreement: Mapping[str, Limit] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.general is None and not self.by_agreement

    def limit_for(self, agreement_id: str | None) -> Limit | None:
        """The shortest limit that applies to a report held under ``agreement_id`` (None: none)."""
        special = self.by_agreement.get(agreement_id) if agreement_id is not None else None
        return special if special is not None else self.general


def _shortest(limits: Iterable[Limit]) -> Limit | None:
    return min(limits, key=lambda lim: lim.days, default=None)


def plan(org_id: str, category: str, rules: Iterable[RetentionRule], caps: Iterable[AgreementCap]) -> CategoryPlan:
    """The limits of one organisation for one category, from its rules and its agreements' caps."""
    mine = [r for r in rules if r.org_id == org_id and r.category == category]
    general = _shortest(Limit(r.days, r.id) for r in mine if r.agreement_id is None)
    candidates: dict[str, list[Limit]] = {}
    for r in mine:
        if r.agreement_id is not None:
            candidates.setdefault(r.agreement_id, []).append(Limit(r.days, r.id, r.agreement_id))
    if category == "report":  # an agreement caps the whole report, and with it every part
        for cap in caps:
            candidates.setdefault(cap.agreement_id, []).append(Limit(cap.retention_days, None, cap.agreement_id))
    by_agreement: dict[str, Limit] = {}
    for agreement_id, limits in candidates.items():
        best = _shortest(limits)
        if best is not None and (general is None or best.days < general.days):
            by_agreement[agreement_id] = best
    return CategoryPlan(org_id, category, general, by_agreement)
