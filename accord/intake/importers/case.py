"""CASE/UCO JSON-LD in: a graph whose provenance records and investigative actions become reports.

The document is read into a graph by ``accord.intake.jsonld``: streamed into a spill on disk when it is
plain JSON-LD (ours and the CASE examples are), so memory stays flat whatever its size; by rdflib's
JSON-LD parser otherwise, in memory, within ``max_document_bytes``. Either way the whole document is
read, and any fault in it found, before the first report is given out; the reports are built from
either graph by the same code below.

Which nodes are reports, in document order (the order in which their IRIs first appear in the
file): each ``case-investigation:ProvenanceRecord``, and each ``case-investigation:InvestigativeAction``
that has no provenance record among its results. A record's observables are its ``uco-core:object``s;
an action's, its ``uco-action:object``s and ``uco-action:result``s. The time is the start time (else
the end time) of the action, or of the actions that produced the record; none is a fault. Our own
export (``accord.intake.exporters.case``) carries every other field in ``drafting:`` terms; a
third-party document gets the defaults below. Rules and mapping: ``docs/formats/case.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import IO, Any

from accord.errors import AccordError, Invalid
from accord.intake.exporters.case import CONTEXT, DRAFTING
from accord.intake.formats import ImportOptions, Item, fault_item
from accord.intake.jsonld import Graph, Watch, read_graph
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.plugins.hookspecs import hookimpl

__all__ = ["CASE", "CaseImporter"]


class _Ns:
    """A namespace's IRIs as plain strings: both readers look them up (rdflib's ``Namespace`` gives
    URIRefs, which do not hash as strings)."""

    def __init__(self, base: str) -> None:
        self._base = base

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        iri = self._base + name
        setattr(self, name, iri)
        return iri

    def __getitem__(self, name: str) -> str:
        iri: str = getattr(self, name)
        return iri


INV = _Ns(CONTEXT["case-investigation"])
CORE = _Ns(CONTEXT["uco-core"])
ACTION = _Ns(CONTEXT["uco-action"])
OBS = _Ns(CONTEXT["uco-observable"])
TYPES = _Ns(CONTEXT["uco-types"])
MARKING = _Ns(CONTEXT["uco-marking"])
D = _Ns(DRAFTING)

_CDO = ("https://ontology.unifiedcyberontology.org/uco/", "https://ontology.caseontology.org/case/")
# what the reports ask of the whole graph: is it CASE, the report nodes, are there facets, who produced a record
_WATCH = Watch(
    vocabularies=_CDO,
    classes=frozenset({INV.ProvenanceRecord, INV.InvestigativeAction}),
    predicates=frozenset({CORE.hasFacet}),
    reverse=frozenset({ACTION.result}),
)
_DEFAULT_SOURCE = "partner"
_DEFAULT_INCIDENT = "other"
_MAX_EXTERNAL_ID = 200  # ReportIn.external_id
_HASH_FIELDS = {"MD5": "md5", "SHA256": "sha256", "PDQ": "pdq"}  # others (SHA1, SSDEEP...) Accord cannot match
_DEVICE_VALUES = (
    (OBS.DeviceFacet, OBS.serialNumber),
    (OBS.MobileDeviceFacet, OBS.IMEI),
    (OBS.MACAddressFacet, OBS.addressValue),
    (OBS.WifiAddressFacet, OBS.addressValue),
    (OBS.BluetoothAddressFacet, OBS.addressValue),
)


# ---- reports ----


def _units(q: Graph) -> Iterator[tuple[object, list[object]]]:
    """(report node, the actions that give its time), in document order."""
    for node in q.typed(INV.ProvenanceRecord, INV.InvestigativeAction):
        types = q.types(node)
        if INV.InvestigativeAction in types and not any(
            q.is_a(r, INV.ProvenanceRecord) for r in q.objects(node, ACTION.result)
        ):
            yield node, [node]
        if INV.ProvenanceRecord in types:
            producers = q.subjects(ACTION.result, node)
            yield node, q.sort(a for a in producers if q.is_a(a, INV.InvestigativeAction))


class _Report:
    """Builds one ReportIn document from a report node; ``refs`` maps JSON pointers to the IRIs they
    came from, so a fault names the node in the file."""

    def __init__(self, q: Graph, unit: object, actions: list[object], options: ImportOptions) -> None:
        self.q, self.unit, self.actions, self.options = q, unit, actions, options
        self.refs: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self._hashed: dict[object, tuple[dict[str, str], list[str]]] = {}  # _files, then _media, ask
        self._facets: dict[object, dict[str, object]] = {}  # node -> facet class -> its first facet of it

    def _facet(self, node: object, cls: str) -> object | None:
        """The node's first facet of class ``cls`` (a report asks for a dozen classes per observable)."""
        facets = self._facets.get(node)
        if facets is None:
            facets = self._facets[node] = {}
            for f in self.q.all(node, CORE.hasFacet):
                for t in self.q.types(f):
                    facets.setdefault(t, f)
        return facets.get(cls)

    def build(self) -> dict[str, Any]:
        q, unit = self.q, self.unit
        ours = q.has(unit, D.source)
        doc: dict[str, Any] = {
            "source": q.one(unit, D.source) or self.options.source or _DEFAULT_SOURCE,
            "incident_type": q.one(unit, D.incidentType) or _DEFAULT_INCIDENT,
            "received_at": self._time(),
            "location": {k: v for k in ("country", "timezone") if (v := q.one(unit, D[k]))},
        }
        external = q.one(unit, D.externalId) if ours else q.text(unit) if q.is_iri(unit) else None
        if external and len(external) <= _MAX_EXTERNAL_ID:
            doc["external_id"] = external
        if (urgency := q.first_list(unit, D.urgency)) is not None:
            doc["urgency"] = urgency
        if marking := self._marking():
            doc["marking"] = marking
        if not ours and (texts := [t for n in [unit, *self.actions] if (t := q.one(n, CORE.description))]):
            doc["narrative"] = "\n\n".join(dict.fromkeys(texts))  # free text: sealed on intake
        if unit in self.actions:
            objects = q.all(unit, ACTION.object) + q.all(unit, ACTION.result)
        else:
            objects = q.all(unit, CORE.object)
        doc["subjects"] = self._subjects(q.sort(objects))
        doc["media"] = [self._media(o, i) for i, o in enumerate(self._files(q.sort(objects)))]
        return doc

    def _time(self) -> str | None:
        for action in self.actions:  # in document order: the first that has a time
            if at := self.q.one(action, ACTION.startTime) or self.q.one(action, ACTION.endTime):
                return at
        unit = self.q.text(self.unit)
        self.errors["/received_at"] = f"<{unit}>: no investigative action with a uco-action:startTime produced it"
        return None

    def _marking(self) -> str | None:
        for definition in self.q.all(self.unit, CORE.objectMarking):
            for model in self.q.all(definition, MARKING.definition):
                statement = (self.q.one(model, MARKING.statement) or "").strip().upper()
                if statement.startswith("TLP:"):
                    code = statement.removeprefix("TLP:")
                    return "CLEAR" if code == "WHITE" else code  # TLP 1.0 WHITE is TLP 2.0 CLEAR
        return None

    def _subjects(self, objects: list[object]) -> list[dict[str, Any]]:
        """A compilation (our export's subject) gives one subject of its members; any other observable
        that stands for an identifier is a subject of its own, role unknown."""
        q = self.q
        groups = [o for o in objects if q.is_a(o, CORE.ContextualCompilation)]
        grouped = {m for g in groups for m in q.all(g, CORE.object)}
        conns = {o: f for o in objects if (f := self._facet(o, OBS.NetworkConnectionFacet)) is not None}
        # an address that an email account in the report names is that account, not a subject of its own
        accounts = [f for o in [*objects, *grouped] if (f := self._facet(o, OBS.EmailAccountFacet)) is not None]
        consumed = {a for f in accounts for a in q.all(f, OBS.emailAddress)}
        entries = [(g, q.one(g, D.subjectRole) or "unknown", q.all(g, CORE.object)) for g in groups]
        skip = grouped | consumed | set(groups) | set(conns)
        entries += [(o, "unknown", [o]) for o in objects if o not in skip]
        named = set(objects) | grouped
        for conn, facet in conns.items():  # an IP that only a connection names: a subject at its place
            entries += [(conn, "unknown", [src]) for src in q.all(facet, OBS.src) if src not in named]
            named.update(q.all(facet, OBS.src))
        subjects: list[dict[str, Any]] = []
        for at, role, nodes in sorted(entries, key=lambda e: q.key(e[0])):
            pointer = f"/subjects/{len(subjects)}"
            idents = [(n, ident) for n in nodes for ident in self._identifiers(n, conns)]
            if idents:
                self.refs[pointer] = q.text(at)
                self.refs.update({f"{pointer}/identifiers/{j}": q.text(n) for j, (n, _) in enumerate(idents)})
                subjects.append({"role": role, "identifiers": [ident for _, ident in idents]})
        return subjects

    def _identifiers(self, node: object, conns: dict[object, object]) -> list[dict[str, Any]]:
        """The identifier for an observable; an IP gives one per connection from it (port, time seen)."""
        found = self._identifier(node)
        if found is None:
            return []
        q = self.q
        seen = [f for f in conns.values() if node in q.all(f, OBS.src)] if found["kind"] == "ip" else []
        variants = [{"port": q.one(f, OBS.sourcePort), "seen_at": q.one(f, OBS.startTime)} for f in seen] or [{}]
        return [{k: v for k, v in {**found, **more}.items() if v is not None} for more in variants]

    def _identifier(self, node: object) -> dict[str, Any] | None:
        """The identifier an observable stands for, by its facets, the most specific first."""
        q = self.q
        if v := q.one(self._facet(node, OBS.PhoneAccountFacet), OBS.phoneNumber):
            return {"kind": "phone", "value": v, "region": q.one(node, D.region)}
        if f := self._facet(node, OBS.EmailAccountFacet):
            addresses = q.all(f, OBS.emailAddress)
            if addresses and (v := q.one(self._facet(addresses[0], OBS.EmailAddressFacet), OBS.addressValue)):
                return {"kind": "email", "value": v}
        if f := self._facet(node, OBS.AccountFacet):
            value = q.one(f, OBS.accountIdentifier)
            if value and (instrument := q.one(node, D.instrument)):
                return {"kind": "payment", "value": value, "instrument": instrument, "chain": q.one(node, D.chain)}
            login = q.one(self._facet(node, OBS.DigitalAccountFacet), OBS.accountLogin)
            if value or login:
                handle = login if value else None
                return {"kind": "account", "value": value or login, "service": self._service(node, f), "handle": handle}
        if v := q.one(self._facet(node, OBS.EmailAddressFacet), OBS.addressValue):
            return {"kind": "email", "value": v}
        for cls in (OBS.IPv4AddressFacet, OBS.IPv6AddressFacet):
            if v := q.one(self._facet(node, cls), OBS.addressValue):
                return {"kind": "ip", "value": v}
        if v := q.one(self._facet(node, OBS.URLFacet), OBS.fullValue):
            return {"kind": "url", "value": v}
        for cls, prop in _DEVICE_VALUES:
            if v := q.one(self._facet(node, cls), prop):
                return {"kind": "device", "value": v}
        return None

    def _service(self, node: object, account_facet: object) -> str | None:
        q = self.q
        for app in q.all(self._facet(node, OBS.ApplicationAccountFacet) or node, OBS.application):
            if name := q.one(self._facet(app, OBS.ApplicationFacet), OBS.applicationIdentifier) or q.one(
                app, CORE.name
            ):
                return name
        for issuer in q.all(account_facet, OBS.accountIssuer):
            if name := q.one(issuer, CORE.name):
                return name
        return None

    def _files(self, objects: list[object]) -> list[object]:
        return [o for o in objects if any(self._hashes(f)[0] for f in self.q.all(o, CORE.hasFacet))]

    def _hashes(self, facet: object) -> tuple[dict[str, str], list[str]]:
        """The hashes Accord can match (MD5, SHA-256, PDQ) on a facet, and any that contradict."""
        if (known := self._hashed.get(facet)) is not None:
            return known[0], list(known[1])
        q, found, clashes = self.q, dict[str, str](), list[str]()
        for h in q.all(facet, OBS.hash):
            method = (q.one(h, TYPES.hashMethod) or "").upper().replace("-", "")
            field, value = _HASH_FIELDS.get(method), (q.one(h, TYPES.hashValue) or "").lower()
            if field and value and found.setdefault(field, value) != value:
                clashes.append(f"two different {method} hashes (at <{q.text(h)}>)")
        if pdq := q.one(facet, D.pdq):
            found.setdefault("pdq", pdq.lower())
        self._hashed[facet] = found, clashes
        return found, list(clashes)

    def _media(self, node: object, index: int) -> dict[str, Any]:
        q = self.q
        doc: dict[str, Any] = {}
        for f in q.all(node, CORE.hasFacet):
            hashes, clashes = self._hashes(f)
            for field, value in hashes.items():
                if doc.setdefault(field, value) != value:
                    clashes.append(f"two different {field} hashes")
            for message in clashes:
                self.errors[f"/media/{index}"] = message
        content, file = self._facet(node, OBS.ContentDataFacet), self._facet(node, OBS.FileFacet)
        doc["size"] = q.one(content, OBS.sizeInBytes) or q.one(file, OBS.sizeInBytes)
        doc["mime"] = q.one(content, OBS.mimeType)
        doc["pdq_quality"] = q.one(content, D.pdqQuality)
        self.refs[f"/media/{index}"] = q.text(node)
        return {k: v for k, v in doc.items() if v is not None}


def _located(errors: dict[str, str], refs: dict[str, str]) -> dict[str, str]:
    """Each fault with the IRI of the node it came from (the longest pointer prefix that has one)."""
    out = {}
    for pointer, message in errors.items():
        at = max((p for p in refs if pointer == p or pointer.startswith(p + "/")), key=len, default=None)
        out[pointer] = f"{message} (at <{refs[at]}>)" if at is not None else message
    return out


class CaseImporter:
    name = "case"
    description = "CASE/UCO JSON-LD: each provenance record or investigative action becomes a report"

    def __init__(self, fast: bool = True) -> None:
        self.fast = fast  # False: always rdflib (the tests compare the two readers)

    def sniff(self, head: bytes, filename: str) -> bool:
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        return start.startswith(b"{") and b'"@context"' in head and any(ns.encode() in head for ns in _CDO)

    def read(self, stream: IO[bytes], options: ImportOptions) -> Iterator[Item]:
        with read_graph(stream, options, _WATCH, self.fast) as q:
            if not q.in_vocabulary:
                raise Invalid.at("", f"{options.name}: no CASE/UCO terms in this JSON-LD; not a CASE document")
            units = _units(q)
            first = next(units, None)
            if first is None:
                if q.uses(CORE.hasFacet):
                    raise Invalid.at(
                        "", f"{options.name}: no ProvenanceRecord or InvestigativeAction to make reports of"
                    )
                return
            for line, (unit, actions) in enumerate(chain([first], units), 1):
                yield self._item(q, line, unit, actions, options)

    def _item(self, q: Graph, line: int, unit: object, actions: list[object], options: ImportOptions) -> Item:
        builder = _Report(q, unit, actions, options)
        doc = builder.build()
        ref = q.text(unit)
        if builder.errors:
            return Item(line, None, _located(builder.errors, builder.refs), ref)
        try:
            return Item(line, parse_obj(ReportIn, doc), ref=ref)
        except AccordError as exc:
            if isinstance(exc, Invalid) and exc.errors:
                return Item(line, None, _located(exc.errors, builder.refs), ref)
            return fault_item(line, exc, ref)


CASE = CaseImporter()


@hookimpl
def accord_importers() -> list[CaseImporter]:
    return [CASE]
