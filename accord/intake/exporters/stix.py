"""STIX 2.1 out: one bundle per export, one ``grouping`` per report.

Each report becomes a grouping (context ``suspicious-activity``) that lists: per subject an
``observed-data`` over its observables (``user-account``, ``email-addr``, ``ipv4-addr``/``ipv6-addr``,
``url``), one ``observed-data`` over the media's ``file`` objects, a file-hash ``indicator`` per
medium with an MD5 or SHA-256, and ``relationship``s (indicator ``based-on`` the media observation).
What STIX cannot express rides in ``x_accord_`` properties on the grouping, so that importing our
own bundle gives back exactly the reports that were exported (docs/formats/stix.md).

Objects are plain dicts written with the stdlib JSON encoder: the same bytes as the stix2 library's
classes and ``serialize()`` (property order, timestamp precision, defaults such as ``pattern_version``),
at a tenth of the cost; tests/intake/test_stix.py parses every object with stix2 and checks that it
serializes back to the same text. Ids are UUIDv5 from the report id and the object's place in it, so a
re-export is stable. The bundle is written object by object: an export of a million reports is never
held in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

import orjson

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


def _stamp(at: datetime, millis: bool = False) -> str:
    """A timestamp as stix2 writes it: UTC with ``Z``, fractional seconds without trailing zeros, and for
    ``created``/``modified`` (millisecond precision in STIX) at least three digits of them."""
    at = _utc(at).astimezone(UTC)
    frac = f"{at.microsecond:06d}".rstrip("0")
    if millis:
        frac = frac.ljust(3, "0")
    return f"{at.isoformat()[:19]}{'.' if frac else ''}{frac}Z"


def _observable(ident: Identifier, name: str, marks: list[str]) -> dict[str, Any] | None:
    """The SCO for an identifier, or None for kinds STIX 2.1 has no observable for (phone, device,
    payment): those travel whole in x_accord_subjects. Properties in the spec's order, as stix2 writes them."""
    match ident.kind:
        case IdentifierKind.account:
            sco: dict[str, Any] = {"type": "user-account", "spec_version": "2.1", "id": stix_id("user-account", name)}
            sco["user_id"] = ident.value
            if ident.handle:
                sco["account_login"] = ident.handle
            if ident.service is not None:
                sco["account_type"] = ident.service
        case IdentifierKind.email | IdentifierKind.ip | IdentifierKind.url:
            kind = {IdentifierKind.email: "email-addr", IdentifierKind.url: "url"}.get(ident.kind)
            kind = kind or ("ipv6-addr" if ":" in ident.normalised else "ipv4-addr")
            sco = {"type": kind, "spec_version": "2.1", "id": stix_id(kind, name), "value": ident.value}
        case _:
            return None
    sco["object_marking_refs"] = marks
    return sco


def _file(m: Media, sid: str, marks: list[str]) -> dict[str, Any]:
    hashes = {k: v for k, v in (("MD5", m.md5), ("SHA-256", m.sha256), (PDQ_HASH, m.pdq)) if v}
    sco: dict[str, Any] = {"type": "file", "spec_version": "2.1", "id": sid, "hashes": hashes}
    if m.size is not None:
        sco["size"] = m.size
    if m.mime is not None:
        sco["mime_type"] = m.mime
    sco["object_marking_refs"] = marks
    if m.pdq_quality is not None:
        sco[X_PDQ_QUALITY] = m.pdq_quality  # custom properties come last, as stix2 orders them
    return sco


def _pattern(m: Media) -> str | None:
    # MD5 OR SHA-256 of the same file: either is enough to recognise it. PDQ is a similarity hash,
    # so an equality pattern on it would be misleading; it stays on the file object only.
    terms = [f"file:hashes.{k} = '{v}'" for k, v in (("MD5", m.md5), ("'SHA-256'", m.sha256)) if v]
    return f"[{' OR '.join(terms)}]" if terms else None


def report_objects(r: Report, creator: str, common_marks: list[str]) -> list[dict[str, Any]]:
    """The grouping for one report followed by everything it lists."""
    rid = str(r.id)
    marks = [TLP2_IDS[r.marking], *common_marks]
    at, seen_at = _stamp(r.ingested_at, millis=True), _stamp(r.received_at)

    def sdo(kind: str, oid: str, **props: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "spec_version": "2.1",
            "id": oid,
            "created_by_ref": creator,
            "created": at,
            "modified": at,
            **props,
            "object_marking_refs": marks,
        }

    def observed(oid: str, refs: list[str]) -> dict[str, Any]:
        return sdo(
            "observed-data", oid, first_observed=seen_at, last_observed=seen_at, number_observed=1, object_refs=refs
        )

    listed: list[dict[str, Any]] = []
    subjects: list[dict[str, Any]] = []
    for i, subject in enumerate(r.subjects):
        entries: list[dict[str, Any]] = []
        observables: list[dict[str, Any]] = []
        for j, ident in enumerate(subject.identifiers):
            doc = ident.model_dump(mode="json", exclude_none=True, exclude={"normalised"})
            sco = _observable(ident, f"{rid}/subjects/{i}/identifiers/{j}", marks)
            if sco is None:
                entries.append(doc)
                continue
            carried = _CARRIED.get(ident.kind, _CARRIED_DEFAULT)
            entries.append({"ref": sco["id"], **{k: v for k, v in doc.items() if k not in carried}})
            observables.append(sco)
        subjects.append({"role": subject.role.value, "identifiers": entries})
        if observables:
            listed.append(observed(stix_id("observed-data", rid, f"subjects/{i}"), [o["id"] for o in observables]))
            listed.extend(observables)
    files = [_file(m, stix_id("file", rid, f"media/{k}"), marks) for k, m in enumerate(r.media)]
    if files:
        media = observed(stix_id("observed-data", rid, "media"), [f["id"] for f in files])
        listed += [media, *files]
        for k, m in enumerate(r.media):
            pattern = _pattern(m)
            if pattern is None:
                continue
            indicator = sdo(
                "indicator",
                stix_id("indicator", rid, f"media/{k}"),
                name=f"Reported media {k + 1} of Accord report {rid}",
                description=f"File hashes of media reported under category {r.incident_type}; no content is shared.",
                indicator_types=["malicious-activity"],
                pattern=pattern,
                pattern_type="stix",
                pattern_version="2.1",  # the default stix2 adds for a stix pattern
                valid_from=seen_at,
            )
            relationship = sdo(
                "relationship",
                stix_id("relationship", rid, f"media/{k}/based-on"),
                relationship_type="based-on",
                source_ref=indicator["id"],
                target_ref=media["id"],
            )
            listed += [indicator, relationship]
    custom: dict[str, Any] = {
        X_SOURCE: r.source,
        X_INCIDENT_TYPE: r.incident_type,
        X_RECEIVED_AT: _iso(r.received_at),
        X_URGENCY: r.urgency,
        X_EXTERNAL_ID: r.external_id,
        X_COUNTRY: r.location.country,
        X_TIMEZONE: r.location.timezone,
        X_SUBJECTS: subjects,
    }
    grouping = sdo(
        "grouping",
        stix_id("grouping", rid),
        name=f"Accord report {rid}",
        context="suspicious-activity",
        # object_refs may not be empty: a report with neither subjects nor media lists its exporter
        object_refs=[o["id"] for o in listed] or [creator],
        external_references=[{"source_name": "accord", "external_id": rid}],
    )
    # custom properties after the spec's, sorted by name, the absent and empty left out (as stix2 does)
    grouping |= {k: custom[k] for k in sorted(custom) if custom[k] not in (None, [])}
    return [grouping, *listed]


def _preamble(context: ExportContext) -> tuple[list[dict[str, Any]], list[str]]:
    """The exporting organisation's identity and, under an agreement, its statement marking (applied
    to every object but the TLP definitions, which are OASIS's and must stay as published)."""
    at = _stamp(context.generated_at, millis=True)
    out: list[dict[str, Any]] = []
    common: list[str] = []
    if context.agreement_id:
        statement = agreement_statement(context.agreement_id)
        # Marking definitions cannot be versioned, so the id and creation time depend on the
        # agreement only: every export under it refers to the same definition.
        marking: dict[str, Any] = {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": stix_id("marking-definition", statement),
            "created": "2025-01-01T00:00:00.000Z",
            "definition_type": "statement",
            "definition": {"statement": statement},
        }
        out.append(marking)
        common.append(marking["id"])
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": stix_id("identity", "org", context.org_id),
        "created": at,
        "modified": at,
        "name": context.org_name,
        "identity_class": "organization",
        **({"object_marking_refs": common} if common else {}),
    }
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
        # json.dumps with its defaults writes what stix2's serialize() does (", ", ": ", ASCII escapes)
        out.write(",\n".join(map(json.dumps, preamble)).encode())
        n = 0
        used: set[str] = set()
        for r in reports:
            objects = report_objects(r, preamble[-1]["id"], common)
            out.write(b",\n" + ",\n".join(map(json.dumps, objects)).encode())
            used.add(r.marking)
            n += 1
        # definitions last: only those in use are known once the reports have streamed past
        for code in TLP_ORDER:
            if code in used:
                out.write(b",\n" + orjson.dumps(tlp2_definition(code)))
        out.write(b"\n]}\n")
        return n


@hookimpl
def accord_exporters() -> list[StixExporter]:
    return [StixExporter()]
