"""A JSON-LD document read from a stream into a graph: the plain reader while the document stays in
the plain subset, rdflib's parser for the rest.

The plain reader streams: the ``@graph`` is read element by element (``accord.intake.jsonparts``) and
flattened into a spill on disk as it comes, so memory stays flat whatever the document's size. The top
``@context`` must be known to read an element; one that comes after the ``@graph`` finds its elements
waiting in a second spill, as they were. A construct outside the subset may only show up late, after
part of the document has been spilled: then rdflib reads the document from a copy of its bytes, kept in
the spill's directory while reading, as long as the document stays within ``max_document_bytes`` (rdflib
holds everything in memory; beyond that size such a document is refused as too large). Either way the
whole document has been read, and any fault in it found, before the graph is given out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from accord.errors import Invalid, PayloadTooLarge
from accord.intake.formats import ImportOptions
from accord.intake.jsonld.context import Context, Outside
from accord.intake.jsonld.graph import Graph, Watch
from accord.intake.jsonld.plain import Flattener, PlainGraph
from accord.intake.jsonld.rdflib_reader import parse
from accord.intake.jsonparts import Node, read_parts
from accord.intake.jsonstream import Element, Member
from accord.intake.spill import Spill

__all__ = ["read_graph"]

_BOM = b"\xef\xbb\xbf"
_SPILL_CACHE = 1 << 12  # objects the spill keeps the bytes of, for lookups outside the read-ahead window


class _Copy:
    """The stream, with the bytes read kept in a file for as long as they stay within ``limit``."""

    def __init__(self, stream: IO[bytes], path: Path, limit: int) -> None:
        self._stream, self.path, self._limit = stream, path, limit
        self._file: IO[bytes] | None = path.open("wb")
        self._size = 0

    @property
    def kept(self) -> bool:
        return self._file is not None

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if self._file is not None:
            self._size += len(data)
            if self._size > self._limit:
                self.drop()
            else:
                self._file.write(data)
        return data

    def drop(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self.path.unlink()

    def contents(self) -> bytes:
        """The whole document (read to its end)."""
        assert self._file is not None
        self._file.close()
        self._file = None
        return self.path.read_bytes()


def read_graph(stream: IO[bytes], options: ImportOptions, watch: Watch, plain: bool = True) -> Graph:
    """The document's graph, or ``Invalid`` naming the file when it is not a JSON-LD document.
    ``plain=False`` always takes rdflib (the tests hold the two readers to each other)."""
    name, limit = options.name, options.max_document_bytes
    spill = Spill(options.scratch_dir, cache=_SPILL_CACHE)
    copy = _Copy(stream, spill.directory / "document.json", limit)
    try:
        parts: Iterator[Member | Element] = read_parts(copy, "@graph", name, "a JSON-LD document", limit)  # type: ignore[arg-type]
        flattener, context = _read(parts, spill, options, watch) if plain else (None, False)
        if flattener is not None:
            copy.drop()
            return PlainGraph(spill, flattener)
        for part in parts:  # the rest, for the copy and the parser's checks
            context = context or (isinstance(part, Member) and part.key == "@context")
            if not copy.kept:
                raise PayloadTooLarge.at("", f"{name}: document larger than {limit:,} bytes")
        if not context:
            raise _not_json_ld(name)
        if not copy.kept:
            raise PayloadTooLarge.at("", f"{name}: document larger than {limit:,} bytes")
        doc = _whole(copy.contents(), name)
        spill.close()
        return parse(doc, name, watch)
    except BaseException:
        copy.drop()
        spill.close()
        raise


def _read(
    parts: Iterator[Member | Element], spill: Spill, options: ImportOptions, watch: Watch
) -> tuple[Flattener | None, bool]:
    """Read the document into ``spill``: the flattener that did, or None at the first construct outside
    the plain subset (the rest of ``parts`` left unread); and whether the @context was seen."""
    flattener: Flattener | None = None
    context = False
    waiting: Spill | None = None  # elements that came before the @context, as they were
    try:
        for part in parts:
            if isinstance(part, Element):
                if flattener is not None:
                    flattener.element(part.value, part.position)
                    continue
                if waiting is None:
                    waiting = Spill(options.scratch_dir, cache=1)
                value = part.value.whole() if isinstance(part.value, Node) else part.value  # held whole: rare
                waiting.add(str(part.position), value)
            elif part.key != "@context" or context:
                raise Outside  # a member other than @context and @graph (an @graph that is not an array)
            else:
                context = True
                flattener = Flattener(Context(part.value), spill, watch)
                if waiting is not None:
                    for _, key, value in waiting.scan():
                        flattener.element(value, int(key))
        if flattener is None:
            raise Invalid.at(
                "", f'{options.name}: not a JSON-LD document (no "@context" at the top); is it another format?'
            )
        flattener.check_lists()
        return flattener, context
    except Outside:
        return None, context
    finally:
        if waiting is not None:
            waiting.close()


def _not_json_ld(name: str) -> Invalid:
    return Invalid.at("", f'{name}: not a JSON-LD document (no "@context" at the top); is it another format?')


def _whole(data: bytes, name: str) -> Any:
    """The copied document parsed whole, for rdflib."""
    start = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return orjson.loads(memoryview(data)[start:])
    except orjson.JSONDecodeError as exc:
        raise Invalid.at("", f"{name}: malformed JSON: {exc}") from None
