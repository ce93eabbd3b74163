"""Any JSON-LD document, read by rdflib's JSON-LD parser: what the plain reader leaves to it.

rdflib's ``Graph`` is in memory, so this path holds the whole document (parsed, then as triples):
it is bounded by ``ImportOptions.max_document_bytes``, as before the plain reader streamed. rdflib
never opens a URL here: a remote ``@context`` or an ``@import`` anywhere is refused before parsing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from rdflib import RDF, BNode, URIRef
from rdflib import Graph as RdflibGraph
from rdflib.collection import Collection
from rdflib.plugins.parsers.jsonld import to_rdf
from rdflib.plugins.shared.jsonld.context import Context
from rdflib.term import Node

from accord.errors import Invalid
from accord.intake.jsonld.graph import Graph, Watch

__all__ = ["RdfGraph", "parse"]


def _ids(doc: Any, name: str) -> list[str]:
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


def parse(doc: Any, name: str, watch: Watch) -> RdfGraph:
    """The parsed JSON document as rdflib reads it; ``Invalid`` naming the file if it cannot."""
    ids = _ids(doc, name)
    graph = RdflibGraph()
    try:
        to_rdf(doc, graph)
        top = Context(doc["@context"])
        order: dict[object, int] = {}
        for ref in ids:
            node = BNode(ref[2:]) if ref.startswith("_:") else URIRef(top.resolve(ref))  # rdflib keeps _: labels
            order.setdefault(node, len(order))
    except Exception as exc:  # rdflib raises many kinds on bad JSON-LD; all mean the same to the sender
        raise Invalid.at("", f"{name}: not valid JSON-LD: {exc}") from None
    return RdfGraph(graph, order, watch)


def _terms(graph: RdflibGraph) -> Iterator[Node]:
    for _, p, o in graph:
        yield p
        if p == RDF.type:
            yield o


class RdfGraph(Graph):
    def __init__(self, graph: RdflibGraph, order: dict[object, int], watch: Watch) -> None:
        self.g, self.order = graph, order
        self.in_vocabulary = any(str(t).startswith(watch.vocabularies) for t in _terms(graph))
        self._used = {p for p in watch.predicates if any(graph.subjects(URIRef(p), None))}
        self._iris: dict[str, URIRef] = {}

    def _iri(self, iri: str) -> URIRef:
        ref = self._iris.get(iri)
        if ref is None:
            ref = self._iris[iri] = URIRef(iri)
        return ref

    def uses(self, predicate: str) -> bool:
        return predicate in self._used

    def typed(self, *classes: str) -> Iterator[object]:
        yield from self.sort(s for cls in classes for s in self.g.subjects(RDF.type, self._iri(cls)))

    def subjects(self, predicate: str, obj: object) -> list[object]:
        return list(self.g.subjects(self._iri(predicate), cast(Node, obj)))

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

    def text(self, node: object) -> str:
        return str(node)

    def is_iri(self, node: object) -> bool:
        return isinstance(node, URIRef)

    def position(self, node: object) -> int | None:
        return self.order.get(node)
