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

The bundle is one JSON document of any size: its objects are read one at a time (``jsonparts``: cut at
line starts and parsed by orjson when laid out one object a line, as ours is; ijson events otherwise)
into a spill file on disk (``accord.intake.spill``) and the reports built from there, so memory does
not grow with the file.
The whole bundle is read, and its framing checked, before the first item is given out (one object may
be at most ``max_document_bytes``). Each object a report reads is checked against what STIX 2.1
requires of its type, on the parsed JSON itself; stix2 stays the reference for what is hard to get right, the pattern
grammar. A fault names the STIX id and property (``indicator--.../pattern``) and rejects only the report
that used it.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import IO, Any, cast

from pydantic import BaseModel
from stix2.hashes import check_hash, infer_hash_algorithm
from stix2.pattern_visitor import create_pattern_object
from stix2patterns.validator import run_validator  # type: ignore[import-untyped]  # stix2's own pattern checker

from accord.errors import AccordError, Invalid
from accord.intake.formats import ImportOptions, Item, fault_item, faults_of
from accord.intake.jsonparts import Node, read_parts
from accord.intake.jsonstream import Member
from accord.intake.spill import Spill
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
_NONE: Any = object()
_CHECKED = 50_000  # objects whose check is remembered (a shared identity or marking is checked once)
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


# What STIX 2.1 requires of the objects a report reads, checked on the parsed JSON itself rather than by
# building stix2 objects (a second copy of each): stix2.parse alone takes about 50 s on a bundle of 20,000
# reports that this importer reads whole in about 6 s. Properties Accord does not read stay unchecked JSON.
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
_ID = re.compile(rf"([a-z0-9][a-z0-9-]*[a-z0-9])--{_UUID}")
# RFC 3339 in UTC, as stix2 reads it (at most microseconds)
_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z")

Check = Callable[[Any], str | None]  # a property's value -> what is wrong with it, or None


def _time(value: Any) -> datetime | None:
    """A STIX timestamp as an aware datetime, or None if ``value`` is not one."""
    return _parse_time(value) if isinstance(value, str) else None


@lru_cache(maxsize=1 << 12)  # the objects of one report mostly share their created, modified and observed times
def _parse_time(value: str) -> datetime | None:
    m = _TIME.fullmatch(value)
    if m is None:
        return None
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), int((frac or "0").ljust(6, "0")), UTC)
    except ValueError:  # 2026-02-30, 25:00...
        return None


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _stamp(value: Any) -> str | None:
    return None if _time(value) else "must be a timestamp YYYY-MM-DDTHH:MM:SS[.ffffff]Z"


def _integer(low: int, high: int | None = None) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be an integer"
        if value < low or (high is not None and value > high):
            return f"must be at least {low}" if high is None else f"must be from {low} to {high:,}"
        return None

    return check


def _id_fault(value: Any, types: tuple[str, ...]) -> str | None:
    m = _ID.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return f"{str(value)[:100]!r} is not a STIX id (<type>--<RFC 4122 UUID>)"
    return None if not types or m.group(1) in types else f"{value} must be the id of a {' or '.join(types)}"


def _id_of(*types: str) -> Check:
    return lambda value: _id_fault(value, types)


def _ids(*types: str) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return "must be a list of STIX ids"
        return next((f for v in value if (f := _id_fault(v, types))), None)

    return check


def _hashes(value: Any) -> str | None:
    """A hashes dictionary; values of algorithms stix2 knows are checked with stix2's own rules."""
    if not isinstance(value, dict):
        return "must be a dictionary of hash name to value"
    for name, digest in value.items():
        if len(name) > 250 or not isinstance(digest, str):
            return f"{name[:50]!r}: a hash name of at most 250 characters, with a string value"
        alg = infer_hash_algorithm(name)
        if alg is not None and not check_hash(alg, digest):
            return f"{digest!r} is not a valid {alg.name} hash"
    return None


_COMMON: dict[str, tuple[Check, bool]] = {
    "created_by_ref": (_id_of("identity"), False),
    "object_marking_refs": (_ids("marking-definition"), False),
}
_CREATED: dict[str, tuple[Check, bool]] = {
    "spec_version": (_text, True),
    "created": (_stamp, True),
    "modified": (_stamp, True),
}
_VALUE: dict[str, tuple[Check, bool]] = {"value": (_text, True)}
# type -> property -> (check, required); an empty list counts as absent, as in the stix2 library
_SPEC: dict[str, dict[str, tuple[Check, bool]]] = {
    "grouping": {**_CREATED, "name": (_text, False), "context": (_text, True), "object_refs": (_ids(), True)},
    "report": {**_CREATED, "name": (_text, True), "published": (_stamp, True), "object_refs": (_ids(), True)},
    "indicator": {
        **_CREATED,
        "pattern": (_text, True),
        "pattern_type": (_text, True),
        "pattern_version": (_text, False),
        "valid_from": (_stamp, True),
        "valid_until": (_stamp, False),
    },
    "observed-data": {
        **_CREATED,
        "first_observed": (_stamp, True),
        "last_observed": (_stamp, True),
        "number_observed": (_integer(1, 999_999_999), True),
        "object_refs": (_ids(), False),  # required unless the deprecated embedded "objects" is used
    },
    "sighting": {
        **_CREATED,
        "sighting_of_ref": (_id_of(), True),
        "observed_data_refs": (_ids("observed-data"), False),
        "where_sighted_refs": (_ids("identity", "location"), False),
        "first_seen": (_stamp, False),
        "last_seen": (_stamp, False),
        "count": (_integer(0, 999_999_999), False),
    },
    "user-account": {p: (_text, False) for p in ("user_id", "account_login", "account_type", "display_name")},
    "email-addr": {**_VALUE, "display_name": (_text, False)},
    "ipv4-addr": _VALUE,
    "ipv6-addr": _VALUE,
    "url": _VALUE,
    "file": {
        "hashes": (_hashes, False),
        "size": (_integer(0), False),
        "name": (_text, False),
        "mime_type": (_text, False),
    },
}
_SPEC = {kind: props | _COMMON for kind, props in _SPEC.items()}
# Each object's time order, as the spec requires: (earlier, later, strictly later).
_MODIFIED = ("created", "modified", False)
_ORDER = {
    "grouping": [_MODIFIED],
    "report": [_MODIFIED],
    "indicator": [_MODIFIED, ("valid_from", "valid_until", True)],
    "observed-data": [_MODIFIED, ("first_observed", "last_observed", False)],
    "sighting": [_MODIFIED, ("first_seen", "last_seen", False)],
}


def _object_faults(obj: Obj) -> dict[str, str]:
    """What is wrong with an object Accord reads (see ``_SPEC``), keyed ``<id>/<property>``."""
    oid, kind = obj["id"], obj["type"]
    faults: dict[str, str] = {}
    m = _ID.fullmatch(oid)
    if m is None or m.group(1) != kind:
        faults[f"{oid}/id"] = f"must be {kind}--<RFC 4122 UUID>"
    for prop, (check, required) in _SPEC[kind].items():
        value = obj.get(prop)
        if value is None or value == []:
            if required:
                faults[f"{oid}/{prop}"] = "required"
        elif (fault := check(value)) is not None:
            faults[f"{oid}/{prop}"] = fault
    if faults:
        return faults
    for first, last, strict in _ORDER.get(kind, ()):
        start, end = _time(obj.get(first)), _time(obj.get(last))
        if start and end and (end <= start if strict else end < start):
            faults[f"{oid}/{last}"] = f"must be later than {first}" if strict else f"must not be earlier than {first}"
    if kind == "observed-data" and ("objects" in obj) == bool(obj.get("object_refs")):
        faults[f"{oid}/object_refs"] = "required: object_refs, or the deprecated objects, not both"
    if kind == "file" and not (obj.get("hashes") or obj.get("name")):
        faults[f"{oid}/hashes"] = "a file needs hashes or a name"
    if kind == "indicator" and obj["pattern_type"] == "stix" and (fault := _pattern_fault(obj["pattern"])):
        faults[f"{oid}/pattern"] = fault
    return faults


# The shape of pattern Accord exports and most partners write: one observation of file-hash equalities.
# Every string it matches is a valid STIX 2.1 pattern (the hash lengths are checked below), so it is read
# here; any other pattern goes through the stix2 pattern validator and visitor. tests/intake/test_stix.py
# checks on generated patterns that both paths agree.
_SIMPLE_HASHES = {"MD5": 32, "'MD5'": 32, "SHA256": 64, "'SHA256'": 64, "'SHA-256'": 64}
_COMPARISON = r"file:hashes\.(MD5|'MD5'|SHA256|'SHA256'|'SHA-256') = '([0-9a-fA-F]{32}|[0-9a-fA-F]{64})'"
_SIMPLE = re.compile(rf"\[{_COMPARISON}(?: (?:AND|OR) {_COMPARISON})*\]")
_SIMPLE_ONE = re.compile(_COMPARISON)


def _simple_pattern(pattern: str) -> list[tuple[str, str]] | None:
    """The (hash, value) comparisons of a pattern of the simple shape, or None for any other pattern."""
    if _SIMPLE.fullmatch(pattern) is None:
        return None
    found = _SIMPLE_ONE.findall(pattern)
    if any(len(value) != _SIMPLE_HASHES[name] for name, value in found):
        return None  # a wrong length: the validator words the fault
    return [(_HASHES[name.strip("'").lower().replace("-", "")], value.lower()) for name, value in found]


def _pattern_fault(pattern: str) -> str | None:
    if _simple_pattern(pattern) is not None:
        return None
    errors = run_validator(pattern, "2.1")
    return f"invalid STIX pattern: {errors[0]}" if errors else None


class _Fault(Exception):
    """Collected faults of one report, keyed by STIX id and property."""

    def __init__(self, faults: dict[str, str]) -> None:
        super().__init__(next(iter(faults.values())))
        self.faults = faults


def _hash_name(key: str) -> str | None:
    return _HASHES.get(key.lower().replace("-", "").replace("_", ""))


def _refs(obj: Obj) -> list[str]:
    """What an object pulls into the report that holds it (ids only; the check of each object used
    names malformed references)."""

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


def _check(model: type[BaseModel], doc: dict[str, Any], where: str, props: Mapping[str, str]) -> Any:
    """``doc`` as ``model``, or its faults renamed to the STIX object and property they came from."""
    try:
        return parse_obj(model, doc)
    except Invalid as exc:
        raise _Fault({f"{where}{props.get(p, p)}": m for p, m in exc.errors.items()}) from None


def _pattern_media(pattern: str) -> list[dict[str, str]]:
    """Media from a STIX pattern's file-hash equalities. Hashes compared in one observation (``[...]``)
    describe one file when each algorithm occurs once; otherwise each comparison is a file of its own."""
    simple = _simple_pattern(pattern)
    if simple is None:
        return _visited_pattern_media(pattern)
    out: list[dict[str, str]] = []
    _observation(simple, out)
    return out


def _visited_pattern_media(pattern: str) -> list[dict[str, str]]:
    """``_pattern_media`` for any valid pattern, read with the stix2 pattern visitor."""
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
            _observation([(name, value.lower()) for name, value in comparisons(node.operand)], out)
            return
        for child in (*getattr(node, "operands", ()), getattr(node, "expression", None)):
            if child is not None:
                observations(child)
        if hasattr(node, "observation_expression"):
            observations(node.observation_expression)

    observations(create_pattern_object(pattern, version="2.1"))
    return out


def _observation(found: list[tuple[str, str]], out: list[dict[str, str]]) -> None:
    if found and len({name for name, _ in found}) == len(found):
        out.append(dict(found))
    else:
        out.extend({name: value} for name, value in found)


def _merge(media: list[dict[str, Any]], found: dict[str, Any]) -> None:
    """Add ``found`` unless it shares a hash with a medium already there (an indicator over a file that
    is also listed as an observable); then only the hashes it adds are kept."""
    for m in media:
        if any(m.get(k) == v for k, v in found.items()) and not any(k in m and m[k] != v for k, v in found.items()):
            m.update(found)
            return
    media.append(dict(found))


def _load(stream: IO[bytes], options: ImportOptions) -> Spill:
    """The bundle's objects, checked as STIX 2.1 objects and spilled to disk, or ``Invalid`` for the
    whole file: nothing is given out before the bundle has been read to its end."""
    name = options.name
    spill = Spill(options.scratch_dir)
    kind: Any = None
    try:
        for part in read_parts(stream, "objects", name, "a STIX bundle", options.max_document_bytes):
            if isinstance(part, Member):
                if part.key == "type":
                    kind = part.value
                elif part.key == "spec_version":  # STIX 2.0 bundles carry one; 2.1 bundles have none
                    raise Invalid.at("/spec_version", f"{name}: a STIX {part.value} bundle; only STIX 2.1 is read")
                elif part.key == "objects":
                    raise Invalid.at("/objects", f"{name}: the bundle's objects must be a list")
                continue
            i, obj = part.position, part.value
            if isinstance(obj, Node):  # an object starting with "@id": not STIX, but read whole to say so
                obj = obj.whole()
            if not (isinstance(obj, dict) and isinstance(obj.get("type"), str) and isinstance(obj.get("id"), str)):
                raise Invalid.at(f"/objects/{i - 1}", f"{name}: object {i} is not a STIX object (type and id)")
            if obj.get("spec_version", "2.1") != "2.1":
                raise Invalid.at(
                    f"/objects/{i - 1}/spec_version",
                    f"{name}: object {i} ({obj['id']}) is STIX {obj['spec_version']}; only STIX 2.1 is read",
                )
            spill.add(obj["id"], obj, (obj["type"],))
        if kind != "bundle":
            raise Invalid.at("", f"{name}: not a STIX bundle (the document must be an object of type 'bundle')")
    except BaseException:
        spill.close()
        raise
    return spill


class _Bundle:
    """Reports out of a spilled bundle. What is held in memory is bounded: one report's objects, and
    caches of recently read and checked objects."""

    def __init__(self, spill: Spill, options: ImportOptions) -> None:
        self.options = options
        self.spill = spill
        # several versions of one object: the latest (by modified) stands, at its own position
        for oid in list(spill.keys_stored_more_than_once()):
            versions = spill.get(oid)
            standing = versions[0]
            for version in versions[1:]:
                if not str(version[1].get("modified", "")) < str(standing[1].get("modified", "")):
                    standing = version
            for version in versions:
                if version is not standing:
                    spill.drop(version[0])
        self.checked: OrderedDict[str, _Fault | None] = OrderedDict()
        self.memo: dict[str, Obj | None] = {}  # what the report being built has read

    def _get(self, oid: str) -> Obj | None:
        """The object with this id (its standing version), read once per report."""
        obj = self.memo.get(oid, _NONE)
        if obj is _NONE:
            found = self.spill.get(oid)
            obj = self.memo[oid] = found[0][1] if found else None
        return cast(Obj | None, obj)

    @staticmethod
    def _tlp_code(obj: Obj | None) -> str | None:
        """The TLP level a marking definition stands for, however the partner wrote it."""
        if obj is None or obj.get("type") != "marking-definition":
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
            obj = self._get(ref) if ref not in seen else None
            if obj is None:  # objects a bundle refers to but does not hold are skipped
                continue
            seen.add(ref)
            out.append(obj)
            if obj["type"] not in CONTAINER_TYPES:
                stack.extend(reversed(_refs(obj)))
        return out

    def items(self) -> Iterator[Item]:
        """Each report in document order. Every container is a report, even one listed in another;
        then each sighting no container holds; then each indicator and observed-data that neither
        holds. Containers and sightings are built first (what they hold is marked in the spill, not in
        memory) and their outcome noted there; the last pass gives everything out in order."""
        spill = self.spill
        for kinds in (CONTAINER_TYPES, {"sighting"}):
            for position, oid, _ in spill.tagged(*kinds):
                if kinds is CONTAINER_TYPES or not spill.marked(oid):
                    root = self._root(oid)
                    members = self._closure(root)
                    spill.mark(m["id"] for m in members)
                    spill.note(position, self._outcome(root, members))
        for position, oid, kind in spill.tagged(*_REPORTING):
            if kind in CONTAINER_TYPES or kind == "sighting":
                outcome = spill.noted(position)
                if outcome is None:  # a sighting a container holds
                    continue
            elif spill.marked(oid):
                continue
            else:
                root = self._root(oid)
                outcome = self._outcome(root, self._closure(root))
            yield self._item(position, oid, outcome)

    def _root(self, oid: str) -> Obj:
        self.memo.clear()  # a new report: what the last one read is no longer needed
        root = self._get(oid)
        assert root is not None, oid  # listed by the spill itself
        return root

    def _outcome(self, root: Obj, members: list[Obj]) -> dict[str, Any]:
        """What one report came to, as JSON the spill can hold: the report document or its faults."""
        try:
            return {"report": self._report(root, members)}
        except _Fault as exc:
            return {"faults": exc.faults}
        except AccordError as exc:
            return {"faults": dict(faults_of(exc))}

    @staticmethod
    def _item(position: int, oid: str, outcome: dict[str, Any]) -> Item:
        if "faults" in outcome:
            return Item(position, None, outcome["faults"], oid)
        try:
            return Item(position, parse_obj(ReportIn, outcome["report"]), ref=oid)
        except AccordError as exc:
            return fault_item(position, exc, oid)

    def _valid(self, obj: Obj) -> Obj:
        """The object itself once checked (each id once per bundle), or its fault."""
        oid = obj["id"]
        if oid in self.checked:
            self.checked.move_to_end(oid)
        else:
            faults = _object_faults(obj)
            self.checked[oid] = _Fault(faults) if faults else None
            if len(self.checked) > _CHECKED:
                self.checked.popitem(last=False)
        if (fault := self.checked[oid]) is not None:
            raise fault
        return obj

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
        codes = [self._tlp_code(self._get(r)) or _TLP_BY_ID.get(r) for r in root.get("object_marking_refs") or []]
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
                obj = self._get(ref)
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
                    obj = self._get(ref) if isinstance(ref, str) else None
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
        with _load(stream, options) as spill:
            yield from _Bundle(spill, options).items()


STIX = StixImporter()


@hookimpl
def accord_importers() -> list[StixImporter]:
    return [STIX]
