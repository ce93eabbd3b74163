"""FollowTheMoney (FtM) out: an entity stream, one entity per line, as the ``ftm`` tools, Aleph and
OpenAleph read it.

Each report is an ``Event`` followed by its parts: a ``LegalEntity`` per subject (FtM cannot tell a
person from an organisation any better than Accord can), the ``UserAccount``, ``CryptoWallet``,
``Ownership`` + ``BankAccount`` and ``Note`` entities that show the subject's identifiers to FtM
tools, and a ``Document`` (``Image``, ``Video``, ``Audio`` by MIME type) per media item. What FtM has
no property for (our codes, roles, PDQ hashes, the exact identifiers as submitted) travels as
``accord:key=value`` strings: codes in ``keywords`` (so they are facets in Aleph), free text and
records as ASCII JSON in ``notes`` (which FtM's text cleaning leaves byte for byte alone). The
importer reads those back, so export-then-import gives the same reports; docs/formats/ftm.md has the
mapping field by field.

Every entity is built through the library (an unknown property raises ``InvalidData``), values are
stored as FtM cleans them, and each entity is checked against its schema before it is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC
from typing import IO, Any

import orjson
from followthemoney import model
from followthemoney.exc import InvalidData
from followthemoney.proxy import EntityProxy
from followthemoney.util import make_entity_id

from accord.intake.formats import ExportContext
from accord.model.identifier import Identifier, IdentifierKind
from accord.model.media import Media
from accord.model.report import Report, Subject
from accord.plugins.hookspecs import hookimpl

__all__ = ["REPORT_TAG", "FtmExporter", "check", "new_entity", "put", "record", "report_entities", "tag"]

REPORT_TAG = "accord:report"  # in the Event's keywords: this Event and the entities after it are one report
_MEDIA_SCHEMA = {"image": "Image", "video": "Video", "audio": "Audio"}


def tag(key: str, code: str) -> str:
    """A code (vocabulary code, hash, number): short, ASCII, kept in ``keywords``."""
    return f"accord:{key}={code}"


def record(key: str, value: Any) -> str:
    """Free text or a structure, as ASCII JSON: kept in ``notes``, whose cleaning (NFC, control
    characters, trimming) cannot change an escaped ASCII string."""
    return f"accord:{key}=" + json.dumps(value, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def new_entity(schema: str, key: str) -> EntityProxy:
    """An entity whose id is derived from ``key`` (report id and role): re-exports give the same ids."""
    entity = model.make_entity(schema)
    entity.id = make_entity_id("accord", key)
    return entity


def put(entity: EntityProxy, name: str, value: str, hint: str | None = None) -> str | None:
    """Add ``value`` as FtM cleans it and return the stored form, or None where FtM's type refuses it
    (the caller then keeps the exact value in a record). An unknown property raises ``InvalidData``."""
    prop = entity.schema.get(name)
    if prop is None:
        raise InvalidData(f"{entity.schema.name} has no property {name!r}")
    cleaned = prop.type.clean(value, format=hint or prop.format, proxy=entity)
    if cleaned is None or len(cleaned) > prop.type.max_length:
        return None
    entity.add(prop, cleaned, cleaned=True)
    return cleaned


def check(entity: EntityProxy) -> EntityProxy:
    """Fail loudly, before writing, on an entity FtM would refuse: a bug here must not become a file."""
    entity.schema.validate({"properties": entity.properties})
    missing = [p for p in entity.schema.required if not entity.has(p)]
    if missing:
        raise InvalidData(f"{entity.schema.name} {entity.id} lacks required {', '.join(missing)}")
    return entity


def report_entities(report: Report, context: ExportContext) -> list[EntityProxy]:
    """The report's entities in the order the importer relies on: the Event first, then its parts."""
    rid = report.id
    event = new_entity("Event", rid)
    put(event, "name", f"Accord report {rid}")
    at = report.received_at.astimezone(UTC)
    put(event, "date", at.strftime("%Y-%m-%dT%H:%M:%S"))  # FtM dates are UTC and end at the second
    if at.microsecond:
        event.add("notes", record("received_at", at.isoformat()))
    if report.external_id and put(event, "recordId", report.external_id) != report.external_id:
        event.add("notes", record("external_id", report.external_id))
    if report.location.country:
        put(event, "country", report.location.country)
    if report.location.timezone:
        event.add("notes", record("timezone", report.location.timezone))
    put(event, "publisher", context.org_name)
    codes = [("source", report.source), ("incident_type", report.incident_type), ("marking", report.marking)]
    event.add("keywords", [REPORT_TAG, *(tag(k, v) for k, v in codes), *(tag("urgency", u) for u in report.urgency)])
    subjects = [_subject(f"{rid}/subject/{i}", s) for i, s in enumerate(report.subjects)]
    media = [_media(f"{rid}/media/{k}", m) for k, m in enumerate(report.media)]
    event.add("involved", [parts[0].id for parts in subjects])
    event.add("proof", [m.id for m in media])
    return [check(e) for e in [event, *(e for parts in subjects for e in parts), *media]]


def _subject(key: str, subject: Subject) -> list[EntityProxy]:
    entity = new_entity("LegalEntity", key)
    entity.add("keywords", tag("role", subject.role.value))
    # FtM requires a name; the first identifier is how the subject is known (and what FtM's matching
    # should compare), where a made-up "Subject 1" would make unrelated reports' subjects look alike.
    if not any(put(entity, "name", i.handle or i.value) for i in subject.identifiers):
        put(entity, "name", "Unidentified subject")
    parts: list[EntityProxy] = []
    ips = new_entity("Note", f"{key}/ips")
    for j, ident in enumerate(subject.identifiers):
        doc = ident.model_dump(mode="json", exclude_none=True, exclude={"normalised"})
        entity.add("notes", record(f"identifier.{j}", doc))  # the exact identifier, in order
        match ident.kind:
            case IdentifierKind.email:
                put(entity, "email", ident.value)
            case IdentifierKind.phone:
                put(entity, "phone", ident.value, ident.region)
            case IdentifierKind.url:
                put(entity, "website", ident.value)
            case IdentifierKind.ip:
                put(ips, "ipMentioned", ident.value)  # a LegalEntity has no IP property; a Note about it does
            case IdentifierKind.account | IdentifierKind.payment:
                parts.extend(_holding(f"{key}/identifier/{j}", entity, ident))
            case IdentifierKind.device:
                pass  # FtM has no property for device ids: only the record carries them
    if ips.has("ipMentioned"):
        ips.add("entity", entity.id)
        put(ips, "description", "IP addresses reported for this subject")
        parts.append(ips)
    return [entity, *parts]


def _holding(key: str, owner: EntityProxy, ident: Identifier) -> list[EntityProxy]:
    """The FtM entity for an account or payment identifier, linked to its subject; none where FtM's
    types refuse the value (a card token has no FtM schema at all)."""
    if ident.kind is IdentifierKind.account:
        account = new_entity("UserAccount", key)
        if not put(account, "username", ident.value):
            return []
        put(account, "service", ident.service or "")
        if ident.handle:
            put(account, "alias", ident.handle)
        account.add("owner", owner.id)
        return [account]
    if ident.instrument == "wallet":
        wallet = new_entity("CryptoWallet", key)
        if not put(wallet, "cryptoAddress", ident.value):
            return []
        put(wallet, "blockchain", ident.chain or "")
        wallet.add("holder", owner.id)
        return [wallet]
    if ident.instrument == "iban":
        bank = new_entity("BankAccount", key)
        if not put(bank, "iban", ident.value):
            return []
        ownership = new_entity("Ownership", f"{key}/ownership")
        ownership.add("owner", owner.id)
        ownership.add("asset", bank.id)
        return [ownership, bank]  # the link first: the importer meets the account through it
    return []


def _media(key: str, media: Media) -> EntityProxy:
    schema = _MEDIA_SCHEMA.get((media.mime or "").split("/")[0], "Document")
    entity = new_entity(schema, key)
    # FtM's contentHash is the SHA-1 of a file in Aleph's archive; Accord holds no file and no SHA-1,
    # so the hashes are keywords, and the strongest one names the file (FtM requires a file name).
    hashes = [("sha256", media.sha256), ("md5", media.md5), ("pdq", media.pdq)]
    put(entity, "fileName", next(h for _, h in hashes if h))
    entity.add("keywords", [tag(alg, h) for alg, h in hashes if h])
    if media.pdq_quality is not None:
        entity.add("keywords", tag("pdq_quality", str(media.pdq_quality)))
    if media.size is not None and put(entity, "fileSize", str(media.size)) != str(media.size):
        entity.add("notes", record("size", media.size))
    if media.mime and put(entity, "mimeType", media.mime) != media.mime:
        entity.add("notes", record("mime", media.mime))  # FtM rewrites some types (image/jpg) and drops others
    return entity


class FtmExporter:
    name = "ftm"
    description = "FollowTheMoney entity stream (one entity per line), for ftm tools and Aleph"
    media_type = "application/x-ndjson"
    suffix = ".ftm.json"

    def write(self, reports: Iterable[Report], out: IO[bytes], context: ExportContext) -> int:
        n = 0
        for report in reports:
            out.write(b"".join(orjson.dumps(e.to_dict()) + b"\n" for e in report_entities(report, context)))
            n += 1
        return n


@hookimpl
def accord_exporters() -> list[FtmExporter]:
    return [FtmExporter()]
