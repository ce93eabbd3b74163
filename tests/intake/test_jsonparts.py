"""jsonparts: for every layout, the same parts as jsonstream gives (members, elements in order), the
same documents refused, and a large element given a member, and an item, at a time."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.errors import Invalid
from accord.intake import jsonparts
from accord.intake.jsonparts import Items, Node, read_parts
from accord.intake.jsonstream import Element, Member, read_document

Reader = Callable[..., Iterator[Member | Element]]
LIMIT = 1 << 20

scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
values = st.recursive(
    scalars | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
node = st.builds(
    lambda ref, rest: {"@id": ref, **{k: v for k, v in rest.items() if k != "@id"}},
    st.text(max_size=8),
    st.dictionaries(st.text(max_size=6), values, max_size=4),
)
documents = st.builds(
    lambda head, graph, tail: {**head, "@graph": graph, **tail},
    st.dictionaries(st.sampled_from(["@context", "a", "b"]), values, max_size=2),
    st.lists(node | values, max_size=6),
    st.dictionaries(st.sampled_from(["c", "d"]), values, max_size=2),
)


def ours(doc: dict[str, Any]) -> bytes:
    """Laid out as our exports are: each element starting a line, what is inside it indented."""
    keys = list(doc)
    at = keys.index("@graph")
    before = b"".join(orjson.dumps(k) + b": " + orjson.dumps(doc[k]) + b",\n" for k in keys[:at])
    after = b"".join(b",\n" + orjson.dumps(k) + b": " + orjson.dumps(doc[k]) for k in keys[at + 1 :])
    graph = b",\n".join(orjson.dumps(e, option=orjson.OPT_INDENT_2) for e in doc["@graph"])
    return b"{\n" + before + b'"@graph": [\n' + graph + b"\n]" + after + b"\n}\n"


LAYOUTS = {
    "ours": ours,
    "compact": orjson.dumps,
    "indented": lambda doc: json.dumps(doc, indent=2).encode(),
    "every-object-at-a-line-start": lambda doc: json.dumps(doc, indent=0).encode(),
}


def parts(reader: Reader, data: bytes, limit: int = LIMIT) -> list[tuple[str, Any, Any]]:
    out: list[tuple[str, Any, Any]] = []
    for part in reader(io.BytesIO(data), "@graph", "f.json", "a document", limit):
        if isinstance(part, Element):
            out.append(("element", part.position, part.value.whole() if isinstance(part.value, Node) else part.value))
        else:
            out.append(("member", part.key, part.value))
    return out


def outcome(reader: Reader, data: bytes, limit: int = LIMIT) -> Any:
    try:
        return parts(reader, data, limit)
    except Invalid:
        return "refused"


@pytest.fixture(params=[jsonparts._CHUNK, 64], ids=["whole-runs", "tiny-runs"])
def chunk(request: pytest.FixtureRequest) -> Iterator[int]:
    """With tiny runs, the reader leaves the cuts for the events early, mid-document. (Set for the
    whole test: every example drawn reads with it.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonparts, "_CHUNK", request.param)
        yield request.param


@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents)
def test_the_parts_are_jsonstreams(chunk: int, layout: str, doc: dict[str, Any]) -> None:
    data = LAYOUTS[layout](doc)
    assert parts(read_parts, data) == parts(read_document, data)


@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents, cut=st.floats(0, 1))
def test_a_truncated_document_is_refused_as_jsonstream_refuses_it(
    chunk: int, layout: str, doc: dict[str, Any], cut: float
) -> None:
    data = LAYOUTS[layout](doc)
    data = data[: int(len(data) * cut)]
    assert outcome(read_parts, data) == outcome(read_document, data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"@context": {},\n"@graph": [\n{"a": 1}\n{"b": 2}\n]\n}',  # no comma between elements
        b'{"@context": {},\n"@graph": [\n{"a": 1},\n{"b": 2},\n]\n}',  # a trailing comma
        b'{"@context": {},\n"@graph": [\n{"a": 1},\n{"b": 2}\n]\n} x',  # something after the document
        b'{"@context": {},\n"@graph": [\n{"a": "\xff"},\n{"b": 2}\n]\n}',  # not UTF-8
        b'[\n{"a": 1}\n]',  # not an object
        b"",
    ],
    ids=["no-comma", "trailing-comma", "garbage-after", "not-utf-8", "array", "empty"],
)
def test_what_jsonstream_refuses_is_refused(data: bytes) -> None:
    assert outcome(read_parts, data) == outcome(read_document, data) == "refused"


def test_an_element_over_the_limit_is_refused_but_not_a_document_of_small_ones() -> None:
    big = {"@id": "x", "text": "y" * (200 << 10)}
    for layout in LAYOUTS.values():
        with pytest.raises(Invalid, match=r"f\.json: element 2 of @graph is larger than 1,000 bytes"):
            parts(read_parts, layout({"@context": {}, "@graph": [{"a": 1}, big]}), limit=1000)
        many = layout({"@context": {}, "@graph": [{"@id": str(i), "a": "b" * 100} for i in range(5000)]})
        assert len(parts(read_parts, many, limit=1000)) == 5001


def test_a_large_element_comes_a_member_and_an_item_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read from the events (here: past a run too large to parse whole), an element that starts with
    @id is a Node; an array member's items come one by one, and what the reader skips is read past."""
    monkeypatch.setattr(jsonparts, "_CHUNK", 64)
    doc = {"@context": {}, "@graph": [{"@id": "big", "n": 1, "all": list(range(1000)), "end": True}, {"a": 1}]}
    found = read_parts(io.BytesIO(ours(doc)), "@graph", "f.json", "a document", LIMIT)
    assert next(found) == Member("@context", {})
    element = next(found)
    assert isinstance(element, Element) and isinstance(element.value, Node)
    members = iter(element.value)
    assert next(members) == ("@id", "big")
    assert next(members) == ("n", 1)
    key, items = next(members)
    assert key == "all" and isinstance(items, Items)
    assert [next(iter(items)) for _ in range(3)] == [0, 1, 2]
    assert list(found) == [Element(2, {"a": 1})]  # the rest of the node read past
