"""Plain JSON-LD read as JSON, one ``@graph`` element at a time, into a spill on disk, and the graph
queries answered from there.

Plain means what CASE documents (ours, and the CASE examples) are: an inline top ``@context`` that only
names prefixes and terms, and node objects using ``@id``, ``@type``, values, references, nested nodes
(blank ones too), ``@value``/``@type`` literals and ``@list`` (``docs/formats/case.md`` lists the rules).
For such a document the IRIs rdflib would make are known without rdflib, so each element is checked,
expanded and flattened as it comes: every node object becomes a row of the spill under its subject
(predicate IRI -> values, nested nodes replaced by references, blank ones named by a label counted in
document order), tagged with what ``Watch`` asks for (classes, reverse edges). An element given a member
at a time (``jsonparts.Node``: one too large to hold) is written in parts. The first construct outside
the subset raises ``Outside``.

Document order is where a node's ``@id`` first appears, and a reference often comes before the
description (an action names its record, then the record follows). A reference is a spill mention;
which of them is a node's first is remembered exactly for the keys named lately, and a Bloom filter of
the keys forgotten since tells "never named before" for sure, so that rows carry their node's position
and only the few others ask the spill. What must be known of the whole document (is it CASE at all, are
there facets, may an ``@list`` be read as rdflib would, is any node described twice) is gathered on the
way; nothing kept grows with the document.
"""

from __future__ import annotations

import math
import secrets
from collections import deque
from collections.abc import Iterator
from typing import Any

import orjson

from accord.intake.jsonld.context import RDF, Context, Outside
from accord.intake.jsonld.graph import Graph, Watch
from accord.intake.jsonld.literal import NORMALISED, lexical
from accord.intake.jsonparts import Items, Node
from accord.intake.spill import Spill

__all__ = ["Flattener", "PlainGraph"]

_RECENT = 1 << 15  # keys whose first mention is remembered exactly, per generation
_BITS = (1 << 26) - 1  # the Bloom filter's 8 MiB, made on the first key forgotten; two probes a key:
# at a million keys forgotten, one "maybe" in a thousand is false; at ten million, one in 15
_NODES = 1 << 12  # nodes looked up outside the window, kept (shared ones: the organisation, applications)
_AHEAD = _BEHIND = 1 << 10  # the window, in positions: a report of ours takes about 30
_ASK = -2  # a node's position is the spill's to tell
_NOTHING: dict[str, Any] = {}  # shared, never changed: what an undescribed node says
_NONE: list[Any] = []  # shared, never changed: no values
_AGAIN = "@again"  # tag of the rows of a node (maybe) described before: checked for lists at the end
_NIL = RDF + "nil"
_MIN_INT, _MAX_INT = -(1 << 63), 1 << 64  # orjson's integers; it reads others as floats
_UNKNOWN = -1
_NO_TAGS: list[str] = []  # shared: a mention's tags are never written
_MADE, _LISTED = 1, 2  # what a key's value made: a triple, an @list
_CHECKED = 1 << 12  # keys ``check_lists`` remembers having checked
_PART = 1 << 12  # values and nested nodes a streamed element's row is written in parts of


class _Seen:
    """Where keys were first named, and whether they were described there or since: exactly for the
    keys named lately (two generations of ``_RECENT``), and a Bloom filter of the keys forgotten since,
    so that a key found in neither was never named before. A value is ``position << 1 | described``."""

    def __init__(self) -> None:
        self._new: dict[str, int] = {}
        self._old: dict[str, int] = {}
        self._bloom: bytearray | None = None

    def get(self, key: str) -> int | None:
        """The key's value; None if it was never named; ``_UNKNOWN`` if it may have been."""
        found = self._new.get(key)
        if found is not None:
            return found
        found = self._old.get(key)
        if found is not None:
            self._new[key] = found  # used lately: kept through the next generation
            return found
        bloom = self._bloom
        if bloom is None:
            return None
        h = hash(key)
        one, two = h & _BITS, (h >> 32) & _BITS
        if bloom[one >> 3] & (1 << (one & 7)) and bloom[two >> 3] & (1 << (two & 7)):
            return _UNKNOWN
        return None

    def set(self, key: str, value: int) -> None:
        self._new[key] = value
        if len(self._new) >= _RECENT:
            if self._bloom is None:
                self._bloom = bytearray((_BITS + 1) >> 3)
            bloom, new = self._bloom, self._new
            for gone in self._old:
                if gone not in new:
                    h = hash(gone)
                    one, two = h & _BITS, (h >> 32) & _BITS
                    bloom[one >> 3] |= 1 << (one & 7)
                    bloom[two >> 3] |= 1 << (two & 7)
            self._old, self._new = new, {}


def _is_list(value: Any) -> bool:
    return value.__class__ is dict and "@list" in value


def _number(value: int | float) -> int | float:
    """A JSON number as orjson reads it (the spill writes with orjson, the rdflib path reads with it)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Outside  # 1e400: orjson refuses the document, and so will the rdflib path
        return value
    return value if _MIN_INT <= value < _MAX_INT else float(value)


# An element's nodes in pre-order: (subject, row or None for a reference, tags); None for a blank node
# that says nothing.
_Event = tuple[str, dict[str, Any] | None, list[str]] | None


class Flattener:
    """Checks, expands and writes the ``@graph`` elements into ``spill``, in document order."""

    def __init__(self, ctx: Context, spill: Spill, watch: Watch) -> None:
        self.ctx, self.spill, self.watch = ctx, spill, watch
        self.in_vocabulary = False
        self.used: set[str] = set()
        self.anonymous = "_:N" + secrets.token_hex(8)  # like rdflib's fresh labels, but in document order
        self._blanks = 0
        self._seen = _Seen()
        self.again = False  # some node is described in more than one place (``check_lists`` tells)
        self._continuing = -1  # the number of the element being written in parts

    def element(self, obj: Any, number: int) -> None:
        """Flatten the element numbered ``number`` into the spill."""
        if obj.__class__ is Node:
            try:
                self._streamed(obj, number)
            except RecursionError:
                raise Outside from None
            except orjson.JSONEncodeError:
                raise Outside from None
            return
        if obj.__class__ is not dict:
            raise Outside
        events: list[_Event] = []
        try:
            self._node(obj, events)
        except RecursionError:
            raise Outside from None
        try:
            self._write(events)
        except orjson.JSONEncodeError:
            raise Outside from None  # a lone surrogate: orjson refuses the document, and so will the rdflib path

    def _write(self, events: list[_Event]) -> None:
        spill, seen, anonymous = self.spill, self._seen, self.anonymous
        for event in events:
            if event is None:
                continue
            key, row, tags = event
            if row is None:  # a reference: a mention, unless the key was named before for sure
                found = seen.get(key)
                if found is None:
                    seen.set(key, spill.mention(key) << 1)
                elif found == _UNKNOWN:
                    spill.mention(key)
                continue
            if key.startswith(anonymous) or ("@part" in row and row["@part"] == self._continuing):
                spill.add(key, row, tags)  # a blank node without @id (no place in the order), a node's next part
                continue
            found = seen.get(key)
            if found is None:  # the node's first mention; "@first" left out says so
                seen.set(key, spill.add(key, row, tags) << 1 | 1)
                continue
            if found == _UNKNOWN:
                row["@first"] = None  # the spill will tell
                tags.append(_AGAIN)
            else:
                row["@first"] = found >> 1
                if not found & 1:
                    seen.set(key, found | 1)
                else:
                    tags.append(_AGAIN)
            spill.add(key, row, tags)

    def _blank(self) -> str:
        self._blanks += 1
        return f"{self.anonymous}{self._blanks - 1:010d}"

    def _subject(self, ref: Any) -> str:
        if ref.__class__ is not str:
            raise Outside
        return self.ctx.node(ref)

    def _node(self, obj: dict[str, Any], events: list[_Event]) -> str:
        """Check and flatten a node object (and the nodes in it) into ``events``; its subject."""
        ctx, watch = self.ctx, self.watch
        subject = self._subject(obj["@id"]) if "@id" in obj else self._blank()
        slot = len(events)
        events.append(None)  # its place in pre-order, before the nodes inside it
        row: dict[str, Any] = {}
        types: list[str] = []
        listed: list[str] = []
        predicates = ctx.predicates
        for key, value in obj.items():
            if key[:1] == "@":
                if key == "@id":
                    continue
                if key != "@type":
                    raise Outside  # @context, @reverse, @nest, @included, @graph, @value at node level...
                for t in value if value.__class__ is list else (value,):
                    cls = ctx.type(t)
                    types.append(cls)
                    if not self.in_vocabulary and cls.startswith(watch.vocabularies):
                        self.in_vocabulary = True
                continue
            predicate = predicates.get(key) or ctx.predicate(key)
            values = row.get(predicate)
            if values is None:
                values = []
            made = self._values(value, values, events)
            if not made:
                continue
            row[predicate] = values
            if made & _LISTED:
                listed.append(predicate)
            if not self.in_vocabulary and predicate.startswith(watch.vocabularies):
                self.in_vocabulary = True
            if predicate in watch.predicates:
                self.used.add(predicate)
        if not row and not types:
            if "@id" in obj:
                events[slot] = (subject, None, _NO_TAGS)  # a reference: a mention
            return subject
        events[slot] = (subject, row, self._tags(row, types, listed))
        return subject

    def _tags(self, row: dict[str, Any], types: list[str], listed: list[str]) -> list[str]:
        """Finish a node's row: its types in, its lists checked; its tags."""
        watch = self.watch
        for p in listed:
            if len(row[p]) > 1:
                raise Outside  # which of several values rdflib's Graph.value() takes is its store's business
        tags = [t for t in types if t in watch.classes] if types else []
        for predicate in watch.reverse:
            for v in row.get(predicate, ()):
                if v.__class__ is dict and "@id" in v and "@list" not in v:
                    tags.append(f"{predicate} {v['@id']}")
        if types:
            row["@type"] = types
        return tags

    def _streamed(self, node: Node, number: int) -> None:
        """An element given a member at a time (a large one): flattened as it comes, its row written in
        parts of some ``_PART`` values, marked with the element's number, so that neither the element
        nor its row is ever whole in memory. The node's place in the order is a mention before them."""
        ctx, watch = self.ctx, self.watch
        members = iter(node)
        subject = self._subject(next(members)[1])
        events: list[_Event] = [None]  # the node's own place, taken by its row or, in parts, a mention
        row: dict[str, Any] = {}
        types: list[str] = []
        listed: list[str] = []
        counts: dict[str, int] = {}  # predicate -> its values in all parts, for the @list rule across them
        all_listed: set[str] = set()
        parted = False

        first: int | None = None
        news = False  # the node may be described elsewhere too: check_lists looks

        def part() -> None:
            nonlocal events, row, types, listed, parted, first, news
            if not parted:  # the node's place: a mention before what is nested in it
                parted, self._continuing = True, number
                found = self._seen.get(subject)
                if found is None:
                    first = self.spill.mention(subject)
                elif found == _UNKNOWN:
                    self.spill.mention(subject)
                    news = True
                else:
                    first, news = found >> 1, bool(found & 1)
                if first is not None:
                    self._seen.set(subject, first << 1 | 1)
            row = {p: vs for p, vs in row.items() if vs}
            if row or types:
                tags = self._tags(row, types, listed)
                if news:
                    tags.append(_AGAIN)
                    news = False
                row["@part"], row["@first"] = number, first
                events.append((subject, row, tags))
            self._write(events)
            events, row, types, listed = [], {}, [], []

        for key, value in members:
            if key[:1] == "@":
                if key != "@type":
                    raise Outside  # a second @id, @context, @reverse...
                for t in value if isinstance(value, (Items, list)) else (value,):
                    cls = ctx.type(t)
                    types.append(cls)
                    if not self.in_vocabulary and cls.startswith(watch.vocabularies):
                        self.in_vocabulary = True
                continue
            predicate = ctx.predicate(key)
            made = 0
            for item in value if isinstance(value, Items) else (value,):
                values = row.get(predicate)
                if values is None:
                    values = row[predicate] = []
                had = len(values)
                got = self._values(item, values, events)
                made |= got
                counts[predicate] = counts.get(predicate, 0) + len(values) - had
                if got & _LISTED:
                    listed.append(predicate)
                    all_listed.add(predicate)
                if len(values) + len(events) > _PART:
                    part()
            if not made:
                continue
            if not self.in_vocabulary and predicate.startswith(watch.vocabularies):
                self.in_vocabulary = True
            if predicate in watch.predicates:
                self.used.add(predicate)
        row = {p: vs for p, vs in row.items() if vs}
        if parted:
            if any(counts[p] > 1 for p in all_listed):
                raise Outside  # an @list must be its property's only value
            part()
            self._continuing = -1
            return
        if row or types:
            events[0] = (subject, row, self._tags(row, types, listed))
        else:
            events[0] = (subject, None, _NO_TAGS)
        self._write(events)

    def _values(self, value: Any, out: list[Any], events: list[_Event]) -> int:
        """Check one key's value, flattening the nodes in it, and add what makes a triple to ``out``
        (arrays flattened, nulls left out): ``_MADE`` if any did, with ``_LISTED`` if one is a list."""
        kind = value.__class__
        if kind is str:
            out.append(value)
            return _MADE
        if kind is dict:
            if len(value) == 1 and "@id" in value:  # a reference, the commonest node object
                subject = self._subject(value["@id"])
                events.append((subject, None, _NO_TAGS))
                out.append({"@id": subject})
                return _MADE
            if "@value" in value:
                return self._literal(value, out)
            if "@list" in value:
                self._list(value, out, events)
                return _MADE | _LISTED
            out.append({"@id": self._node(value, events)})
            return _MADE
        if kind is list:
            made = 0
            for v in value:
                made |= self._values(v, out, events)
            return made
        if value is None:
            return 0
        out.append(_number(value))
        return _MADE

    def _literal(self, value: dict[str, Any], out: list[Any]) -> int:
        if not value.keys() <= {"@value", "@type"}:
            raise Outside  # @language, @direction, @index...
        raw = value["@value"]
        if raw is not None and not isinstance(raw, (str, int, float)):
            raise Outside
        datatype = self.ctx.datatype(value["@type"]) if "@type" in value else None
        if raw is None:
            return 0
        if not isinstance(raw, str):
            raw = _number(raw)
        if datatype is None:
            out.append({"@value": raw})
            return _MADE
        if not (raw.__class__ is str and datatype in NORMALISED):
            try:
                lexical(raw, datatype)  # rdflib makes the Literal while parsing: a failure refuses the file
            except Exception:
                raise Outside from None
        out.append({"@value": raw, "@type": datatype})
        return _MADE

    def _list(self, value: dict[str, Any], out: list[Any], events: list[_Event]) -> None:
        items = value["@list"]
        if value.keys() != {"@list"} or items is None:
            raise Outside
        items = items if isinstance(items, list) else [items]
        listed: list[Any] = []
        for item in items:
            inner = isinstance(item, dict) and ("@list" in item or item.get("@value", 0) is None)
            if inner or isinstance(item, list):
                raise Outside  # lists of lists; a null @value (rdflib makes a looping list of it)
            self._values(item, listed, events)
        entry: dict[str, Any] = {"@list": listed}
        if any(item is not None for item in items):
            entry["@id"] = self._blank()  # else rdf:nil
        out.append(entry)

    def check_lists(self) -> None:
        """An ``@list`` must be its property's only value, and a node described in several places may
        have more values of it elsewhere. Finds out whether any node is."""
        spill = self.spill
        checked: set[str] = set()  # lately: a key comes once for each row after its first
        for _, key, _ in spill.tagged(_AGAIN):
            if key in checked:
                continue
            if len(checked) >= _CHECKED:
                checked.clear()
            checked.add(key)
            found = spill.get(key)
            if len({row.get("@part", -at) for at, row in found}) < 2:
                continue  # the Bloom filter's false "maybe"
            self.again = True
            rows = [row for _, row in found]
            listed = {p for row in rows for p, vs in row.items() if p[0] != "@" and any(_is_list(v) for v in vs)}
            if any(sum(len(row.get(p, ())) for row in rows) > 1 for p in listed):
                raise Outside


class PlainGraph(Graph):
    """The queries, answered from the spill: nodes are IRIs (str), blank nodes (``_:label``) and
    literals (a (value, datatype) tuple). Values are converted only when a report asks for them.

    Reports come in document order, and a report's nodes lie near it in the file. So when each node
    is described once (the rule, and always so in our exports), the spill is read back in order into
    a window around the report being built (``_AHEAD`` positions on, ``_BEHIND`` back), one row at a
    time; a node outside it is looked up in the spill."""

    def __init__(self, spill: Spill, flattener: Flattener) -> None:
        self.spill = spill
        self.in_vocabulary = flattener.in_vocabulary
        self._used = frozenset(flattener.used)
        self._anonymous = flattener.anonymous
        # node -> [its rows merged (predicate -> values, "@type"), its position or _ASK]
        self._nodes: dict[object, list[Any]] = {}  # looked up
        self._window: dict[object, list[Any]] = {}  # read ahead
        self._read: deque[tuple[int, str]] = deque()  # the window's (position, key), in order
        self._scan = None if flattener.again else spill.scan()  # a window only if one row is all of a node
        self._scanned = 0

    def close(self) -> None:
        self.spill.close()

    def _slide(self, at: int) -> None:
        """Read ahead up to ``at + _AHEAD``, and forget what lies more than ``_BEHIND`` before ``at``."""
        window, read, scan = self._window, self._read, self._scan
        assert scan is not None
        end = at + _AHEAD
        while self._scanned < end:
            found = next(scan, None)
            if found is None:
                self._scanned = end = 1 << 62
                break
            position, key, row = found
            if "@part" in row:  # a node written in parts: looked up whole
                window.pop(key, None)
                continue
            window[key] = [row, self._first(key, row, position)]
            read.append((position, key))
            self._scanned = position
        start = at - _BEHIND
        while read and read[0][0] < start:
            window.pop(read.popleft()[1], None)

    def _node(self, node: object) -> list[Any]:
        found = self._window.get(node) or self._nodes.get(node)
        if found is not None:
            return found
        if len(self._nodes) >= _NODES:
            self._nodes.clear()  # cheaper than keeping an LRU order on every lookup
        rows = self.spill.get(node) if node.__class__ is str else []
        if len(rows) == 1:
            at, merged = rows[0]
        elif rows:
            at, merged = rows[0][0], {}
            for _, row in rows:  # values in document order, as rdflib's graph gives them
                for p, values in row.items():
                    if p[0] != "@" or p == "@type":
                        merged.setdefault(p, []).extend(values)
            if "@first" in rows[0][1]:
                merged["@first"] = rows[0][1]["@first"]
        else:
            at, merged = None, _NOTHING
        found = self._nodes[node] = [merged, self._first(node, merged, at)]
        return found

    def _first(self, node: object, row: dict[str, Any], at: int | None) -> int | None:
        """The node's position: its first row's own unless that says otherwise ("@first"); _ASK
        when only the spill knows."""
        if node.__class__ is not str or str(node).startswith(self._anonymous):
            return None  # no @id: no place in the order
        first: int | None = row.get("@first", at)
        return _ASK if first is None else first

    def _raw(self, subject: object, predicate: str) -> list[Any]:
        """The stored values of (subject, predicate), in document order."""
        found: list[Any] = (self._window.get(subject) or self._node(subject))[0].get(predicate, _NONE)
        return found

    def _object(self, value: Any) -> object:
        if value.__class__ is dict:
            if "@value" in value:
                return value["@value"], value.get("@type")
            return value.get("@id", _NIL)  # only an empty @list has no label
        return value, None

    def _text(self, value: Any) -> str:
        if value.__class__ is str:
            return str(value)
        if value.__class__ is dict and "@value" in value:
            return lexical(value["@value"], value.get("@type"))
        return self.text(self._object(value))

    def uses(self, predicate: str) -> bool:
        return predicate in self._used

    def typed(self, *classes: str) -> Iterator[object]:
        for first, key in self.spill.first_tagged(*classes):
            if self._scan is not None:
                self._slide(first)
            yield key

    def subjects(self, predicate: str, obj: object) -> list[object]:
        return list(dict.fromkeys(key for _, key, _ in self.spill.tagged(f"{predicate} {obj}")))

    def objects(self, subject: object, predicate: str) -> list[object]:
        return [self._object(v) for v in self._raw(subject, predicate)]

    def one(self, subject: object | None, predicate: str) -> str | None:
        values = self._raw(subject, predicate) if subject is not None else _NONE
        if len(values) == 1:
            return self._text(values[0])
        return min(map(self._text, values)) if values else None

    def texts(self, subject: object, predicate: str) -> list[str]:
        return [self._text(v) for v in self._raw(subject, predicate)]

    def types(self, node: object) -> set[str]:
        return set(self._raw(node, "@type"))

    def has(self, subject: object, predicate: str) -> bool:
        return bool(self._raw(subject, predicate))

    def first_list(self, subject: object, predicate: str) -> list[str] | None:
        values = self._raw(subject, predicate)
        if not values:
            return None
        head = values[0]
        if not (isinstance(head, dict) and "@list" in head):
            return []  # not a list: rdflib's Collection of it is empty
        return [self._text(v) for v in head["@list"]]

    def text(self, node: object) -> str:
        if isinstance(node, str):
            return node[2:] if node.startswith("_:") else node
        assert isinstance(node, tuple)  # a literal
        return lexical(*node)

    def is_iri(self, node: object) -> bool:
        return isinstance(node, str) and not node.startswith("_:")

    def position(self, node: object) -> int | None:
        found = self._window.get(node) or self._node(node)
        first: int | None = found[1]
        if first == _ASK:
            first = found[1] = self.spill.first(str(node))
        return first
