"""The plain JSON-LD subset's ``@context``, and the IRI expansions rdflib makes with it.

The fast reader reads a document as JSON only when it can expand every name exactly as rdflib's JSON-LD
parser would; ``Outside`` is how any part of it says that it cannot, and the document goes to rdflib.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

__all__ = ["RDF", "Context", "Outside", "absolute"]

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_GEN_DELIMS = (":", "/", "?", "#", "[", "]", "@")  # rdflib: a term whose IRI ends so is usable as a prefix
_RDF_KEYS = {RDF + "type", RDF + "first", RDF + "rest"}  # written as keys, rdflib treats them apart: leave them to it
_CACHED = 4096  # expansions remembered, per kind: a document's vocabulary is small, but a hostile one need not be


class Outside(Exception):
    """The document uses JSON-LD beyond the plain subset: rdflib reads it."""


def absolute(ref: str) -> bool:
    """What rdflib (with no base IRI) keeps as it is: anything else is a relative IRI."""
    try:
        return "://" in ref or bool(urlsplit(ref).scheme)
    except ValueError:
        return False


class Context:
    """The top ``@context`` when it only names terms (name -> absolute IRI, as in every CASE example),
    and the expansions rdflib makes with it."""

    def __init__(self, ctx: Any) -> None:
        if not isinstance(ctx, dict):
            raise Outside
        for name, iri in ctx.items():
            if not (
                isinstance(iri, str) and name not in ("", "_") and name[0] != "@" and ":" not in name and ":" in iri
            ):
                raise Outside
            scheme, _, rest = iri.partition(":")
            if iri[0] == "@" or scheme == "_" or (scheme in ctx and not rest.startswith("//")):
                raise Outside  # a keyword alias, a blank node, or a term defined by another term
        self.terms: dict[str, str] = ctx
        self.prefixes: dict[str, str] = {name: iri for name, iri in ctx.items() if iri.endswith(_GEN_DELIMS)}
        self.predicates: dict[str, str] = {}  # key -> predicate, as ``predicate`` expanded them
        self._types: dict[str, str] = {}
        self._datatypes: dict[str, str | None] = {}

    def node(self, ref: str) -> str:
        """An ``@id`` as rdflib resolves it: a compact IRI expanded, a blank node kept as ``_:label``."""
        prefix, colon, local = ref.partition(":")
        base = self.prefixes.get(prefix) if colon else None
        if base is not None and local[:2] != "//":  # the commonest: prefix:local
            iri = base + local
            if " " not in iri:
                return iri
        if ref.startswith("_:"):
            if len(ref) == 2:
                raise Outside
            return ref
        prefix, colon, local = ref.partition(":")
        if colon and prefix in self.prefixes and not local.startswith("//"):
            iri = self.prefixes[prefix] + local
        elif absolute(ref):
            iri = ref
        else:
            raise Outside  # relative: rdflib drops the node (there is no base)
        if " " in iri:
            raise Outside  # rdflib drops it too
        return iri

    def vocab(self, name: str) -> str | None:
        """A key, type or datatype as rdflib expands it: a term, a compact IRI or an absolute IRI;
        None for an undefined bare word (no ``@vocab`` in the subset)."""
        if name.startswith("@"):
            raise Outside
        if name in self.terms:
            return self.terms[name]
        prefix, colon, local = name.partition(":")
        if not colon:
            return None
        if not local.startswith("//"):
            if prefix == "_":
                raise Outside
            if prefix in self.prefixes:
                return self.prefixes[prefix] + local
        if absolute(name):
            return name
        raise Outside

    def predicate(self, key: str) -> str:
        iri = self.predicates.get(key)
        if iri is None:
            iri = self.vocab(key)
            if iri is None or iri in _RDF_KEYS:
                raise Outside  # rdflib drops an undefined key; rdf:type, first and rest as keys are special
            _remember(self.predicates, key, iri)
        return iri

    def type(self, name: Any) -> str:
        iri = self._types.get(name) if isinstance(name, str) else None
        if iri is None:
            if not isinstance(name, str):
                raise Outside
            expanded = self.vocab(name)
            if expanded is None:
                raise Outside
            iri = self.node(expanded)  # rdflib resolves the expanded type as an @id again
            if iri.startswith("_:"):
                raise Outside
            _remember(self._types, name, iri)
        return iri

    def datatype(self, name: Any) -> str | None:
        if not isinstance(name, str):
            raise Outside
        if name in self._datatypes:
            return self._datatypes[name]
        iri = self.vocab(name) if name else None
        if iri is not None and iri.startswith("_:"):
            raise Outside
        _remember(self._datatypes, name, iri)
        return iri


def _remember(cache: dict[str, Any], name: str, iri: Any) -> None:
    if len(cache) >= _CACHED:
        cache.clear()
    cache[name] = iri
