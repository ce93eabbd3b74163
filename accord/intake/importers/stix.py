"""STIX 2.1 in: a bundle becomes reports.

Which objects become reports (docs/formats/stix.md has the full rules):

- each ``grouping`` or ``report`` container, with everything it lists and what those list in turn
  (observed-data's observables, a sighting's indicator and observations, a relationship's ends);
- each ``sighting`` in no container, with its indicator and observations;
- each ``indicator`` and ``observed-data`` that neither a container nor a sighting holds.

Within a report, each observed-data's ``user-account``, ``email-addr``, ``ipv4-addr``/``ipv6-addr`` and
``url`` observables are one subject; ``file`` observables and file-hash indicator patterns are media.
A container from Accord's own exporter carries ``x_accord_`` properties (source, category, urgency,
subjects with their roles...) that take precedence, so our own export comes back exactly.

The bundle is one JSON document: it is read whole (at most ``max_document_bytes``) and checked before
the first item is given out. Each object used is validated with the stix2 library; a fault names the
STIX id and property (``indicator--.../pattern``) and rejects only the report that used it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import IO, Any

import orjson
import stix2
from pydantic import BaseModel
from stix2.exceptions import STIXError
from stix2.pattern_visitor import create_pattern_object

from accord.errors import AccordError, Invalid
from accord.intake.formats import ImportOptions, Item, fault_item
from accord.intake.source import check_text_encoding
from accord.intake.stix_common import (
    CONTAINER_TYPES,
    PDQ_HASH,
    TLP1_IDS,
    TLP2_IDS,
    TLP_EXTENSION,
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
)
from accord.model.identifier import Identifier
from accord.model.media import Media
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.plugins.hookspecs import hookimpl

__all__ = ["StixImporter"]

Obj = Mapping[str, Any]

_BUNDLE = re.compile(rb'"type"\s*:\s*"bundle"')
_SPACE = b"\xef\xbb\xbf \t\r\n"
_IDENTIFIER_TYPES = frozenset({"user-account", "email-addr", "ipv4-addr", "ipv6-addr", "url"})
_REPORTING = frozenset({*CONTAINER_TYPES, "indicator", "observed-data", "sighting"})
_USED = frozenset({*_IDENTIFIER_TYPES, "file", *_REPORTING})  # the objects a report reads, so validates
_TLP_BY_ID = {**TLP1_IDS, **{v: k for k, v in TLP2_IDS.items()}}
_HASHES = {"md5": "md5", "sha256": "sha256", "pdq": "pdq", PDQ_HASH.replace("_", ""): "pdq"}
# Accord field -> the STIX property it came from, to name faults in the file's own terms.
_MEDIA_PROPS = {
    "/md5": "/hashes/MD5",
    "/sha256": "/hashes/SHA-256",
    "/pdq": f"/hashes/{PDQ_HASH}",
    "/size": "/size",
    "/mime": "/mime_type",
    "/pdq_quality": f"/{X_PDQ_QUALITY}",
}


class _Fault(Exception):
    """Collected faults of one report, keyed by STIX id and property."""

    def __init__(self, faults: dict[str, str]) -> None:
        super().__init__(next(iter(faults.values())))
        self.faults = faults


def _hash_name(key: str) -> str | None:
    return _HASHES.get(key.lower().replace("-", "").replace("_", ""))


def _refs(obj: Obj) -> list[str]:
    """What an object pulls into the report that holds it (ids only; the stix2 check of each object
    used names malformed references)."""

    def ids(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    match obj.get("type"):
        case "grouping" | "report" | "observed-data":
            refs = ids(obj.get("object_refs"))
        case "sighting":
            refs = [obj.get("sighting_of_ref"), *ids(obj.get("observed_data_refs"))]
        case "relationship":
            refs = [obj.get("source_ref"), obj.get("target_ref")]
        case _:
            refs = []
    return [r for r in refs if isinstance(r, str)]


def _field(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...``, or None where a step is missing or not an object."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj


def _time(value: Any) -> datetime | None:
    """A timestamp of an object the stix2 library has read (its own datetime subclass, made plain)."""
    return datetime.combine(value.date(), value.timetz()) if isinstance(value, datetime) and value.tzinfo else None


def _check(model: type[BaseModel], doc: dict[str, Any], where: str, props: Mapping[str, str]) -> Any:
    """``doc`` as ``model``, or its faults renamed to the STIX object and property they came from."""
    try:
        return parse_obj(model, doc)
    except Invalid as exc:
        raise _Fault({f"{where}{props.get(p, p)}": m for p, m in exc.errors.items()}) from None


def _pattern_media(pattern: str) -> list[dict[str, str]]:
    """Media from a STIX pattern's file-hash equalities. Hashes compared in one observation (``[...]``)
    describe one file when each algorithm occurs once; otherwise each comparison is a file of its own."""
    out: list[dict[str, str]] = []

    def comparisons(node: Any) -> Iterator[tuple[str, str]]:
        if type(node).__name__ == "EqualityComparisonExpression":
            path = [getattr(p, "property_name", None) for p in node.lhs.property_path]
            name = _hash_name(str(path[1])) if len(path) == 2 and path[0] == "hashes" else None
            if node.lhs.object_type_name == "file" and name and not node.negated:
                yield name, str(node.rhs.value)
        for child in (*getattr(node, "operands", ()), getattr(node, "expression", None)):
            if child is not None:
                yield from comparisons(child)

    def observations(node: Any) -> None:
        if type(node).__name__ == "ObservationExpression":
            found = [(name, value.lower()) for name, value in comparisons(node.operand)]
            if found and len({name for name, _ in found}) == len(found):
                out.append(dict(found))
            else:
                out.extend({name: value} for name, value in found)
            return
        for child in (*getattr(node, "operands", ()), getattr(node, "expression", None)):
            if child is not None:
                observations(child)
        if hasattr(node, "observation_expression"):
            observations(node.observation_expression)

    observations(create_pattern_object(pattern, version="2.1"))
    return out


def _merge(media: list[dict[str, Any]], found: dict[str, Any]) -> None:
    """Add ``found`` unless it shares a hash with a medium already there (an indicator over a file that
    is also listed as an observable); then only the hashes it adds are kept."""
    for m in media:
        if any(m.get(k) == v for k, v in found.items()) and not any(k in m and m[k] != v for k, v in found.items()):
            m.update(found)
            return
    media.append(dict(found))


def _load(stream: IO[bytes], options: ImportOptions) -> list[Obj]:
    name = options.name
    data = stream.read(options.max_document_bytes + 1)
    if len(data) > options.max_document_bytes:
        raise Invalid.at("", f"{name}: document larger than {options.max_document_bytes:,} bytes")
    check_text_encoding(data[:65536], name)
    try:
        doc = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise Invalid.at("", f"{name}: malformed JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "bundle":
        raise Invalid.at("", f"{name}: not a STIX bundle (the document must be an object of type 'bundle')")
    if "spec_version" in doc:  # STIX 2.0 bundles carry one; 2.1 bundles have none
        raise Invalid.at("/spec_version", f"{name}: a STIX {doc['spec_version']} bundle; only STIX 2.1 is read")
    objects = doc.get("objects", [])
    if not isinstance(objects, list):
        raise Invalid.at("/objects", f"{name}: the bundle's objects must be a list")
    for i, obj in enumerate(objects):
        if not (isinstance(obj, dict) and isinstance(obj.get("type"), str) and isinstance(obj.get("id"), str)):
            raise Invalid.at(f"/objects/{i}", f"{name}: object {i + 1} is not a STIX object (type and id)")
        if obj.get("spec_version", "2.1") != "2.1":
            raise Invalid.at(
                f"/objects/{i}/spec_version",
                f"{name}: object {i + 1} ({obj['id']}) is STIX {obj['spec_version']}; only STIX 2.1 is read",
            )
    return objects


class _Bundle:
    def __init__(self, objects: list[Obj], options: ImportOptions) -> None:
        self.options = options
        self.position: dict[str, int] = {}
        self.by_id: dict[str, Obj] = {}
        for pos, obj in enumerate(objects, 1):
            oid = obj["id"]
            # several versions of one object: the latest (by modified) stands, at its own position
            if oid in self.by_id and str(obj.get("modified", "")) < str(self.by_id[oid].get("modified", "")):
                continue
            self.by_id[oid], self.position[oid] = obj, pos
        self.parsed: dict[str, Obj | _Fault] = {}
        self.tlp = {oid: code for oid, obj in self.by_id.items() if (code := self._tlp_code(obj))}

    @staticmethod
    def _tlp_code(obj: Obj) -> str | None:
        """The TLP level a marking definition stands for, however the partner wrote it."""
        if obj.get("type") != "marking-definition":
            return None
        level = _field(_field(obj, "extensions"), TLP_EXTENSION, "tlp_2_0")
        if level is None and obj.get("definition_type") == "tlp":
            level = _field(obj, "definition", "tlp")
        if level is None and str(obj.get("name", "")).upper().startswith("TLP:"):
            level = str(obj["name"])[4:]
        code = str(level).upper().replace("WHITE", "CLEAR") if level else None
        return code if code in TLP_ORDER else None

    def _closure(self, root: Obj) -> list[Obj]:
        """Objects ``root`` holds, depth first in listing order. A nested container is its own report."""
        seen = {root["id"]}
        out: list[Obj] = []
        stack = list(reversed(_refs(root)))
        while stack:
            ref = stack.pop()
            obj = self.by_id.get(ref)
            if ref in seen or obj is None:  # objects a bundle refers to but does not hold are skipped
                continue
            seen.add(ref)
            out.append(obj)
            if obj["type"] not in CONTAINER_TYPES:
                stack.extend(reversed(_refs(obj)))
        return out

    def _roots(self) -> list[tuple[Obj, list[Obj]]]:
        covered: set[str] = set()
        roots: list[tuple[Obj, list[Obj]]] = []
        for kinds in (CONTAINER_TYPES, {"sighting"}, {"indicator", "observed-data"}):
            for oid, obj in self.by_id.items():
                # every container is a report, even one listed in another
                if obj["type"] in kinds and (oid not in covered or kinds is CONTAINER_TYPES):
                    members = self._closure(obj)
                    covered.update(m["id"] for m in members)
                    roots.append((obj, members))
        roots.sort(key=lambda r: self.position[r[0]["id"]])
        return roots

    def items(self) -> Iterator[Item]:
        for root, members in self._roots():
            pos, oid = self.position[root["id"]], root["id"]
            try:
                yield Item(pos, parse_obj(ReportIn, self._report(root, members)), ref=oid)
            except _Fault as exc:
                yield Item(pos, None, exc.faults, oid)
            except AccordError as exc:
                yield fault_item(pos, exc, oid)

    def _valid(self, obj: Obj) -> Obj:
        """The object as the stix2 library reads it (values cleaned, timestamps parsed), or its fault."""
        oid = obj["id"]
        if oid not in self.parsed:
            try:
                self.parsed[oid] = stix2.parse(dict(obj), allow_custom=True, version="2.1")
            except (STIXError, ValueError, TypeError, KeyError, AttributeError) as exc:  # stix2 on malformed input
                props = getattr(exc, "properties", None) or [getattr(exc, "prop_name", None)]
                where = f"{oid}/{props[0]}" if props[0] else oid
                self.parsed[oid] = _Fault({where: str(exc)})
        found = self.parsed[oid]
        if isinstance(found, _Fault):
            raise found
        return found

    def _report(self, root: Obj, members: list[Obj]) -> dict[str, Any]:
        faults: dict[str, str] = {}
        used = [o for o in (root, *members) if o["type"] in _USED]
        valid: list[Obj] = []
        for obj in used:
            try:
                valid.append(self._valid(obj))
            except _Fault as exc:
                faults.update(exc.faults)
        if faults:
            raise _Fault(faults)
        root = valid[0]
        own = X_SOURCE in root
        media = self._media(root, valid, faults, own)
        subjects = self._own_subjects(root, faults) if own else self._subjects(valid, faults)
        if faults:
            raise _Fault(faults)
        if not own and not subjects and not media:
            where = f"{root['id']}/pattern" if root["type"] == "indicator" else root["id"]
            raise _Fault({where: "holds no identifier or file hash that Accord carries"})
        doc: dict[str, Any] = {
            "source": root.get(X_SOURCE) or self.options.source or "partner",
            "received_at": root.get(X_RECEIVED_AT) or self._received_at(root, valid),
            "incident_type": root.get(X_INCIDENT_TYPE, "other"),
            "urgency": root.get(X_URGENCY, []),
            "location": {k: root[x] for k, x in (("country", X_COUNTRY), ("timezone", X_TIMEZONE)) if x in root},
            "subjects": subjects,
            "media": media,
            # a partner's object id is its own identifier: re-sending the bundle never duplicates
            "external_id": root.get(X_EXTERNAL_ID) if own else root["id"],
        }
        if marking := self._marking(root):
            doc["marking"] = marking
        return doc

    def _marking(self, root: Obj) -> str | None:
        codes = [self.tlp.get(r) or _TLP_BY_ID.get(r) for r in root.get("object_marking_refs") or []]
        found = [c for c in codes if c]
        return max(found, key=TLP_ORDER.index) if found else None  # the most restrictive applies

    @staticmethod
    def _received_at(root: Obj, valid: list[Obj]) -> datetime | None:
        """The root's own time; for a container its earliest observation, else its earliest indicator
        validity, else when the container was created."""
        own = {"sighting": "first_seen", "observed-data": "first_observed", "indicator": "valid_from"}
        if (at := _time(root.get(own.get(root["type"], "")))) is not None:
            return at
        seen = [_time(o.get("first_observed") or o.get("first_seen")) for o in valid[1:]]
        valid_from = [_time(o.get("valid_from")) for o in valid[1:]]
        for times in (seen, valid_from):
            if found := [t for t in times if t is not None]:
                return min(found)
        return _time(root.get("created"))

    def _media(self, root: Obj, valid: list[Obj], faults: dict[str, str], own: bool) -> list[dict[str, Any]]:
        """Files first, then what indicators add. Accord's own indicators are derived from its files,
        so there the files alone are the media (two files may share a hash; their patterns say nothing new)."""
        media: list[dict[str, Any]] = []
        for obj in valid:
            if obj["type"] == "file":
                found: dict[str, Any] = {n: v for k, v in (obj.get("hashes") or {}).items() if (n := _hash_name(k))}
                if not found:  # a file known only by name or SHA-1 is nothing Accord can match
                    continue
                extra = {"size": obj.get("size"), "mime": obj.get("mime_type"), "pdq_quality": obj.get(X_PDQ_QUALITY)}
                found |= {k: v for k, v in extra.items() if v is not None}
                try:
                    media.append(_check(Media, found, obj["id"], _MEDIA_PROPS).model_dump(exclude_none=True))
                except _Fault as exc:
                    faults.update(exc.faults)
        for obj in valid:
            if obj["type"] == "indicator" and obj.get("pattern_type") == "stix" and not own:
                for found in _pattern_media(str(obj["pattern"])):
                    _merge(media, found)
            elif obj is root and obj["type"] == "indicator":
                faults[f"{obj['id']}/pattern_type"] = f"{obj.get('pattern_type')!r} patterns are not read; use stix"
        return media

    def _identifier(self, obj: Obj) -> dict[str, Any]:
        if obj["type"] == "user-account":
            user_id, login = obj.get("user_id"), obj.get("account_login")
            doc = {
                "kind": "account",
                "service": obj.get("account_type"),
                "value": user_id or login,
                "handle": login if user_id else obj.get("display_name"),
            }
            props = {"/value": "/user_id", "/service": "/account_type", "/handle": "/account_login"}
        else:
            kind = {"email-addr": "email", "url": "url"}.get(obj["type"], "ip")
            doc, props = {"kind": kind, "value": obj.get("value")}, {}
        doc = {k: v for k, v in doc.items() if v is not None}
        _check(Identifier, doc, obj["id"], props)  # fault here, in STIX terms, rather than in the report
        return doc

    def _subjects(self, valid: list[Obj], faults: dict[str, str]) -> list[dict[str, Any]]:
        """One subject per observed-data; observables no observed-data holds are a subject each."""
        groups: list[list[str]] = [_refs(o) for o in valid if o["type"] == "observed-data"]
        grouped = {r for g in groups for r in g}
        groups += [[o["id"]] for o in valid if o["type"] in _IDENTIFIER_TYPES and o["id"] not in grouped]
        subjects: list[dict[str, Any]] = []
        for group in groups:
            identifiers = []
            for ref in group:
                obj = self.by_id.get(ref)
                if obj is None or obj["type"] not in _IDENTIFIER_TYPES:
                    continue
                try:
                    identifiers.append(self._identifier(self._valid(obj)))
                except _Fault as exc:
                    faults.update(exc.faults)
            if identifiers:
                subjects.append({"role": "unknown", "identifiers": identifiers})
        return subjects

    def _own_subjects(self, root: Obj, faults: dict[str, str]) -> Any:
        """Subjects as Accord exported them (roles, grouping, what observables do not carry), with each
        ``ref`` replaced by the identifier its observable holds. A malformed entry is passed on as it
        is: the report's validation names it."""
        subjects = root.get(X_SUBJECTS, [])
        if not isinstance(subjects, list):
            return subjects
        out: list[Any] = []
        for i, subject in enumerate(subjects):
            entries = subject.get("identifiers") if isinstance(subject, dict) else None
            if not isinstance(entries, list):
                out.append(subject)
                continue
            identifiers: list[Any] = []
            for j, entry in enumerate(entries):
                if isinstance(entry, dict) and "ref" in entry:
                    entry = dict(entry)
                    ref = entry.pop("ref")
                    obj = self.by_id.get(ref) if isinstance(ref, str) else None
                    if obj is None or obj["type"] not in _IDENTIFIER_TYPES:
                        faults[f"{root['id']}/{X_SUBJECTS}/{i}/identifiers/{j}/ref"] = f"no observable {ref} here"
                        continue
                    try:
                        entry = self._identifier(self._valid(obj)) | entry
                    except _Fault as exc:
                        faults.update(exc.faults)
                identifiers.append(entry)
            out.append({**subject, "identifiers": identifiers})
        return out


class StixImporter:
    name = "stix"
    description = "STIX 2.1 bundle: groupings/reports, and loose file-hash indicators, observed-data and sightings"

    def sniff(self, head: bytes, filename: str) -> bool:
        return head.lstrip(_SPACE).startswith(b"{") and _BUNDLE.search(head) is not None

    def read(self, stream: IO[bytes], options: ImportOptions) -> Iterator[Item]:
        yield from _Bundle(_load(stream, options), options).items()


STIX = StixImporter()


@hookimpl
def accord_importers() -> list[StixImporter]:
    return [STIX]
