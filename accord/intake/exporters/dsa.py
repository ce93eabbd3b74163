"""EU DSA statements of reasons (Art. 17, 24(5) DSA) for the Commission's Transparency Database.

A stored report filed by a platform stands for one moderation decision on the reported content; this
exporter writes one statement per report, in the batch endpoint's body layout
(``POST /api/v1/statements`` takes ``{"statements": [...]}`` with 1 to 100 statements), one batch
body per line, so each line can be posted as it is. Field by field mapping: ``docs/formats/dsa.md``.

Why every text is generated: a statement must carry no personal data, and a report's free text and
identifiers are exactly where personal data lives. So the statement is built only from codes (our
category, source and media types), dates and the report id; nothing a submitter typed is copied.
What Accord cannot know (what the platform actually did, whether it used automation, which law it
relied on) comes from ``DsaOptions``, stated once by the platform, never guessed per report.

Reports whose source has no DSA source type (``partner`` by default), or whose statement would fail
``validate_statement`` (a received date before 2000, say), are skipped: ``write`` returns the number
written, and the caller compares it with the number given (``DsaExporter.statement`` says which).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import IO, Any

import orjson

from accord.intake import dsa_schema as schema
from accord.intake.formats import ExportContext
from accord.model.identifier import IdentifierKind
from accord.model.report import Report, SubjectRole
from accord.plugins.hookspecs import hookimpl

__all__ = ["INCIDENTS", "DsaExporter", "DsaOptions", "Incident"]


@dataclass(frozen=True)
class Incident:
    """How one of our categories reads in a statement: DSA keywords (``KEYWORD_OTHER`` with
    ``other`` when none fits), a neutral phrase for the generated texts, and the legal ground."""

    keywords: tuple[str, ...]
    phrase: str
    legal_ground: str
    other: str | None = None


_CSA_DIRECTIVE = "Directive 2011/93/EU"
_AS_TRANSPOSED = "as transposed into national law"

# Our incident_type -> DSA classification. Every statement's category is PROTECTION_OF_MINORS; the
# keywords are the reference's ones grouped under it (section 3) where one fits, KEYWORD_OTHER else.
INCIDENTS: Mapping[str, Incident] = MappingProxyType(
    {
        "csam": Incident(
            ("KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",),
            "child sexual abuse material",
            f"{_CSA_DIRECTIVE}, Art. 5 (offences concerning child pornography), {_AS_TRANSPOSED}",
        ),
        "grooming": Incident(
            ("KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",),
            "solicitation of a child for sexual purposes (grooming)",
            f"{_CSA_DIRECTIVE}, Art. 6 (solicitation of children for sexual purposes), {_AS_TRANSPOSED}",
        ),
        "enticement": Incident(
            ("KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",),
            "online enticement of a child for sexual purposes",
            f"{_CSA_DIRECTIVE}, Art. 6 (solicitation of children for sexual purposes), {_AS_TRANSPOSED}",
        ),
        "extortion": Incident(
            ("KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS", "KEYWORD_OTHER"),
            "sexual extortion of a child",
            f"{_CSA_DIRECTIVE}, Arts. 3 to 5 (sexual abuse, sexual exploitation, child pornography), {_AS_TRANSPOSED}",
            other="Sexual extortion of a child",
        ),
        "trafficking": Incident(
            ("KEYWORD_HUMAN_TRAFFICKING",),
            "trafficking of a child for sexual exploitation",
            f"Directive 2011/36/EU, Art. 2 (trafficking in human beings), and {_CSA_DIRECTIVE}, Art. 4 "
            f"(sexual exploitation), {_AS_TRANSPOSED}",
        ),
        "travelling-offender": Incident(
            ("KEYWORD_OTHER",),
            "arranging travel to sexually abuse children",
            f"{_CSA_DIRECTIVE}, Arts. 3, 4 and 21 (sexual abuse and exploitation; child sex tourism), {_AS_TRANSPOSED}",
            other="Travelling child sex offender",
        ),
        "unsolicited-material": Incident(
            ("KEYWORD_OTHER",),
            "sexual material sent to a child",
            f"{_CSA_DIRECTIVE}, Art. 3(2) (causing a child to witness sexual activities), {_AS_TRANSPOSED}",
            other="Unsolicited sexual material sent to a child",
        ),
        "misleading-domain": Incident(
            ("KEYWORD_OTHER",),
            "a misleading domain name leading children to sexual material",
            f"National law protecting children from sexual abuse and exploitation ({_CSA_DIRECTIVE})",
            other="Misleading domain name",
        ),
        "other": Incident(
            (),
            "illegal content harmful to children",
            f"National law protecting children from sexual abuse and exploitation ({_CSA_DIRECTIVE})",
        ),
    }
)
_UNMAPPED = INCIDENTS["other"]  # a category added to the vocabulary later reads as "other" until mapped

_SOURCE_TYPES = {
    "platform": "SOURCE_VOLUNTARY",  # the platform found it itself
    "hotline": "SOURCE_ARTICLE_16",  # a notice; SOURCE_TRUSTED_FLAGGER where the hotline is designated one
    "public": "SOURCE_ARTICLE_16",
    "law-enforcement": "SOURCE_TYPE_OTHER_NOTIFICATION",  # the reference's place for non-Art. 9 authority orders
}
_HOW_FOUND = {
    "SOURCE_VOLUNTARY": "The provider detected the content on its own initiative.",
    "SOURCE_ARTICLE_16": "The content was notified to the provider in a notice under Art. 16 DSA.",
    "SOURCE_TRUSTED_FLAGGER": "The content was notified to the provider by a trusted flagger.",
    "SOURCE_TYPE_OTHER_NOTIFICATION": "The content was notified to the provider by an authority.",
}
_CONTENT_TYPES = {"image": "CONTENT_TYPE_IMAGE", "video": "CONTENT_TYPE_VIDEO", "audio": "CONTENT_TYPE_AUDIO"}
_NOT_RECORDED = "Type not recorded: the report holds hashes and metadata only"
_VISIBILITY = schema.DECISION_VISIBILITIES - {"DECISION_VISIBILITY_OTHER"}  # OTHER would need a text we lack
_SERIOUS = frozenset({"csam", "grooming", "enticement", "extortion", "trafficking", "travelling-offender"})


@dataclass(frozen=True)
class DsaOptions:
    """What the platform declares once for all its statements; the defaults are documented in
    ``docs/formats/dsa.md``. The account decision is made only where the report names a suspect's
    account and its category or urgency is in the sets below, so it is never claimed for an account
    the report does not know."""

    decision_visibility: tuple[str, ...] = ("DECISION_VISIBILITY_CONTENT_REMOVED",)
    account_decision: str | None = "DECISION_ACCOUNT_SUSPENDED"
    account_decision_categories: frozenset[str] = _SERIOUS
    account_decision_urgency: frozenset[str] = frozenset({"imminent-danger", "live-contact"})
    source_types: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(_SOURCE_TYPES))
    legal_grounds: Mapping[str, str] = field(default_factory=dict)  # incident_type -> text, over INCIDENTS
    decision_ground_reference_url: str | None = None
    automated_detection: str = "No"
    automated_decision: str = "AUTOMATED_DECISION_NOT_AUTOMATED"
    territory_from_location: bool = True  # False: every statement covers the whole EU
    puid_prefix: str = ""
    batch_size: int = schema.BATCH_MAX

    def __post_init__(self) -> None:
        # Checked here, once: a bad option would otherwise make every statement fail and be skipped.
        faults = []
        if not self.decision_visibility or not set(self.decision_visibility) <= _VISIBILITY:
            faults.append("decision_visibility: one or more DECISION_VISIBILITY_* codes (not OTHER)")
        if self.account_decision is not None and self.account_decision not in schema.DECISION_ACCOUNTS:
            faults.append(f"account_decision: one of {sorted(schema.DECISION_ACCOUNTS)} or None")
        if not set(self.source_types.values()) <= schema.SOURCE_TYPES:
            faults.append(f"source_types: values from {sorted(schema.SOURCE_TYPES)}")
        for code, text in self.legal_grounds.items():
            fault = schema.check_field("illegal_content_legal_ground", text) if text else "empty"
            if fault:
                faults.append(f"legal_grounds[{code}]: {fault}")
        url = self.decision_ground_reference_url
        if url is not None and (fault := schema.check_field("decision_ground_reference_url", url)):
            faults.append(f"decision_ground_reference_url: {fault}")
        if self.automated_detection not in schema.YES_NO:
            faults.append('automated_detection: "Yes" or "No"')
        if self.automated_decision not in schema.AUTOMATED_DECISIONS:
            faults.append(f"automated_decision: one of {sorted(schema.AUTOMATED_DECISIONS)}")
        if self.puid_prefix and not schema.PUID_PATTERN.fullmatch(self.puid_prefix):
            faults.append("puid_prefix: letters, digits, '-' and '_' only")
        if not 1 <= self.batch_size <= schema.BATCH_MAX:
            faults.append(f"batch_size: 1 to {schema.BATCH_MAX}")
        if faults:
            raise ValueError("; ".join(faults))


def _day(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return date.isoformat(aware.astimezone(UTC).date())


class DsaExporter:
    name = "dsa"
    description = "EU DSA statements of reasons: Transparency Database batch bodies, one per line"
    media_type = "application/x-ndjson"
    suffix = ".ndjson"

    def __init__(self, options: DsaOptions | None = None) -> None:
        self.options = options or DsaOptions()

    def build(self, report: Report) -> dict[str, Any] | None:
        """The statement for ``report``, unchecked; None when its source yields no statement."""
        opts = self.options
        source_type = opts.source_types.get(report.source)
        if source_type is None:
            return None
        incident = INCIDENTS.get(report.incident_type, _UNMAPPED)
        legal_ground = opts.legal_grounds.get(report.incident_type, incident.legal_ground)
        content_types = sorted({self._content_type(m.mime) for m in report.media} or {"CONTENT_TYPE_OTHER"})
        country = report.location.country
        in_scope = opts.territory_from_location and country in schema.EEA_COUNTRIES
        keywords = sorted(incident.keywords)
        facts = f"{_HOW_FOUND[source_type]} It was assessed as {incident.phrase}."
        if report.media:
            n = len(report.media)
            facts += f" The decision concerns {n} media item{'s' if n > 1 else ''}, identified by hash."
        statement: dict[str, Any] = {
            "decision_visibility": sorted(set(opts.decision_visibility)),
            "decision_account": opts.account_decision if self._account_decision(report) else None,
            "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
            "decision_ground_reference_url": opts.decision_ground_reference_url,
            "illegal_content_legal_ground": legal_ground,
            "illegal_content_explanation": (
                f"The content was assessed as {incident.phrase}, which is illegal under {legal_ground}."
            ),
            "decision_facts": facts,
            "content_type": content_types,
            "content_type_other": _NOT_RECORDED if "CONTENT_TYPE_OTHER" in content_types else None,
            "content_date": _day(report.received_at),
            "application_date": _day(report.ingested_at),
            "territorial_scope": [country] if in_scope else sorted(schema.EU_COUNTRIES),
            "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
            "category_specification": keywords or None,
            "category_specification_other": incident.other if "KEYWORD_OTHER" in keywords else None,
            "source_type": source_type,
            "automated_detection": opts.automated_detection,
            "automated_decision": opts.automated_decision,
            "puid": f"{opts.puid_prefix}{report.id}",
        }
        return {k: v for k, v in statement.items() if v is not None}

    def statement(self, report: Report) -> dict[str, Any] | None:
        """The statement for ``report`` as written, or None when it is skipped (no source type for its
        source, or a statement that ``validate_statement`` refuses)."""
        st = self.build(report)
        return st if st is not None and not schema.validate_statement(st) else None

    def write(self, reports: Iterable[Report], out: IO[bytes], context: ExportContext) -> int:
        written, batch = 0, []
        for report in reports:
            st = self.statement(report)
            if st is None:
                continue
            batch.append(st)
            if len(batch) == self.options.batch_size:
                out.write(orjson.dumps({"statements": batch}) + b"\n")
                written, batch = written + len(batch), []
        if batch:  # never an empty batch: the endpoint takes 1 to 100
            out.write(orjson.dumps({"statements": batch}) + b"\n")
            written += len(batch)
        return written

    def _account_decision(self, report: Report) -> bool:
        opts = self.options
        justified = report.incident_type in opts.account_decision_categories or bool(
            opts.account_decision_urgency.intersection(report.urgency)
        )
        has_account = any(
            s.role == SubjectRole.suspect and any(i.kind == IdentifierKind.account for i in s.identifiers)
            for s in report.subjects
        )
        return opts.account_decision is not None and justified and has_account

    @staticmethod
    def _content_type(mime: str | None) -> str:
        return _CONTENT_TYPES.get((mime or "").partition("/")[0], "CONTENT_TYPE_OTHER")


@hookimpl
def accord_exporters() -> list[DsaExporter]:
    return [DsaExporter()]
