"""FollowTheMoney (FtM) in: an entity stream, one entity per line (``ftm`` tools, Aleph, OpenSanctions).

Two kinds of stream, told apart entity by entity:

* Accord's own export (``accord.intake.exporters.ftm``): an ``Event`` tagged ``accord:report`` and the
  entities after it, up to the next such Event, are one report. The report is rebuilt from the Event,
  the subjects it lists in ``involved`` and the media in ``proof`` (their ``accord:`` keywords and
  notes), so the round trip is exact and memory stays flat: one report is held at a time.
* Anything else ("third-party" entities): every entity is read, checked against its schema, and kept
  until the end of the file (or the first Accord Event), because only then are the links known. The
  entities that link to one another (any entity-typed property) form a group; each group is one
  report (source ``options.source`` or ``partner``, incident type ``other``, received at the latest
  date in the group; see docs/formats/ftm.md). What is kept is bounded by
  ``options.max_document_bytes`` of input; a larger third-party file is refused as a whole.

Every report is an ``Item``; so is every line that cannot be read outside a report. A bad line inside
an Accord report rejects that report: a partial report would be silently wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from followthemoney import model
from followthemoney.exc import InvalidData
from followthemoney.proxy import EntityProxy
from followthemoney.types import registry

from accord.errors import AccordError, Invalid
from accord.intake.exporters.ftm import REPORT_TAG
from accord.intake.formats import ImportOptions, Item, fault_item
from accord.intake.source import bounded_lines, check_text_encoding
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.plugins.hookspecs import hookimpl

__all__ = ["FTM", "FtmImporter"]

_TAG = re.compile(r"accord:([a-z0-9_]+(?:\.\d+)?)=(.*)", re.DOTALL)
_MAX_PARTS = 50_000  # entities after one report Event: 200 subjects x (1 + 100 x 2 + 1) + 1,000 media, rounded up
_MAX_FAULTS = 20  # faults kept per report; a file of garbage after one Event must not grow memory
_FAULT_COST = 512  # bytes a held fault counts against the third-party bound, whatever its line's length
_DATES = ("date", "startDate", "endDate", "createdAt", "modifiedAt", "retrievedAt")  # when, not birth dates
_HOLDERS = {"UserAccount": "owner", "CryptoWallet": "holder"}  # property linking an account to its party


def _parse(line: bytes) -> EntityProxy | str:
    """The entity on ``line`` with its values as FtM cleans them, or why it is not one."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return f"truncated: the last line ends mid-entity ({exc})" if not line.endswith(b"\n") else f"not JSON: {exc}"
    if not isinstance(data, dict):
        return "not a JSON object"
    schema = model.get(data["schema"]) if isinstance(data.get("schema"), str) else None
    if schema is None or schema.abstract:
        return f"unknown or abstract FtM schema {data.get('schema')!r}"
    eid, props = data.get("id"), data.get("properties")
    if not isinstance(eid, str) or not eid or not isinstance(props, dict):
        return f"a {schema.name} entity needs an id (a string) and properties (an object)"
    entity = model.make_entity(schema)
    entity.id = eid
    for name, values in props.items():
        prop = schema.get(name)
        if prop is None or prop.stub:
            return f"entity {eid}: {name!r} is not a property of {schema.name}"
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return f"entity {eid}: {name} must be a list of strings"
        for value in values:
            cleaned = prop.type.clean(value, format=prop.format, proxy=entity)
            if cleaned is None or entity.unsafe_add(prop, cleaned, cleaned=True) is None:
                return f"entity {eid}: {value[:100]!r} is not a valid {prop.type.name} for {name}"
    return entity


def _refs(entity: EntityProxy) -> set[str]:
    return {v for prop, v in entity.itervalues() if prop.type == registry.entity}


def _utc(value: str) -> str:
    """An FtM date (UTC, no zone, maybe without time) as an ISO timestamp Accord accepts."""
    at = registry.date.to_datetime(value)
    if at is None:
        raise ValueError(f"not a date: {value!r}")
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def _accord(entity: EntityProxy) -> list[tuple[str, Any]]:
    """The ``accord:key=value`` values of an entity we exported, JSON records decoded."""
    out: list[tuple[str, Any]] = []
    for text in [*entity.get("keywords", quiet=True), *entity.get("notes", quiet=True)]:
        if m := _TAG.fullmatch(text):
            out.append((m[1], json.loads(m[2]) if m[2][:1] in ('"', "{") else m[2]))
    return out


class _Report:
    """One report of Accord's own export, collected from its Event and the lines after it."""

    def __init__(self, line: int, event: EntityProxy) -> None:
        self.line, self.ref = line, event.id
        self.faults: dict[str, str] = {}
        self.known: set[str] = {event.id or "", *_refs(event)}
        self.involved, self.proof = event.get("involved"), event.get("proof")
        self.subject_ids, self.wanted = set(self.involved), {*self.involved, *self.proof}
        self.parts: dict[str, dict[str, Any]] = {}
        self.count = 0
        self.doc: dict[str, Any] = {"urgency": [], "location": {}}
        try:
            self._event(event)
        except ValueError as exc:
            self.fault(line, f"entity {event.id}: bad accord: value ({exc})")

    def fault(self, line: int, message: str) -> None:
        if len(self.faults) < _MAX_FAULTS:
            self.faults[f"line {line}"] = message

    def _event(self, event: EntityProxy) -> None:
        doc = self.doc
        if event.first("recordId"):
            doc["external_id"] = event.first("recordId")
        if date := event.first("date"):
            doc["received_at"] = _utc(date)
        if country := event.first("country"):
            doc["location"]["country"] = country.upper()
        for key, value in _accord(event):
            if key == "urgency":
                doc["urgency"].append(value)
            elif key == "timezone":
                doc["location"]["timezone"] = value
            elif key in ("source", "incident_type", "marking", "external_id", "received_at"):
                doc[key] = value  # a record overrides the FtM property it stands in for

    def add(self, line: int, entity: EntityProxy | str) -> None:
        self.count += 1
        if self.count > _MAX_PARTS:
            if self.count == _MAX_PARTS + 1:
                self.fault(line, f"more than {_MAX_PARTS:,} entities after one report Event")
            return
        if isinstance(entity, str):
            self.fault(line, entity)
            return
        refs = _refs(entity)
        if entity.id not in self.known and not refs & self.known:
            self.fault(line, f"entity {entity.id} is not linked to report Event {self.ref}")
            return
        self.known |= refs | {entity.id or ""}
        if entity.id not in self.wanted:
            return  # the FtM view of an identifier: the subject's records carry it exactly
        try:
            if entity.id in self.subject_ids:
                self.parts[entity.id or ""] = _subject(entity)
            else:
                self.parts[entity.id or ""] = _media(entity)
        except ValueError as exc:
            self.fault(line, f"entity {entity.id}: bad accord: value ({exc})")

    def item(self) -> Item:
        missing = [i for i in [*self.involved, *self.proof] if i not in self.parts]
        if missing:
            self.fault(self.line, f"entities listed by report Event {self.ref} are missing: {', '.join(missing[:5])}")
        if self.faults:
            return Item(self.line, None, self.faults, self.ref)
        doc = {
            **self.doc,
            "subjects": [self.parts[i] for i in self.involved],
            "media": [self.parts[i] for i in self.proof],
        }
        try:
            return Item(self.line, parse_obj(ReportIn, doc), ref=self.ref)
        except AccordError as exc:
            return fault_item(self.line, exc, self.ref)


def _subject(entity: EntityProxy) -> dict[str, Any]:
    role, idents = "unknown", {}
    for key, value in _accord(entity):
        if key == "role":
            role = value
        elif key.startswith("identifier."):
            idents[int(key.split(".")[1])] = value
    return {"role": role, "identifiers": [idents[k] for k in sorted(idents)]}


def _media(entity: EntityProxy) -> dict[str, Any]:
    found = dict(_accord(entity))
    doc: dict[str, Any] = {k: found[k] for k in ("md5", "sha256", "pdq", "pdq_quality", "size", "mime") if k in found}
    if "size" not in doc and entity.first("fileSize"):
        doc["size"] = entity.first("fileSize")
    if "mime" not in doc and entity.first("mimeType"):
        doc["mime"] = entity.first("mimeType")
    return doc


class _Loose:
    """Third-party entities, held until their links are known, then grouped into reports."""

    def __init__(self, options: ImportOptions) -> None:
        self.options = options
        self.entities: dict[str, tuple[int, EntityProxy]] = {}  # by id, in file order
        self.faults: list[Item] = []
        self.size = 0

    def add(self, line: int, entity: EntityProxy | str, size: int) -> None:
        self.size += max(size, _FAULT_COST) if isinstance(entity, str) else size
        if self.size > self.options.max_document_bytes:
            raise Invalid.at(
                "",
                f"{self.options.name}:{line}: third-party FtM entities are grouped in memory, and this file has more "
                f"than {self.options.max_document_bytes:,} bytes of them; split it into groups of linked entities",
            )
        if isinstance(entity, str):
            self.faults.append(Item(line, None, {"": entity}))
            return
        eid = entity.id or ""
        if eid in self.entities:  # FtM streams may hold one entity in fragments: merge them, as ftm aggregate does
            try:
                self.entities[eid][1].merge(entity)
            except InvalidData as exc:
                self.faults.append(Item(line, None, {"": f"entity {eid}: {exc}"}, eid))
        else:
            self.entities[eid] = (line, entity)

    def flush(self) -> Iterator[Item]:
        items = self.faults + [self._report(group) for group in self._groups()]
        self.entities, self.faults, self.size = {}, [], 0
        yield from sorted(items, key=lambda i: i.line)

    def _groups(self) -> list[list[tuple[int, EntityProxy]]]:
        """Linked entities (union-find over entity references within the file), in file order."""
        ids = list(self.entities)
        index = {eid: n for n, eid in enumerate(ids)}
        parent = list(range(len(ids)))

        def root(n: int) -> int:
            while parent[n] != n:
                parent[n] = parent[parent[n]]
                n = parent[n]
            return n

        for n, eid in enumerate(ids):
            for ref in _refs(self.entities[eid][1]):
                if ref in index:
                    parent[root(index[ref])] = root(n)
        groups: dict[int, list[tuple[int, EntityProxy]]] = {}
        for n, eid in enumerate(ids):
            groups.setdefault(root(n), []).append(self.entities[eid])
        return list(groups.values())

    def _report(self, group: list[tuple[int, EntityProxy]]) -> Item:
        line, first = group[0]
        entities = [e for _, e in group]
        parties = [
            e
            for e in entities
            if e.schema.is_a("LegalEntity") or e.schema.name in ("UserAccount", "CryptoWallet", "BankAccount")
        ]
        if not parties:
            return Item(
                line,
                None,
                {"": f"no person, organisation, account, wallet or bank account linked to entity {first.id}"},
                first.id,
            )
        anchor = parties[0]
        holder = _holders(entities)
        legal = {e.id for e in parties if e.schema.is_a("LegalEntity")}
        subjects = []
        for party in parties:
            if party.id in legal:
                held = [e for e in parties if holder.get(e.id or "") == party.id]
                idents = [i for e in [party, *held, *_notes(entities, party)] for i in _identifiers(e)]
            elif holder.get(party.id or "") in legal:
                continue  # shown under its holder
            else:
                idents = _identifiers(party)
            if idents:
                subjects.append({"role": "unknown", "identifiers": idents})
        dates = [_utc(d) for e in entities for p in _DATES for d in e.get(p, quiet=True) if len(d) >= 10]
        if not dates:
            return Item(
                line,
                None,
                {"/received_at": f"no date ({', '.join(_DATES)}) on entity {anchor.id} or any entity linked to it"},
                anchor.id,
            )
        if not subjects:
            return Item(
                line,
                None,
                {"/subjects": f"no identifier Accord can carry on entity {anchor.id} or those linked to it"},
                anchor.id,
            )
        doc = {
            "external_id": anchor.id,
            "source": self.options.source or "partner",
            "received_at": max(dates, key=datetime.fromisoformat),
            "incident_type": "other",
            "subjects": subjects,
        }
        try:
            return Item(line, parse_obj(ReportIn, doc), ref=anchor.id)
        except AccordError as exc:
            return fault_item(line, exc, anchor.id)


def _holders(entities: list[EntityProxy]) -> dict[str, str]:
    """Account, wallet or bank account id -> the id of the party that holds it."""
    out: dict[str, str] = {}
    for e in entities:
        if e.schema.name in _HOLDERS and e.first(_HOLDERS[e.schema.name]):
            out[e.id or ""] = e.first(_HOLDERS[e.schema.name]) or ""
        elif e.schema.is_a("Ownership") and e.first("owner"):
            for asset in e.get("asset"):
                out.setdefault(asset, e.first("owner") or "")
    return out


def _notes(entities: list[EntityProxy], party: EntityProxy) -> list[EntityProxy]:
    return [e for e in entities if e.schema.name == "Note" and party.id in e.get("entity")]


def _identifiers(e: EntityProxy) -> list[dict[str, Any]]:
    """Accord identifiers (as submission dicts) for what FtM says about one entity."""
    out: list[dict[str, Any]] = []
    if e.schema.name == "UserAccount":
        handle = e.first("alias")
        for user in e.get("username"):
            out.append({"kind": "account", "service": e.first("service"), "value": user, "handle": handle})
    elif e.schema.name == "CryptoWallet":
        for address in e.get("cryptoAddress"):
            out.append({"kind": "payment", "instrument": "wallet", "chain": e.first("blockchain"), "value": address})
    elif e.schema.name == "BankAccount":
        out += [{"kind": "payment", "instrument": "iban", "value": iban} for iban in e.get("iban")]
    elif e.schema.name == "Note":
        out += [{"kind": "ip", "value": ip} for ip in e.get("ipMentioned")]
    for prop, kind in (("email", "email"), ("phone", "phone"), ("website", "url"), ("ipAddress", "ip")):
        out += [{"kind": kind, "value": v} for v in e.get(prop, quiet=True)]
    return [{k: v for k, v in i.items() if v is not None} for i in out]


class FtmImporter:
    name = "ftm"
    description = (
        "FollowTheMoney entity stream (one entity per line): Accord's FtM export, or entities grouped into reports"
    )

    def sniff(self, head: bytes, filename: str) -> bool:
        first, newline, _ = head.lstrip(b"\xef\xbb\xbf \t\r\n").partition(b"\n")
        try:
            data = orjson.loads(first)
        except orjson.JSONDecodeError:  # a first line longer than the head: look for the keys in it
            return not newline and first.startswith(b"{") and b'"schema"' in first and b'"properties"' in first
        return isinstance(data, dict) and "schema" in data and "properties" in data

    def read(self, stream: IO[bytes], options: ImportOptions) -> Iterator[Item]:
        check_text_encoding(stream.peek(65536)[:65536] if hasattr(stream, "peek") else b"", options.name)
        report: _Report | None = None
        loose = _Loose(options)
        for number, line in bounded_lines(stream, options.max_line_bytes, options.name):
            if isinstance(line, Invalid):
                entity: EntityProxy | str = line.errors.get("", line.detail)
            elif not line.strip():
                continue
            else:
                entity = _parse(line)
            if (
                isinstance(entity, EntityProxy)
                and entity.schema.name == "Event"
                and REPORT_TAG in entity.get("keywords")
            ):
                if report is None:
                    yield from loose.flush()  # third-party entities cannot follow: the report's parts do
                else:
                    yield report.item()
                report = _Report(number, entity)
            elif report is not None:
                report.add(number, entity)
            else:
                loose.add(number, entity, len(line) if isinstance(line, bytes) else 0)
        if report is not None:
            yield report.item()
        yield from loose.flush()


FTM = FtmImporter()


@hookimpl
def accord_importers() -> list[FtmImporter]:
    return [FTM]
