"""One JSON document read as parts: its top-level members, and the elements of its big array one at a
time, in bounded memory however large the document, and however large one element.

Why not ``jsonstream`` alone: it builds each element whole from ijson's events in Python, three times
as slow as orjson parsing the same bytes, and an element that grows with the file (a CASE bundle that
lists every report) is held whole. So two readers, giving the same parts:

- exports (ours among them) write each element of the big array starting a line with ``{``, and a raw
  newline cannot occur inside a JSON string, so the document can be cut at each ``\\n{`` and the pieces
  parsed by orjson. A cut may fall inside an element (a nested object at a line start): then pieces are
  joined until they parse. Every byte is parsed once in the end: the head as the object up to the open
  array, each run of pieces as elements separated by commas, the tail as the array's end and the members
  after it;
- anything else (another layout, a run or a tail too large to parse whole, a malformed or truncated
  document) is read from ijson's events, from where the cuts stopped. There an element that is an object
  starting with ``"@id"`` comes as a ``Node``: its members one at a time, an array member's items one at
  a time. Faults are worded as ``jsonstream`` words them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import ijson
import orjson
from ijson.common import ObjectBuilder

from accord.errors import Invalid
from accord.intake.jsonstream import Element, Member
from accord.intake.source import check_text_encoding

__all__ = ["Items", "Node", "read_parts"]

_CHUNK = 1 << 20  # bytes read at a time; also the largest run or tail parsed whole
_READ = 1 << 16  # bytes ijson reads at a time, and the head whose encoding is checked
_BOM = b"\xef\xbb\xbf"
_SPACE = b" \t\r\n"
_COMMA = ord(",")
_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})


class Items:
    """An array's items, one at a time; read them before the next member."""

    def __init__(self, items: Iterator[Any]) -> None:
        self._items = items
        self.done = False

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:  # noqa: UP028  # not "yield from": a reader that stops must not close them
            yield item
        self.done = True

    def finish(self) -> None:
        if not self.done:
            for _ in self:
                pass


class Node:
    """An element that is a JSON object starting with ``"@id"``, given a member at a time: (key, value),
    where an array value is ``Items``. Read it to its end before asking for the next part."""

    def __init__(self, members: Iterator[tuple[str, Any]]) -> None:
        self._members = members
        self.done = False

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for member in self._members:  # noqa: UP028  # not "yield from": a reader that stops must not close them
            yield member
        self.done = True

    def finish(self) -> None:
        if not self.done:
            for _, value in self:
                if isinstance(value, Items):
                    value.finish()

    def whole(self) -> dict[str, Any]:
        """The object built whole after all (what orjson would have made of it)."""
        return {key: list(value) if isinstance(value, Items) else value for key, value in self}


class _Source:
    """``head`` pieces, then the rest of ``stream``; counts the bytes handed out."""

    def __init__(self, head: list[bytes], stream: IO[bytes] | None) -> None:
        self._head, self._stream = head, stream
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        data = b""
        while self._head and not data:
            part = self._head[0]
            cut = len(part) if size < 0 else size
            data = part[:cut]
            if part[cut:]:
                self._head[0] = part[cut:]
            else:
                self._head.pop(0)
        if not data and self._stream is not None:
            data = self._stream.read(size)
        self.consumed += len(data)
        return data


def read_parts(
    stream: IO[bytes], array_key: str, name: str, kind: str, max_element_bytes: int
) -> Iterator[Member | Element]:
    """The top-level members of the JSON object in ``stream`` in file order, and the elements of
    ``array_key`` one by one (an ``Element``'s value may be a ``Node``). Raises ``Invalid`` naming
    ``name`` (and ``kind``, what it should be) as ``jsonstream.read_document`` does: for a document
    that is not a JSON object, not UTF-8, malformed or truncated, or with a member or element over
    ``max_element_bytes``, after the parts before the fault were given out."""
    data = stream.read(_READ)
    check_text_encoding(data, name)
    buf = bytearray(data[len(_BOM) :] if data.startswith(_BOM) else data)
    start = len(buf) - len(buf.lstrip(_SPACE)) + 1  # past the top object's own brace
    at = buf.find(b"\n{", start)
    while at < 0 and len(buf) < _CHUNK and (more := stream.read(_CHUNK)):
        buf += more
        at = buf.find(b"\n{", start)
    top = _head(bytes(buf[: at + 1]), array_key) if at >= 0 else None
    if top is None:
        yield from _Events(_Source([bytes(buf)], stream), array_key, name, kind, max_element_bytes, 0).parts()
        return
    for key, value in top.items():
        if key != array_key:
            yield Member(key, value)
    opening = b"{" + orjson.dumps(array_key) + b": ["
    hold = min(_CHUNK, max_element_bytes)  # the largest run parsed whole: the events check the limit
    count = 0  # elements given out
    begin = at + 1  # where the element being read starts in buf
    scan = begin + 1  # where to look for the next cut
    tried = 0  # the size of the run that last failed to parse: try again once it has doubled
    ended = False
    while True:
        cut = buf.find(b"\n{", scan)
        if cut < 0:
            if len(buf) - begin > hold:
                break  # too large to hold: read on from the events
            more = stream.read(_CHUNK)
            if not more:
                ended = True
                break
            del buf[:begin]
            scan, begin = max(len(buf) - 1, 1), 0
            buf += more
            continue
        scan = cut + 2
        end = cut
        while buf[end - 1] in _SPACE:
            end -= 1
        if cut - begin > hold:
            break
        if buf[end - 1] != _COMMA or cut - begin < 2 * tried:
            continue  # not between elements, or not worth another try yet
        run = b"[" + buf[begin : end - 1] + b"]"
        try:
            elements = orjson.loads(run)
        except orjson.JSONDecodeError as exc:
            if exc.pos < len(run) - 2 or cut - begin > hold:
                break  # a fault before the end of the run (no later cut mends it), or too large to hold
            tried = cut - begin
            continue
        for value in elements:
            count += 1
            yield Element(count, value)
        begin, tried = cut + 1, 0
    tail = bytes(buf[begin:])
    del buf
    try:
        found = orjson.loads(opening + tail) if ended else None
    except orjson.JSONDecodeError:
        found = None
    if not isinstance(found, dict) or next(iter(found), None) != array_key or not isinstance(found[array_key], list):
        source = _Source([opening, tail], stream)
        yield from _Events(source, array_key, name, kind, max_element_bytes, count).parts()
        return
    for key, value in found.items():
        if key != array_key:
            yield Member(key, value)
            continue
        for element in value:
            count += 1
            yield Element(count, element)


def _head(data: bytes, array_key: str) -> dict[str, Any] | None:
    """The members before the array, when ``data`` is the document up to the array's opening."""
    try:
        top = orjson.loads(data + b"]}")
    except orjson.JSONDecodeError:
        return None
    if isinstance(top, dict) and list(top)[-1:] == [array_key] and top[array_key] == []:
        return top
    return None


class _Events:
    """The parts from ijson's events, elements numbered on from ``count``."""

    def __init__(
        self, source: _Source, array_key: str, name: str, kind: str, max_element_bytes: int, count: int
    ) -> None:
        self.source, self.array_key, self.name, self.kind = source, array_key, name, kind
        self.limit, self.count = max_element_bytes, count
        self.events = ijson.parse(source, use_float=True, buf_size=_READ)
        self.started: int | None = None  # bytes consumed when the part being read began
        self.what = ""  # the part being read, for a fault

    def next(self) -> tuple[str, str, Any]:
        try:
            found: tuple[str, str, Any] = next(self.events)
        except StopIteration:
            raise Invalid.at("", f"{self.name}: truncated or malformed JSON (the document ends early)") from None
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise self._fault(exc) from None
        if self.started is not None and self.source.consumed - self.started > self.limit + _READ:
            raise Invalid.at("", f"{self.name}: {self.what} is larger than {self.limit:,} bytes")
        return found

    def _fault(self, exc: Exception) -> Invalid:
        """ijson's fault, worded as jsonstream words it."""
        if isinstance(exc, UnicodeDecodeError):
            return Invalid.at("", f"{self.name}: not UTF-8 text ({exc.reason}); convert it to UTF-8")
        if isinstance(exc, ijson.IncompleteJSONError):
            return Invalid.at("", f"{self.name}: truncated or malformed JSON ({_reason(exc)})")
        return Invalid.at("", f"{self.name}: malformed JSON ({_reason(exc)})")

    def build(self, event: str, value: Any) -> Any:
        """The value whose first event this is, built whole."""
        builder = ObjectBuilder()
        builder.event(event, value)
        depth = 1 if event in _OPEN else 0
        while depth:
            _, event, value = self.next()
            builder.event(event, value)
            if event in _OPEN:
                depth += 1
            elif event in _CLOSE:
                depth -= 1
        return builder.value

    def parts(self) -> Iterator[Member | Element]:
        key: str | None = None
        streaming = False
        while True:
            prefix, event, value = self.next()
            if prefix == "":  # the top-level object itself
                if event == "map_key":
                    key = value
                elif event == "end_map":
                    self._end()
                    return
                elif event != "start_map":
                    raise Invalid.at("", f"{self.name}: not {self.kind} (the top of the document is not a JSON object)")
                continue
            if prefix == self.array_key and key == self.array_key and event in ("start_array", "end_array"):
                streaming = event == "start_array"
                continue
            self.started = self.source.consumed
            if not streaming:
                self.what = f"member {key}"
                yield Member(str(key), self.build(event, value))
            else:
                self.count += 1
                self.what = f"element {self.count} of {self.array_key}"
                if event == "start_map":
                    _, first, name = self.next()
                    if first == "map_key" and name == "@id":
                        node = Node(self.members())
                        yield Element(self.count, node)
                        node.finish()
                        self.started = None
                        continue
                    builder = ObjectBuilder()
                    builder.event("start_map", None)
                    if first == "end_map":
                        builder.event(first, name)
                        element = builder.value
                    else:
                        builder.event(first, name)
                        element = self._rest_of_map(builder)
                    yield Element(self.count, element)
                else:
                    yield Element(self.count, self.build(event, value))
            self.started = None

    def _rest_of_map(self, builder: Any) -> Any:
        depth = 1
        while depth:
            _, event, value = self.next()
            builder.event(event, value)
            if event in _OPEN:
                depth += 1
            elif event in _CLOSE:
                depth -= 1
        return builder.value

    def _end(self) -> None:
        """After the top object: only whitespace may follow."""
        try:
            next(self.events)
        except StopIteration:
            return
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise self._fault(exc) from None
        raise Invalid.at("", f"{self.name}: malformed JSON (more after the top object)")

    def members(self) -> Iterator[tuple[str, Any]]:
        key = "@id"
        while True:
            _, event, value = self.next()
            if event == "start_array":
                items = Items(self.items())
                yield key, items
                items.finish()
            else:
                yield key, self.build(event, value)
            _, event, value = self.next()
            if event == "end_map":
                return
            key = value

    def items(self) -> Iterator[Any]:
        while True:
            _, event, value = self.next()
            if event == "end_array":
                return
            yield self.build(event, value)


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]
