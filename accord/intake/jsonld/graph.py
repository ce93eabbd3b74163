"""What a report builder may ask of a JSON-LD graph, whichever reader made it.

A reader gives the primitives (its nodes are its own: rdflib terms, or strings and tuples); the
queries built on them are here, so that reports come out of both readers through the same code.
Every multi-valued answer is in document order: the order in which the nodes' ``@id``s first appear
in the file, a reference counting as much as a description.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType

__all__ = ["Graph", "Watch"]

_LAST = 1 << 62  # the position of nodes without an @id: after all others


@dataclass(frozen=True)
class Watch:
    """What the caller will ask that a streaming reader must learn while it reads, since it keeps no
    index it could look it up in afterwards."""

    vocabularies: tuple[str, ...] = ()  # IRI prefixes: ``in_vocabulary`` says whether a predicate or type has one
    classes: frozenset[str] = field(default_factory=frozenset)  # ``typed`` answers for these
    predicates: frozenset[str] = field(default_factory=frozenset)  # ``uses`` answers for these
    reverse: frozenset[str] = field(default_factory=frozenset)  # ``subjects`` answers for these


class Graph:
    """A document's graph. Close it (or use it as a context manager) to free what it keeps on disk."""

    in_vocabulary: bool  # some predicate or type IRI starts with one of ``Watch.vocabularies``

    def __enter__(self) -> Graph:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Free what the graph holds; nothing to do for a graph held in memory."""

    # primitives

    def uses(self, predicate: str) -> bool:
        """Whether some triple has ``predicate`` (one of ``Watch.predicates``)."""
        raise NotImplementedError

    def typed(self, *classes: str) -> Iterator[object]:
        """The nodes of any of ``classes``, each once, in document order."""
        raise NotImplementedError

    def subjects(self, predicate: str, obj: object) -> list[object]:
        """The nodes with ``obj`` as an object of ``predicate`` (one of ``Watch.reverse``)."""
        raise NotImplementedError

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

    def text(self, node: object) -> str:
        raise NotImplementedError

    def is_iri(self, node: object) -> bool:
        raise NotImplementedError

    def position(self, node: object) -> int | None:
        """Where the node's @id first appears (comparable, not a count); None for a node without one."""
        raise NotImplementedError

    # queries

    def key(self, node: object) -> tuple[int, str]:
        """Document order; nodes without an @id (blank, literal) after all others, by their text."""
        at = self.position(node)
        return (at, "") if at is not None else (_LAST, self.text(node))

    def sort(self, nodes: Iterable[object]) -> list[object]:
        """``nodes`` in document order, each once. Their positions are looked up in the order given
        (mostly document order already): a graph on disk reads ahead from the first."""
        unique = list(dict.fromkeys(nodes))
        return sorted(unique, key=self.key) if len(unique) > 1 else unique

    def all(self, subject: object, predicate: str) -> list[object]:
        return self.sort(self.objects(subject, predicate))

    def one(self, subject: object | None, predicate: str) -> str | None:
        if subject is None:
            return None
        values = self.texts(subject, predicate)
        return min(values) if values else None

    def is_a(self, node: object, cls: str) -> bool:
        return cls in self.types(node)
