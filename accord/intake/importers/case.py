"""CASE/UCO JSON-LD in: a graph whose provenance records and investigative actions become reports.

The document is read whole (bounded by ``max_document_bytes``) and parsed as JSON. Two readers turn it
into the graph the reports are built from, decided before the first report is given out:

- ``_JsonGraph``, the fast one, reads the parsed JSON itself when the document stays in plain JSON-LD:
  an inline top ``@context`` that only names prefixes and terms (name -> absolute IRI: what our
  exporter and the CASE examples write), an ``@graph`` of node objects using ``@id``, ``@type``,
  values, ``{"@id"}`` references, nested nodes (blank ones too), ``@value``/``@type`` literals and
  ``@list``. It expands IRIs exactly as rdflib does for such a context, so it gives the same reports.
- rdflib's JSON-LD parser, for everything else (``@vocab``, coercion, scoped contexts, ``@reverse``,
  ``@nest``...). The fast reader checks the whole document while indexing it and hands it over at
  the first construct outside its subset. rdflib never opens a URL: a remote ``@context`` or
  ``@import`` anywhere is refused before parsing (the fast reader never reads one either).

Which nodes are reports, in document order (the order in which their IRIs first appear in the
file): each ``case-investigation:ProvenanceRecord``, and each ``case-investigation:InvestigativeAction``
that has no provenance record among its results. A record's observables are its ``uco-core:object``s;
an action's, its ``uco-action:object``s and ``uco-action:result``s. The time is the start time (else
the end time) of the action, or of the actions that produced the record; none is a fault. Our own
export (``accord.intake.exporters.case``) carries every other field in ``drafting:`` terms; a
third-party document gets the defaults below. Rules and mapping: ``docs/formats/case.md``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import pairwise
from typing import IO, Any, cast
from urllib.parse import urlsplit

import orjson
from rdflib import RDF, BNode, Graph, Literal, URIRef
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
_RDF = _Ns(str(RDF))

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
_BOM = b"\xef\xbb\xbf"


def _load(stream: IO[bytes], options: ImportOptions) -> Any:
    """The JSON document, refused whole if too large, not UTF-8, malformed or not JSON-LD."""
    name = options.name
    data = stream.read(options.max_document_bytes + 1)
    if len(data) > options.max_document_bytes:
        raise PayloadTooLarge.at("", f"{name}: document larger than {options.max_document_bytes:,} bytes")
    check_text_encoding(data[:65536], name)
    start = len(_BOM) if data.startswith(_BOM) else 0
    doc = _by_element(data, start)
    if doc is None:
        body = memoryview(data)[start:]  # no copy of a large document
        try:
            doc = orjson.loads(body)  # orjson checks UTF-8 itself: no decoded copy of the text either
        except orjson.JSONDecodeError as exc:
            try:
                bytes(body).decode("utf-8")
            except UnicodeDecodeError as bad:
                raise Invalid.at("", f"{name}: not UTF-8 text (byte {bad.start}); convert it to UTF-8") from None
            raise Invalid.at("", f"{name}: malformed or truncated JSON: {exc}") from None
    if not isinstance(doc, dict) or "@context" not in doc:
        raise Invalid.at("", f'{name}: not a JSON-LD document (no "@context" at the top); is it another format?')
    return doc


_WS = frozenset(b" \t\r\n")  # JSON's whitespace


def _by_element(data: bytes, start: int) -> Any:
    """The document parsed one ``@graph`` element at a time when it is laid out as our export writes
    it (each element starting a line with ``{``), else None. Parsed whole, orjson holds a copy of
    the text and a tree of it besides the Python objects (a third more memory at the peak). A raw
    newline cannot be inside a JSON string, so the cuts fall between values; they are right when
    the head parses as an object ending in an open ``"@graph"`` array and every piece parses as one
    value followed by its comma (the last by ``]`` and ``}``): anything else, and the caller parses
    the whole document, which also gives the error for a bad one."""
    starts = []
    at = data.find(b"\n{", start)
    while at != -1:
        starts.append(at + 1)
        at = data.find(b"\n{", at + 2)
    if not starts:
        return None

    def before(end: int, char: bytes) -> int:
        """Where ``char`` is, when only whitespace separates it from ``end``."""
        while end > start and data[end - 1] in _WS:
            end -= 1
        if data[end - 1 : end] != char:
            raise ValueError(char)
        return end - 1

    view = memoryview(data)
    try:
        doc = orjson.loads(bytes(view[start : starts[0]]) + b"]}")
        if not (isinstance(doc, dict) and list(doc)[-1:] == ["@graph"] and doc["@graph"] == []):
            return None
        graph = doc["@graph"]
        for a, b in pairwise(starts):
            graph.append(orjson.loads(view[a : before(b, b",")]))
        graph.append(orjson.loads(view[starts[-1] : before(before(len(data), b"}"), b"]")]))
    except (orjson.JSONDecodeError, ValueError):
        return None
    return doc


class _Graph:
    """Small queries over the parsed document, every multi-valued answer in document order. A reader
    gives the primitives (nodes are its own: rdflib terms, or strings and tuples); the queries the
    reports use are built on them here, so both readers build reports with the same code."""

    order: dict[object, int]  # node -> position of its first @id in the file
    cdo: bool  # some predicate or type is a CASE/UCO term
    has_facets: bool  # some node has a uco-core:hasFacet

    def __init__(self) -> None:
        self._facets: dict[object, dict[str, object]] = {}  # node -> facet class -> its first facet of it

    def objects(self, subject: object, predicate: str) -> list[object]:
        raise NotImplementedError

    def texts(self, subject: object, predicate: str) -> list[str]:
        """The objects' lexical forms (the literal's text, the IRI, the blank node's label)."""
        raise NotImplementedError

    def types(self, node: object) -> set[str]:
        raise NotImplementedError

    def has(self, subject: object, predicate: str) -> bool:
        raise NotImplementedError

    def first_list(self, subject: object, predicate: str) -> list[str] | None:
        """The items of the RDF list that is the (first) object, None when there is no object."""
        raise NotImplementedError

    def of_type(self, cls: str) -> list[object]:
        raise NotImplementedError

    def text(self, node: object) -> str:
        raise NotImplementedError

    def is_iri(self, node: object) -> bool:
        raise NotImplementedError

    def key(self, node: object) -> tuple[int, str]:
        """Document order; nodes without an @id (blank, literal) after all others, by their text."""
        at = self.order.get(node)
        return (at, "") if at is not None else (len(self.order), self.text(node))

    def sort(self, nodes: Iterable[object]) -> list[object]:
        nodes = set(nodes)
        return sorted(nodes, key=self.key) if len(nodes) > 1 else list(nodes)

    def all(self, subject: object, predicate: str) -> list[object]:
        return self.sort(self.objects(subject, predicate))

    def one(self, subject: object | None, predicate: str) -> str | None:
        if subject is None:
            return None
        values = self.texts(subject, predicate)
        return min(values) if values else None

    def is_a(self, node: object, cls: str) -> bool:
        return cls in self.types(node)

    def facet(self, node: object, cls: str) -> object | None:
        """The node's first facet of class ``cls`` (a report asks for a dozen classes per observable)."""
        facets = self._facets.get(node)
        if facets is None:
            facets = self._facets[node] = {}
            for f in self.all(node, CORE.hasFacet):
                for t in self.types(f):
                    facets.setdefault(t, f)
        return facets.get(cls)

    def forget(self) -> None:
        """Drop what one report cached."""
        self._facets.clear()


# ---- the rdflib reader ----


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


def _parse(doc: Any, name: str) -> _RdfGraph:
    ids = _walk(doc, name)
    graph = Graph()
    try:
        to_rdf(doc, graph)
        top = Context(doc["@context"])
        order: dict[object, int] = {}
        for ref in ids:
            node = BNode(ref[2:]) if ref.startswith("_:") else URIRef(top.resolve(ref))  # rdflib keeps _: labels
            order.setdefault(node, len(order))
    except Exception as exc:  # rdflib raises many kinds on bad JSON-LD; all mean the same to the sender
        raise Invalid.at("", f"{name}: not valid JSON-LD: {exc}") from None
    return _RdfGraph(graph, order)


def _terms(graph: Graph) -> Iterator[Node]:
    for _, p, o in graph:
        yield p
        if p == RDF.type:
            yield o


class _RdfGraph(_Graph):
    def __init__(self, graph: Graph, order: dict[object, int]) -> None:
        super().__init__()
        self.g, self.order = graph, order
        self.cdo = any(str(t).startswith(_CDO) for t in _terms(graph))
        self.has_facets = any(graph.subjects(URIRef(CORE.hasFacet), None))
        self._iris: dict[str, URIRef] = {}

    def _iri(self, iri: str) -> URIRef:
        ref = self._iris.get(iri)
        if ref is None:
            ref = self._iris[iri] = URIRef(iri)
        return ref

    def objects(self, subject: object, predicate: str) -> list[object]:
        return list(self.g.objects(cast(Node, subject), self._iri(predicate)))

    def texts(self, subject: object, predicate: str) -> list[str]:
        return [str(o) for o in self.g.objects(cast(Node, subject), self._iri(predicate))]

    def types(self, node: object) -> set[str]:
        return {str(o) for o in self.g.objects(cast(Node, node), RDF.type)}

    def has(self, subject: object, predicate: str) -> bool:
        return (cast(Node, subject), self._iri(predicate), None) in self.g

    def first_list(self, subject: object, predicate: str) -> list[str] | None:
        head = self.g.value(cast(Node, subject), self._iri(predicate))
        return None if head is None else [str(v) for v in Collection(self.g, head)]

    def of_type(self, cls: str) -> list[object]:
        return list(self.g.subjects(RDF.type, self._iri(cls)))

    def text(self, node: object) -> str:
        return str(node)

    def is_iri(self, node: object) -> bool:
        return isinstance(node, URIRef)


# ---- the fast reader: plain JSON-LD read as JSON ----


class _Outside(Exception):
    """The document uses JSON-LD beyond the plain subset: rdflib reads it."""


_GEN_DELIMS = (":", "/", "?", "#", "[", "]", "@")  # rdflib: a term whose IRI ends so is usable as a prefix
_RDF_KEYS = {_RDF.type, _RDF.first, _RDF.rest}  # written as keys, rdflib treats them apart: leave them to it


def _absolute(ref: str) -> bool:
    """What rdflib (with no base IRI) keeps as it is: anything else is a relative IRI."""
    try:
        return "://" in ref or bool(urlsplit(ref).scheme)
    except ValueError:
        return False


class _Context:
    """The top ``@context`` when it only names terms (name -> absolute IRI, as in every CASE example),
    and the expansions rdflib makes with it."""

    def __init__(self, ctx: Any) -> None:
        if not isinstance(ctx, dict):
            raise _Outside
        for name, iri in ctx.items():
            if not (
                isinstance(iri, str) and name not in ("", "_") and name[0] != "@" and ":" not in name and ":" in iri
            ):
                raise _Outside
            scheme, _, rest = iri.partition(":")
            if iri[0] == "@" or scheme == "_" or (scheme in ctx and not rest.startswith("//")):
                raise _Outside  # a keyword alias, a blank node, or a term defined by another term
        self.terms: dict[str, str] = ctx
        self.prefixes: dict[str, str] = {name: iri for name, iri in ctx.items() if iri.endswith(_GEN_DELIMS)}
        self.predicates: dict[str, str] = {}
        self._types: dict[str, str] = {}
        self._datatypes: dict[str, str | None] = {}

    def node(self, ref: str) -> str:
        """An ``@id`` as rdflib resolves it: a compact IRI expanded, a blank node kept as ``_:label``."""
        if ref.startswith("_:"):
            if len(ref) == 2:
                raise _Outside
            return ref
        prefix, colon, local = ref.partition(":")
        if colon and prefix in self.prefixes and not local.startswith("//"):
            iri = self.prefixes[prefix] + local
        elif _absolute(ref):
            iri = ref
        else:
            raise _Outside  # relative: rdflib drops the node (there is no base)
        if " " in iri:
            raise _Outside  # rdflib drops it too
        return iri

    def resolved(self, ref: str) -> str:
        """``node`` for an @id the walk has checked already."""
        prefix, colon, local = ref.partition(":")
        base = self.prefixes.get(prefix) if colon else None
        return base + local if base is not None and not local.startswith("//") else ref

    def vocab(self, name: str) -> str | None:
        """A key, type or datatype as rdflib expands it: a term, a compact IRI or an absolute IRI;
        None for an undefined bare word (no ``@vocab`` in the subset)."""
        if name.startswith("@"):
            raise _Outside
        if name in self.terms:
            return self.terms[name]
        prefix, colon, local = name.partition(":")
        if not colon:
            return None
        if not local.startswith("//"):
            if prefix == "_":
                raise _Outside
            if prefix in self.prefixes:
                return self.prefixes[prefix] + local
        if _absolute(name):
            return name
        raise _Outside

    def predicate(self, key: str) -> str:
        iri = self.predicates.get(key)
        if iri is None:
            iri = self.vocab(key)
            if iri is None or iri in _RDF_KEYS:
                raise _Outside  # rdflib drops an undefined key; rdf:type, first and rest as keys are special
            self.predicates[key] = iri
        return iri

    def type(self, name: Any) -> str:
        iri = self._types.get(name) if isinstance(name, str) else None
        if iri is None:
            if not isinstance(name, str):
                raise _Outside
            expanded = self.vocab(name)
            if expanded is None:
                raise _Outside
            iri = self.node(expanded)  # rdflib resolves the expanded type as an @id again
            if iri.startswith("_:"):
                raise _Outside
            self._types[name] = iri
        return iri

    def datatype(self, name: Any) -> str | None:
        if not isinstance(name, str):
            raise _Outside
        if name not in self._datatypes:
            iri = self.vocab(name) if name else None
            if iri is not None and iri.startswith("_:"):
                raise _Outside
            self._datatypes[name] = iri
        return self._datatypes[name]


_XSD = "http://www.w3.org/2001/XMLSchema#"
_NORMALISED = {_XSD + "dateTime", _XSD + "hexBinary"}  # _lexical's own: it cannot fail on a string
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")


def _lexical(value: Any, datatype: str | None) -> str:
    """A literal's text as rdflib gives it. rdflib normalises the known datatypes (``...Z`` is
    ``...+00:00``, ``"0012"^^xsd:integer`` is ``12``): a typed literal goes through its ``Literal``,
    but for the two our export writes on every report, the same normalisation done here (a test
    holds it to ``Literal``'s)."""
    if datatype is not None:
        if isinstance(value, str):
            if datatype == _XSD + "dateTime":
                try:
                    return datetime.fromisoformat(value).isoformat()  # what rdflib does on Python 3.11+
                except ValueError:
                    pass
            elif datatype == _XSD + "hexBinary" and _HEX.fullmatch(value):
                return value.lower()
        return str(Literal(value, datatype=datatype))
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _gather(value: Any, out: list[Any]) -> None:
    """The JSON values of one key that make a triple (arrays flattened, nulls left out)."""
    if isinstance(value, list):
        for v in value:
            if isinstance(v, list):
                _gather(v, out)
            elif v is not None and not (isinstance(v, dict) and v.get("@value", 0) is None):
                out.append(v)
    elif value is not None and not (isinstance(value, dict) and value.get("@value", 0) is None):
        out.append(value)


class _JsonGraph(_Graph):
    """The parsed JSON, indexed by subject: nodes are IRIs (str), blank nodes (``_:label``) and literals
    (a (value, datatype) tuple). One pass checks that the document is in the subset and indexes it;
    values are converted only when a report asks for them."""

    def __init__(self, doc: dict[str, Any]) -> None:
        super().__init__()
        if doc.keys() != {"@context", "@graph"} or not isinstance(doc["@graph"], list):
            raise _Outside
        self.ctx = _Context(doc["@context"])
        self.doc = doc  # the id() of its objects name the blank nodes below
        self.order = {}
        self.cdo = self.has_facets = False
        self._described: dict[object, Any] = {}  # node -> its node object, or a list of them
        self._blank: dict[int, str] = {}  # id() of a node object without @id, or of an @list -> blank node
        self._typed: dict[str, list[str]] = {}  # type -> its nodes
        self._listed: list[tuple[str, str]] = []
        self._anonymous = "N" + secrets.token_hex(8)  # like rdflib's fresh labels, but in document order
        try:
            for node in doc["@graph"]:
                if not isinstance(node, dict):
                    raise _Outside
                self._node(node)
        except RecursionError:
            raise _Outside from None
        self._keys: dict[str, list[str]] = {}  # predicate -> the keys that mean it
        for key, iri in self.ctx.predicates.items():
            self._keys.setdefault(iri, []).append(key)
        if any(len(self._raw(s, p)) > 1 for s, p in self._listed):
            raise _Outside  # which of several values rdflib's Graph.value() takes is its store's business

    def _new_blank(self, obj: dict[str, Any]) -> str:
        label = f"_:{self._anonymous}{len(self._blank):010d}"
        self._blank[id(obj)] = label
        return label

    def _node(self, obj: dict[str, Any]) -> str:
        """Check and index a node object (and the nodes in it); its subject."""
        if "@id" in obj:
            ref = obj["@id"]
            if not isinstance(ref, str):
                raise _Outside
            subject = self.ctx.node(ref)
            self.order.setdefault(subject, len(self.order))  # before the nodes inside it, as _walk counts
        else:
            subject = self._new_blank(obj)
        described = False
        for key, value in obj.items():
            if key == "@id":
                continue
            if key == "@type":
                for t in value if isinstance(value, list) else (value,):
                    cls = self.ctx.type(t)
                    self._typed.setdefault(cls, []).append(subject)
                    described = True
                    self.cdo = self.cdo or cls.startswith(_CDO)
            elif key.startswith("@"):
                raise _Outside  # @context, @reverse, @nest, @included, @graph, @value at node level...
            else:
                predicate = self.ctx.predicate(key)
                if isinstance(value, str) or self._values(subject, predicate, value):
                    described = True
                    self.cdo = self.cdo or predicate.startswith(_CDO)
                    self.has_facets = self.has_facets or predicate == CORE.hasFacet
        if described:
            was = self._described.get(subject)
            self._described[subject] = obj if was is None else [*was, obj] if isinstance(was, list) else [was, obj]
        return subject

    def _values(self, subject: str, predicate: str, value: Any) -> bool:
        """Check (and index the nodes in) one key's value; whether it makes any triple."""
        if isinstance(value, list):
            made = False
            for v in value:
                made = self._values(subject, predicate, v) or made
            return made
        if not isinstance(value, dict):
            return value is not None
        if "@value" in value:
            if not value.keys() <= {"@value", "@type"}:
                raise _Outside  # @language, @direction, @index...
            raw = value["@value"]
            if raw is not None and not isinstance(raw, (str, int, float)):
                raise _Outside
            datatype = self.ctx.datatype(value["@type"]) if "@type" in value else None
            if raw is not None and datatype is not None and not (isinstance(raw, str) and datatype in _NORMALISED):
                try:
                    _lexical(raw, datatype)  # rdflib makes the Literal while parsing: a failure refuses the file
                except Exception:
                    raise _Outside from None
            return raw is not None
        if "@list" in value:
            items = value["@list"]
            if value.keys() != {"@list"} or items is None:
                raise _Outside
            items = items if isinstance(items, list) else [items]
            for item in items:
                nested = isinstance(item, dict) and ("@list" in item or item.get("@value", 0) is None)
                if nested or isinstance(item, list):
                    raise _Outside  # lists of lists; a null @value (rdflib makes a looping list of it)
                self._values(subject, predicate, item)
            if any(item is not None for item in items):
                self._new_blank(value)  # else rdf:nil
            self._listed.append((subject, predicate))
            return True
        self._node(value)
        return True

    # queries

    def _raw(self, subject: object, predicate: str) -> list[Any]:
        """The JSON values of (subject, predicate) that make a triple, in document order."""
        out: list[Any] = []
        found = self._described.get(subject)
        keys = self._keys.get(predicate)
        if found is None or keys is None:
            return out
        for obj in (found,) if found.__class__ is dict else found:
            for key in keys:
                if key in obj:
                    _gather(obj[key], out)
        return out

    def _object(self, value: Any) -> object:
        if isinstance(value, dict):
            if "@value" in value:
                return value["@value"], self.ctx.datatype(value["@type"]) if "@type" in value else None
            if "@id" in value:
                return self.ctx.resolved(value["@id"])
            return self._blank.get(id(value), _RDF.nil)  # only an empty @list has no blank node
        return value, None

    def _text(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "@value" in value:
            return _lexical(value["@value"], self.ctx.datatype(value["@type"]) if "@type" in value else None)
        return self.text(self._object(value))

    def objects(self, subject: object, predicate: str) -> list[object]:
        return [self._object(v) for v in self._raw(subject, predicate)]

    def one(self, subject: object | None, predicate: str) -> str | None:
        values = self._raw(subject, predicate) if subject is not None else ()
        if len(values) == 1:
            return self._text(values[0])
        return min(map(self._text, values)) if values else None

    def texts(self, subject: object, predicate: str) -> list[str]:
        return [self._text(v) for v in self._raw(subject, predicate)]

    def types(self, node: object) -> set[str]:
        found = self._described.get(node)
        if found is None:
            return set()
        out: set[str] = set()
        for obj in found if isinstance(found, list) else (found,):
            value = obj.get("@type")
            if value is not None:
                out.update(self.ctx.type(t) for t in (value if isinstance(value, list) else (value,)))
        return out

    def has(self, subject: object, predicate: str) -> bool:
        return bool(self._raw(subject, predicate))

    def first_list(self, subject: object, predicate: str) -> list[str] | None:
        values = self._raw(subject, predicate)
        if not values:
            return None
        head = values[0]
        if not (isinstance(head, dict) and "@list" in head):
            return []  # not a list: rdflib's Collection of it is empty
        items = head["@list"]
        return [self._text(v) for v in (items if isinstance(items, list) else (items,)) if v is not None]

    def of_type(self, cls: str) -> list[object]:
        return list(self._typed.get(cls, ()))

    def text(self, node: object) -> str:
        if isinstance(node, str):
            return node[2:] if node.startswith("_:") else node
        assert isinstance(node, tuple)  # a literal
        return _lexical(*node)

    def is_iri(self, node: object) -> bool:
        return isinstance(node, str) and not node.startswith("_:")


def _graph(doc: Any, name: str, fast: bool = True) -> _Graph:
    """The document's graph: read as plain JSON when it is in the subset, by rdflib otherwise."""
    try:
        if not fast:
            raise _Outside
        graph: _Graph = _JsonGraph(doc)
    except _Outside:
        graph = _parse(doc, name)
    if not graph.cdo:
        raise Invalid.at("", f"{name}: no CASE/UCO terms in this JSON-LD; not a CASE document")
    return graph


# ---- reports ----


def _units(q: _Graph) -> list[tuple[object, list[object]]]:
    """(report node, the actions that give its time), in document order."""
    records = set(q.of_type(INV.ProvenanceRecord))
    actions = q.sort(q.of_type(INV.InvestigativeAction))
    by_record: dict[object, list[object]] = {r: [] for r in records}
    units: list[tuple[object, list[object]]] = []
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

    def __init__(self, q: _Graph, unit: object, actions: list[object], options: ImportOptions) -> None:
        self.q, self.unit, self.actions, self.options = q, unit, actions, options
        self.refs: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self._hashed: dict[object, tuple[dict[str, str], list[str]]] = {}  # _files, then _media, ask

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
        if v := q.one(q.facet(node, OBS.PhoneAccountFacet), OBS.phoneNumber):
            return {"kind": "phone", "value": v, "region": q.one(node, D.region)}
        if f := q.facet(node, OBS.EmailAccountFacet):
            addresses = q.all(f, OBS.emailAddress)
            if addresses and (v := q.one(q.facet(addresses[0], OBS.EmailAddressFacet), OBS.addressValue)):
                return {"kind": "email", "value": v}
        if f := q.facet(node, OBS.AccountFacet):
            value = q.one(f, OBS.accountIdentifier)
            if value and (instrument := q.one(node, D.instrument)):
                return {"kind": "payment", "value": value, "instrument": instrument, "chain": q.one(node, D.chain)}
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

    def _service(self, node: object, account_facet: object) -> str | None:
        q = self.q
        for app in q.all(q.facet(node, OBS.ApplicationAccountFacet) or node, OBS.application):
            if name := q.one(q.facet(app, OBS.ApplicationFacet), OBS.applicationIdentifier) or q.one(app, CORE.name):
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
        content, file = q.facet(node, OBS.ContentDataFacet), q.facet(node, OBS.FileFacet)
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
        q = _graph(_load(stream, options), options.name, self.fast)
        units = _units(q)
        if not units and q.has_facets:
            raise Invalid.at("", f"{options.name}: no ProvenanceRecord or InvestigativeAction to make reports of")
        for line, (unit, actions) in enumerate(units, 1):
            yield self._item(q, line, unit, actions, options)
            q.forget()

    def _item(self, q: _Graph, line: int, unit: object, actions: list[object], options: ImportOptions) -> Item:
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
