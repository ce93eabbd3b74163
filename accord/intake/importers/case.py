"""CASE/UCO JSON-LD in: a graph whose provenance records and investigative actions become reports.

The document is read whole (bounded by ``max_document_bytes``), checked, and handed to rdflib's
JSON-LD parser as parsed JSON, so rdflib never opens a URL: a remote ``@context`` or ``@import``
anywhere is refused before parsing (the context must be inline, as in the CASE examples).

Which nodes are reports, in document order (the order in which their IRIs first appear in the
file): each ``case-investigation:ProvenanceRecord``, and each ``case-investigation:InvestigativeAction``
that has no provenance record among its results. A record's observables are its ``uco-core:object``s;
an action's, its ``uco-action:object``s and ``uco-action:result``s. The time is the start time (else
the end time) of the action, or of the actions that produced the record; none is a fault. Our own
export (``accord.intake.exporters.case``) carries every other field in ``drafting:`` terms; a
third-party document gets the defaults below. Rules and mapping: ``docs/formats/case.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson
from rdflib import RDF, BNode, Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.plugins.parsers.jsonld import to_rdf
from rdflib.plugins.shared.jsonld.context import Context
from rdflib.term import Node

from accord.errors import AccordError, Invalid, PayloadTooLarge
from accord.intake.exporters.case import CONTEXT, DRAFTING
from accord.intake.formats import ImportOptions, Item, fault_item
from accord.intake.source import check_text_encoding
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.plugins.hookspecs import hookimpl

__all__ = ["CASE", "CaseImporter"]

INV = Namespace(CONTEXT["case-investigation"])
CORE = Namespace(CONTEXT["uco-core"])
ACTION = Namespace(CONTEXT["uco-action"])
OBS = Namespace(CONTEXT["uco-observable"])
TYPES = Namespace(CONTEXT["uco-types"])
MARKING = Namespace(CONTEXT["uco-marking"])
D = Namespace(DRAFTING)

_CDO = ("https://ontology.unifiedcyberontology.org/uco/", "https://ontology.caseontology.org/case/")
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


def _load(stream: IO[bytes], options: ImportOptions) -> Any:
    """The JSON document, refused whole if too large, not UTF-8, malformed or not JSON-LD."""
    name = options.name
    data = stream.read(options.max_document_bytes + 1)
    if len(data) > options.max_document_bytes:
        raise PayloadTooLarge.at("", f"{name}: document larger than {options.max_document_bytes:,} bytes")
    check_text_encoding(data[:65536], name)
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid.at("", f"{name}: not UTF-8 text (byte {exc.start}); convert it to UTF-8") from None
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise Invalid.at("", f"{name}: malformed or truncated JSON: {exc}") from None
    if not isinstance(doc, dict) or "@context" not in doc:
        raise Invalid.at("", f'{name}: not a JSON-LD document (no "@context" at the top); is it another format?')
    return doc


def _walk(doc: Any, name: str) -> list[str]:
    """The ``@id``s in the order they appear, refusing any context that would be fetched: rdflib
    would download a context given by URL (or ``@import``), and a file must not make us open URLs."""
    ids: list[str] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            if "@import" in node:
                raise Invalid.at("", f"{name}: JSON-LD @import of {node['@import']!r} refused: give contexts inline")
            contexts = node.get("@context")
            for ctx in contexts if isinstance(contexts, list) else [contexts]:
                if ctx is not None and not isinstance(ctx, dict):
                    raise Invalid.at("", f"{name}: remote JSON-LD context {ctx!r} refused: give the context inline")
            if isinstance(node.get("@id"), str):
                ids.append(node["@id"])
            stack.extend(reversed(list(node.values())))
    return ids


def _parse(doc: Any, name: str) -> tuple[Graph, dict[Node, int]]:
    ids = _walk(doc, name)
    graph = Graph()
    try:
        to_rdf(doc, graph)
        top = Context(doc["@context"])
        order: dict[Node, int] = {}
        for position, ref in enumerate(ids):
            node = BNode(ref[2:]) if ref.startswith("_:") else URIRef(top.resolve(ref))  # rdflib keeps _: labels
            order.setdefault(node, position)
    except Exception as exc:  # rdflib raises many kinds on bad JSON-LD; all mean the same to the sender
        raise Invalid.at("", f"{name}: not valid JSON-LD: {exc}") from None
    if not any(str(t).startswith(_CDO) for t in _terms(graph)):
        raise Invalid.at("", f"{name}: no CASE/UCO terms in this JSON-LD; not a CASE document")
    return graph, order


def _terms(graph: Graph) -> Iterator[Node]:
    for _, p, o in graph:
        yield p
        if p == RDF.type:
            yield o


class _Graph:
    """Small queries over the parsed graph, every multi-valued answer in document order."""

    def __init__(self, graph: Graph, order: dict[Node, int]) -> None:
        self.g, self.order = graph, order

    def key(self, node: Node) -> tuple[int, str]:
        return self.order.get(node, len(self.order)), str(node)

    def sort(self, nodes: Iterable[Node]) -> list[Node]:
        return sorted(set(nodes), key=self.key)

    def all(self, subject: Node, predicate: URIRef) -> list[Node]:
        return self.sort(self.g.objects(subject, predicate))

    def one(self, subject: Node | None, predicate: URIRef) -> str | None:
        if subject is None:
            return None
        values = sorted(str(o) for o in self.g.objects(subject, predicate))
        return values[0] if values else None

    def is_a(self, node: Node, cls: URIRef) -> bool:
        return (node, RDF.type, cls) in self.g

    def facet(self, node: Node, cls: URIRef) -> Node | None:
        found = [f for f in self.all(node, CORE.hasFacet) if self.is_a(f, cls)]
        return found[0] if found else None


def _units(q: _Graph) -> list[tuple[Node, list[Node]]]:
    """(report node, the actions that give its time), in document order."""
    records = set(q.g.subjects(RDF.type, INV.ProvenanceRecord))
    actions = q.sort(q.g.subjects(RDF.type, INV.InvestigativeAction))
    by_record: dict[Node, list[Node]] = {r: [] for r in records}
    units: list[tuple[Node, list[Node]]] = []
    for action in actions:
        produced = [r for r in q.all(action, ACTION.result) if r in records]
        for r in produced:
            by_record[r].append(action)
        if not produced:
            units.append((action, [action]))
    units += by_record.items()
    return sorted(units, key=lambda u: q.key(u[0]))


class _Report:
    """Builds one ReportIn document from a report node; ``refs`` maps JSON pointers to the IRIs they
    came from, so a fault names the node in the file."""

    def __init__(self, q: _Graph, unit: Node, actions: list[Node], options: ImportOptions) -> None:
        self.q, self.unit, self.actions, self.options = q, unit, actions, options
        self.refs: dict[str, Node] = {}
        self.errors: dict[str, str] = {}

    def build(self) -> dict[str, Any]:
        q, unit = self.q, self.unit
        ours = (unit, D.source, None) in q.g
        doc: dict[str, Any] = {
            "source": q.one(unit, D.source) or self.options.source or _DEFAULT_SOURCE,
            "incident_type": q.one(unit, D.incidentType) or _DEFAULT_INCIDENT,
            "received_at": self._time(),
            "location": {k: v for k in ("country", "timezone") if (v := q.one(unit, D[k]))},
        }
        external = q.one(unit, D.externalId) if ours else str(unit) if isinstance(unit, URIRef) else None
        if external and len(external) <= _MAX_EXTERNAL_ID:
            doc["external_id"] = external
        if (urgency := q.g.value(unit, D.urgency)) is not None:
            doc["urgency"] = [str(v) for v in Collection(q.g, urgency)]
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
        self.errors["/received_at"] = f"<{self.unit}>: no investigative action with a uco-action:startTime produced it"
        return None

    def _marking(self) -> str | None:
        for definition in self.q.all(self.unit, CORE.objectMarking):
            for model in self.q.all(definition, MARKING.definition):
                statement = (self.q.one(model, MARKING.statement) or "").strip().upper()
                if statement.startswith("TLP:"):
                    code = statement.removeprefix("TLP:")
                    return "CLEAR" if code == "WHITE" else code  # TLP 1.0 WHITE is TLP 2.0 CLEAR
        return None

    def _subjects(self, objects: list[Node]) -> list[dict[str, Any]]:
        """A compilation (our export's subject) gives one subject of its members; any other observable
        that stands for an identifier is a subject of its own, role unknown."""
        q = self.q
        groups = [o for o in objects if q.is_a(o, CORE.ContextualCompilation)]
        grouped = {m for g in groups for m in q.all(g, CORE.object)}
        conns = {o: f for o in objects if (f := q.facet(o, OBS.NetworkConnectionFacet)) is not None}
        # an address that an email account in the report names is that account, not a subject of its own
        accounts = [f for o in [*objects, *grouped] if (f := q.facet(o, OBS.EmailAccountFacet)) is not None]
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
                self.refs[pointer] = at
                self.refs.update({f"{pointer}/identifiers/{j}": n for j, (n, _) in enumerate(idents)})
                subjects.append({"role": role, "identifiers": [ident for _, ident in idents]})
        return subjects

    def _identifiers(self, node: Node, conns: dict[Node, Node]) -> list[dict[str, Any]]:
        """The identifier for an observable; an IP gives one per connection from it (port, time seen)."""
        found = self._identifier(node)
        if found is None:
            return []
        q = self.q
        seen = [f for f in conns.values() if node in q.all(f, OBS.src)] if found["kind"] == "ip" else []
        variants = [{"port": q.one(f, OBS.sourcePort), "seen_at": q.one(f, OBS.startTime)} for f in seen] or [{}]
        return [{k: v for k, v in {**found, **more}.items() if v is not None} for more in variants]

    def _identifier(self, node: Node) -> dict[str, Any] | None:
        """The identifier an observable stands for, by its facets, the most specific first."""
        q = self.q
        extra = {k: q.one(node, D[k]) for k in ("region", "instrument", "chain")}
        if v := q.one(q.facet(node, OBS.PhoneAccountFacet), OBS.phoneNumber):
            return {"kind": "phone", "value": v, "region": extra["region"]}
        if f := q.facet(node, OBS.EmailAccountFacet):
            addresses = q.all(f, OBS.emailAddress)
            if addresses and (v := q.one(q.facet(addresses[0], OBS.EmailAddressFacet), OBS.addressValue)):
                return {"kind": "email", "value": v}
        if f := q.facet(node, OBS.AccountFacet):
            value = q.one(f, OBS.accountIdentifier)
            if extra["instrument"] and value:
                return {"kind": "payment", "value": value, "instrument": extra["instrument"], "chain": extra["chain"]}
            login = q.one(q.facet(node, OBS.DigitalAccountFacet), OBS.accountLogin)
            if value or login:
                handle = login if value else None
                return {"kind": "account", "value": value or login, "service": self._service(node, f), "handle": handle}
        if v := q.one(q.facet(node, OBS.EmailAddressFacet), OBS.addressValue):
            return {"kind": "email", "value": v}
        for cls in (OBS.IPv4AddressFacet, OBS.IPv6AddressFacet):
            if v := q.one(q.facet(node, cls), OBS.addressValue):
                return {"kind": "ip", "value": v}
        if v := q.one(q.facet(node, OBS.URLFacet), OBS.fullValue):
            return {"kind": "url", "value": v}
        for cls, prop in _DEVICE_VALUES:
            if v := q.one(q.facet(node, cls), prop):
                return {"kind": "device", "value": v}
        return None

    def _service(self, node: Node, account_facet: Node) -> str | None:
        q = self.q
        for app in q.all(q.facet(node, OBS.ApplicationAccountFacet) or node, OBS.application):
            if name := q.one(q.facet(app, OBS.ApplicationFacet), OBS.applicationIdentifier) or q.one(app, CORE.name):
                return name
        for issuer in q.all(account_facet, OBS.accountIssuer):
            if name := q.one(issuer, CORE.name):
                return name
        return None

    def _files(self, objects: list[Node]) -> list[Node]:
        return [o for o in objects if any(self._hashes(f)[0] for f in self.q.all(o, CORE.hasFacet))]

    def _hashes(self, facet: Node) -> tuple[dict[str, str], list[str]]:
        """The hashes Accord can match (MD5, SHA-256, PDQ) on a facet, and any that contradict."""
        q, found, clashes = self.q, dict[str, str](), list[str]()
        for h in q.all(facet, OBS.hash):
            method = (q.one(h, TYPES.hashMethod) or "").upper().replace("-", "")
            field, value = _HASH_FIELDS.get(method), (q.one(h, TYPES.hashValue) or "").lower()
            if field and value and found.setdefault(field, value) != value:
                clashes.append(f"two different {method} hashes (at <{h}>)")
        if pdq := q.one(facet, D.pdq):
            found.setdefault("pdq", pdq.lower())
        return found, clashes

    def _media(self, node: Node, index: int) -> dict[str, Any]:
        q = self.q
        doc: dict[str, Any] = {}
        for f in q.all(node, CORE.hasFacet):
            hashes, clashes = self._hashes(f)
            for field, value in hashes.items():
                if doc.setdefault(field, value) != value:
                    clashes.append(f"two different {field} hashes")
            for message in clashes:
                self.errors[f"/media/{index}"] = message
        content, file = q.facet(node, OBS.ContentDataFacet), q.facet(node, OBS.FileFacet)
        doc["size"] = q.one(content, OBS.sizeInBytes) or q.one(file, OBS.sizeInBytes)
        doc["mime"] = q.one(content, OBS.mimeType)
        doc["pdq_quality"] = q.one(content, D.pdqQuality)
        self.refs[f"/media/{index}"] = node
        return {k: v for k, v in doc.items() if v is not None}


def _located(errors: dict[str, str], refs: dict[str, Node]) -> dict[str, str]:
    """Each fault with the IRI of the node it came from (the longest pointer prefix that has one)."""
    out = {}
    for pointer, message in errors.items():
        at = max((p for p in refs if pointer == p or pointer.startswith(p + "/")), key=len, default=None)
        out[pointer] = f"{message} (at <{refs[at]}>)" if at is not None else message
    return out


class CaseImporter:
    name = "case"
    description = "CASE/UCO JSON-LD: each provenance record or investigative action becomes a report"

    def sniff(self, head: bytes, filename: str) -> bool:
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        return start.startswith(b"{") and b'"@context"' in head and any(ns.encode() in head for ns in _CDO)

    def read(self, stream: IO[bytes], options: ImportOptions) -> Iterator[Item]:
        graph, order = _parse(_load(stream, options), options.name)
        q = _Graph(graph, order)
        units = _units(q)
        if not units and any(graph.subjects(CORE.hasFacet, None)):
            raise Invalid.at("", f"{options.name}: no ProvenanceRecord or InvestigativeAction to make reports of")
        for line, (unit, actions) in enumerate(units, 1):
            yield self._item(q, line, unit, actions, options)

    def _item(self, q: _Graph, line: int, unit: Node, actions: list[Node], options: ImportOptions) -> Item:
        builder = _Report(q, unit, actions, options)
        doc = builder.build()
        ref = str(unit)
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
