"""STIX 2.1 out: one bundle per export, one ``grouping`` per report.

Each report becomes a grouping (context ``suspicious-activity``) that lists: per subject an
``observed-data`` over its observables (``user-account``, ``email-addr``, ``ipv4-addr``/``ipv6-addr``,
``url``), one ``observed-data`` over the media's ``file`` objects, a file-hash ``indicator`` per
medium with an MD5 or SHA-256, and ``relationship``s (indicator ``based-on`` the media observation).
What STIX cannot express rides in ``x_accord_`` properties on the grouping, so that importing our
own bundle gives back exactly the reports that were exported (docs/formats/stix.md).

Ids are UUIDv5 from the report id and the object's place in it, so a re-export is stable. The
bundle is written object by object: an export of a million reports is never held in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

import orjson
import stix2

from accord.intake.formats import ExportContext
from accord.intake.stix_common import (
    PDQ_HASH,
    TLP2_IDS,
    TLP_ORDER,
    X_COUNTRY,
    X_EXTERNAL_ID,
    X_INCIDENT_TYPE,
    X_PDQ_QUALITY,
    X_RECEIVED_AT,
    X_SOURCE,
    X_SUBJECTS,
    X_TIMEZONE,
    X_URGENCY,
    agreement_statement,
    stix_id,
    tlp2_definition,
)
from accord.model.identifier import Identifier, IdentifierKind
from accord.model.media import Media
from accord.model.report import Report
from accord.plugins.hookspecs import hookimpl

__all__ = ["StixExporter", "report_objects"]

# Identifier fields each observable carries itself; the others go with the subject in x_accord_subjects.
_CARRIED = {IdentifierKind.account: {"kind", "value", "service", "handle"}}
_CARRIED_DEFAULT = {"kind", "value"}


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # a naive export time is taken as UTC


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _observable(ident: Identifier, name: str, marks: list[str]) -> Any | None:
    """The SCO for an identifier, or None for kinds STIX 2.1 has no observable for (phone, device,
    payment): those travel whole in x_accord_subjects."""
    match ident.kind:
        case IdentifierKind.account:
            login = {"account_login": ident.handle} if ident.handle else {}
            return stix2.UserAccount(
                id=stix_id("user-account", name),
                user_id=ident.value,
                account_type=ident.service,
                object_marking_refs=marks,
                **login,
            )
        case IdentifierKind.email:
            return stix2.EmailAddress(id=stix_id("email-addr", name), value=ident.value, object_marking_refs=marks)
        case IdentifierKind.ip:
            kind = "ipv6-addr" if ":" in ident.normalised else "ipv4-addr"
            cls = stix2.IPv6Address if kind == "ipv6-addr" else stix2.IPv4Address
            return cls(id=stix_id(kind, name), value=ident.value, object_marking_refs=marks)
        case IdentifierKind.url:
            return stix2.URL(id=stix_id("url", name), value=ident.value, object_marking_refs=marks)
    return None


def _file(m: Media, sid: str, marks: list[str]) -> Any:
    hashes = {k: v for k, v in (("MD5", m.md5), ("SHA-256", m.sha256), (PDQ_HASH, m.pdq)) if v}
    extra: dict[str, Any] = {"size": m.size, "mime_type": m.mime, X_PDQ_QUALITY: m.pdq_quality}
    return stix2.File(
        id=sid,
        hashes=hashes,
        object_marking_refs=marks,
        allow_custom=True,
        **{k: v for k, v in extra.items() if v is not None},
    )


def _pattern(m: Media) -> str | None:
    # MD5 OR SHA-256 of the same file: either is enough to recognise it. PDQ is a similarity hash,
    # so an equality pattern on it would be misleading; it stays on the file object only.
    terms = [f"file:hashes.{k} = '{v}'" for k, v in (("MD5", m.md5), ("'SHA-256'", m.sha256)) if v]
    return f"[{' OR '.join(terms)}]" if terms else None


def report_objects(r: Report, creator: str, common_marks: list[str]) -> list[Any]:
    """The grouping for one report followed by everything it lists."""
    rid = str(r.id)
    marks = [TLP2_IDS[r.marking], *common_marks]
    base: dict[str, Any] = {
        "created_by_ref": creator,
        "created": r.ingested_at,
        "modified": r.ingested_at,
        "object_marking_refs": marks,
    }
    seen = {"first_observed": r.received_at, "last_observed": r.received_at, "number_observed": 1}
    listed: list[Any] = []
    subjects: list[dict[str, Any]] = []
    for i, subject in enumerate(r.subjects):
        entries: list[dict[str, Any]] = []
        observables: list[Any] = []
        for j, ident in enumerate(subject.identifiers):
            doc = ident.model_dump(mode="json", exclude_none=True, exclude={"normalised"})
            sco = _observable(ident, f"{rid}/subjects/{i}/identifiers/{j}", marks)
            if sco is None:
                entries.append(doc)
                continue
            carried = _CARRIED.get(ident.kind, _CARRIED_DEFAULT)
            entries.append({"ref": sco.id, **{k: v for k, v in doc.items() if k not in carried}})
            observables.append(sco)
        subjects.append({"role": subject.role.value, "identifiers": entries})
        if observables:
            oid = stix_id("observed-data", rid, f"subjects/{i}")
            listed.append(stix2.ObservedData(id=oid, object_refs=[o.id for o in observables], **seen, **base))
            listed.extend(observables)
    files = [_file(m, stix_id("file", rid, f"media/{k}"), marks) for k, m in enumerate(r.media)]
    if files:
        observed = stix2.ObservedData(
            id=stix_id("observed-data", rid, "media"), object_refs=[f.id for f in files], **seen, **base
        )
        listed += [observed, *files]
        for k, m in enumerate(r.media):
            pattern = _pattern(m)
            if pattern is None:
                continue
            indicator = stix2.Indicator(
                id=stix_id("indicator", rid, f"media/{k}"),
                name=f"Reported media {k + 1} of Accord report {rid}",
                description=f"File hashes of media reported under category {r.incident_type}; no content is shared.",
                indicator_types=["malicious-activity"],
                pattern=pattern,
                pattern_type="stix",
                valid_from=r.received_at,
                **base,
            )
            relationship = stix2.Relationship(
                id=stix_id("relationship", rid, f"media/{k}/based-on"),
                relationship_type="based-on",
                source_ref=indicator.id,
                target_ref=observed.id,
                **base,
            )
            listed += [indicator, relationship]
    custom: dict[str, Any] = {
        X_SOURCE: r.source,
        X_INCIDENT_TYPE: r.incident_type,
        X_RECEIVED_AT: _iso(r.received_at),
        X_URGENCY: r.urgency or None,
        X_EXTERNAL_ID: r.external_id,
        X_COUNTRY: r.location.country,
        X_TIMEZONE: r.location.timezone,
        X_SUBJECTS: subjects or None,
    }
    grouping = stix2.Grouping(
        id=stix_id("grouping", rid),
        name=f"Accord report {rid}",
        context="suspicious-activity",
        # object_refs may not be empty: a report with neither subjects nor media lists its exporter
        object_refs=[o.id for o in listed] or [creator],
        external_references=[{"source_name": "accord", "external_id": rid}],
        allow_custom=True,
        **base,
        **{k: v for k, v in custom.items() if v is not None},
    )
    return [grouping, *listed]


def _preamble(context: ExportContext) -> tuple[list[Any], list[str]]:
    """The exporting organisation's identity and, under an agreement, its statement marking (applied
    to every object but the TLP definitions, which are OASIS's and must stay as published)."""
    at = _utc(context.generated_at)
    out: list[Any] = []
    common: list[str] = []
    if context.agreement_id:
        statement = agreement_statement(context.agreement_id)
        # Marking definitions cannot be versioned, so the id and creation time depend on the
        # agreement only: every export under it refers to the same definition.
        marking = stix2.MarkingDefinition(
            id=stix_id("marking-definition", statement),
            created=datetime(2025, 1, 1, tzinfo=UTC),
            definition_type="statement",
            definition=stix2.StatementMarking(statement=statement),
        )
        out.append(marking)
        common.append(marking.id)
    identity = stix2.Identity(
        id=stix_id("identity", "org", context.org_id),
        name=context.org_name,
        identity_class="organization",
        created=at,
        modified=at,
        **({"object_marking_refs": common} if common else {}),
    )
    out.append(identity)
    return out, common


class StixExporter:
    name = "stix"
    description = "STIX 2.1 bundle: a grouping per report with observables, file-hash indicators and TLP 2.0 markings"
    media_type = "application/stix+json;version=2.1"
    suffix = ".stix.json"

    def write(self, reports: Iterable[Report], out: IO[bytes], context: ExportContext) -> int:
        at = _utc(context.generated_at)
        bundle_id = stix_id("bundle", context.org_id, context.node, _iso(at))
        out.write(b'{"type": "bundle", "id": ' + orjson.dumps(bundle_id) + b', "objects": [\n')
        preamble, common = _preamble(context)
        n = 0
        used: set[str] = set()

        def objects() -> Iterator[str]:
            nonlocal n
            for obj in preamble:
                yield obj.serialize()
            for r in reports:
                yield from (obj.serialize() for obj in report_objects(r, preamble[-1].id, common))
                used.add(r.marking)
                n += 1
            # definitions last: only those in use are known once the reports have streamed past
            yield from (orjson.dumps(tlp2_definition(code)).decode() for code in TLP_ORDER if code in used)

        for k, text in enumerate(objects()):
            out.write((",\n" if k else "").encode() + text.encode())
        out.write(b"\n]}\n")
        return n


@hookimpl
def accord_exporters() -> list[StixExporter]:
    return [StixExporter()]
