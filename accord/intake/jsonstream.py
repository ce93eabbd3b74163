"""One JSON document read as a stream: the elements of one top-level array one at a time, the other
top-level members whole.

Why: a STIX bundle or a JSON-LD graph is a single document that can be gigabytes. Parsed whole, it is
held three times over (the bytes, the parser's tree, the Python objects); read here, the largest thing
in memory is one element. ijson's C parser gives the events, this module builds each element from them
(ijson's own ``items`` takes one prefix, and the top-level members beside the array must be seen too:
a bundle may put ``"type": "bundle"`` after its objects).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson
from ijson.common import ObjectBuilder

from accord.errors import Invalid
from accord.intake.source import check_text_encoding

__all__ = ["Element", "Member", "read_document"]

_READ = 1 << 16
_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})


@dataclass(frozen=True)
class Member:
    """A top-level member other than the streamed array, with its value built whole."""

    key: str
    value: Any


@dataclass(frozen=True)
class Element:
    """One element of the streamed array; ``position`` counts from 1."""

    position: int
    value: Any


class _Peeked:
    """The stream with its first bytes kept, so the encoding check sees them before the parser does."""

    def __init__(self, stream: IO[bytes], head: bytes) -> None:
        self._stream, self._head = stream, head
        self.consumed = 0  # bytes handed to the parser so far

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            data = self._stream.read(size)
        else:
            cut = len(self._head) if size < 0 else size  # ijson reads 0 bytes first, to learn the type
            data, self._head = self._head[:cut], self._head[cut:]
        self.consumed += len(data)
        return data


def read_document(
    stream: IO[bytes], array_key: str, name: str, kind: str, max_element_bytes: int
) -> Iterator[Member | Element]:
    """The top-level members of the JSON object in ``stream`` in file order, the elements of
    ``array_key`` one by one. Raises ``Invalid`` naming ``name`` (and ``kind``, what it should be)
    for a document that is not a JSON object, not UTF-8, malformed or truncated, or with a member or
    element over ``max_element_bytes`` (counted in the parser's 64 KiB reads, so give or take one);
    after the elements before the fault were given out: callers that must not act on part of a
    document collect first."""
    head = stream.read(65536)
    check_text_encoding(head, name)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    source = _Peeked(stream, head)
    events = ijson.parse(source, use_float=True, buf_size=_READ)
    started = 0  # bytes consumed when the member or element being built began
    builder: Any = None
    depth = position = 0
    key: str | None = None
    streaming = False
    try:
        for prefix, event, value in events:
            if builder is not None:  # inside a member or element
                if source.consumed - started > max_element_bytes + _READ:
                    what = f"element {position + 1} of {array_key}" if streaming else f"member {key}"
                    raise Invalid.at("", f"{name}: {what} is larger than {max_element_bytes:,} bytes")
                builder.event(event, value)
                if event in _OPEN:
                    depth += 1
                elif event in _CLOSE:
                    depth -= 1
                if depth == 0:
                    if streaming:
                        position += 1
                        yield Element(position, builder.value)
                    else:
                        yield Member(str(key), builder.value)
                    builder = None
                continue
            if prefix == "":  # the top-level object itself
                if event == "map_key":
                    key = value
                elif event not in ("start_map", "end_map"):
                    raise Invalid.at("", f"{name}: not {kind} (the top of the document is not a JSON object)")
                continue
            if prefix == array_key and key == array_key and event in ("start_array", "end_array"):
                streaming = event == "start_array"  # the array's elements come between
                continue
            # the first event of a member's value, or of an element
            builder, started = ObjectBuilder(), source.consumed
            builder.event(event, value)
            depth = 1 if event in _OPEN else 0
            if depth == 0:  # a scalar member or element
                if streaming:
                    position += 1
                    yield Element(position, builder.value)
                else:
                    yield Member(str(key), builder.value)
                builder = None
    except ijson.IncompleteJSONError as exc:
        raise Invalid.at("", f"{name}: truncated or malformed JSON ({_reason(exc)})") from None
    except ijson.JSONError as exc:
        raise Invalid.at("", f"{name}: malformed JSON ({_reason(exc)})") from None
    except UnicodeDecodeError as exc:
        raise Invalid.at("", f"{name}: not UTF-8 text ({exc.reason}); convert it to UTF-8") from None


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]
