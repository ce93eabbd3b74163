"""Custody entries (``accord/custody/entry.py``): one canonical leaf per entry, nothing else accepted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.custody.entry import MAX_DETAIL_ITEMS, MAX_DETAIL_TEXT, CustodyAction, CustodyEntry, parse_leaf
from accord.custody.merkle import leaf_hash
from accord.ids import ActorId, OrgId

DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
AT = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)


def entry(**changes: Any) -> CustodyEntry:
    fields: dict[str, Any] = {
        "action": CustodyAction.RECEIVED,
        "actor_id": ActorId("act_01JQ0000000000000000000000"),
        "org_id": OrgId("org_01JQ0000000000000000000000"),
        "at": AT,
        "object_type": "media",
        "object_id": "med_01JQ0000000000000000000000",
        "digest": DIGEST,
        "detail": {"bytes": 1234, "via": "api"},
    }
    fields.update(changes)
    return CustodyEntry(**fields)


EXPECTED = (
    b'{"action":"received","actor_id":"act_01JQ0000000000000000000000","at":"2026-03-14T15:09:26.535897Z",'
    b'"detail":{"bytes":1234,"via":"api"},"digest":"' + DIGEST.encode() + b'",'
    b'"object_id":"med_01JQ0000000000000000000000","object_type":"media","org_id":"org_01JQ0000000000000000000000"}'
)


def test_leaf_bytes_are_canonical_json() -> None:
    e = entry()
    assert e.leaf_bytes() == EXPECTED
    assert e.leaf_bytes() == rfc8785.dumps(json.loads(EXPECTED))
    assert e.leaf_bytes() == json.dumps(e.to_json(), sort_keys=True, separators=(",", ":")).encode()
    assert parse_leaf(EXPECTED) == e


def test_times_are_utc_with_microseconds_and_z() -> None:
    plus_two = timezone(timedelta(hours=2))
    e = entry(at=datetime(2026, 3, 14, 17, 9, 26, tzinfo=plus_two))
    assert e.at == datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
    assert e.to_json()["at"] == "2026-03-14T15:09:26.000000Z"
    assert entry(at=datetime(999, 1, 2, tzinfo=UTC)).to_json()["at"] == "0999-01-02T00:00:00.000000Z"


def test_detail_is_optional_and_read_only() -> None:
    e = entry(detail={})
    assert b'"detail":{}' in e.leaf_bytes()
    assert (
        CustodyEntry(
            action=CustodyAction.VIEWED,
            actor_id=ActorId("a"),
            org_id=OrgId("o"),
            at=AT,
            object_type="report",
            object_id="r",
            digest=DIGEST,
        ).detail
        == {}
    )
    with pytest.raises(TypeError):
        entry().detail["x"] = 1  # type: ignore[index]


def test_equal_entries_hash_alike() -> None:
    assert entry() == entry(action="received", detail={"via": "api", "bytes": 1234})
    assert hash(entry()) == hash(entry(detail={"via": "api", "bytes": 1234}))
    assert len({entry(), entry(), entry(action="viewed")}) == 2


def test_the_leaf_hash_is_over_the_canonical_bytes() -> None:
    assert leaf_hash(entry().leaf_bytes()) == leaf_hash(EXPECTED)


printable = st.characters(min_codepoint=0x21, exclude_categories=("Cs", "Cc", "Cf", "Co", "Cn", "Zs", "Zl", "Zp"))
ids = st.text(alphabet=printable, min_size=1, max_size=40)
detail_values = st.one_of(st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1), st.text(max_size=MAX_DETAIL_TEXT))
entries = st.builds(
    CustodyEntry,
    action=st.sampled_from(CustodyAction),
    actor_id=ids,
    org_id=ids,
    at=st.datetimes(timezones=st.just(UTC)),
    object_type=st.from_regex(r"\A[a-z][a-z0-9_.-]{0,20}\Z"),
    object_id=ids,
    digest=st.binary(min_size=32, max_size=32).map(bytes.hex),
    detail=st.dictionaries(st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z"), detail_values, max_size=MAX_DETAIL_ITEMS),
)


@settings(max_examples=150, deadline=None)
@given(entries)
def test_round_trip(e: CustodyEntry) -> None:
    data = e.leaf_bytes()
    assert data == rfc8785.dumps(json.loads(data))
    again = parse_leaf(data)
    assert again == e and again.leaf_bytes() == data


any_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=MAX_DETAIL_TEXT)
wide_entries = entries.flatmap(
    lambda e: st.dictionaries(
        st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z"),
        st.one_of(st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1), any_text),
        max_size=MAX_DETAIL_ITEMS,
    ).map(lambda d: CustodyEntry(e.action, e.actor_id, e.org_id, e.at, e.object_type, e.object_id, e.digest, d))
)


@settings(max_examples=500, deadline=None)
@given(wide_entries)
def test_fast_encoding_is_byte_identical_to_rfc8785(e: CustodyEntry) -> None:
    """``leaf_bytes`` uses orjson for speed; for every value an entry admits (control characters, any
    plane, quotes and backslashes in detail text; integers to ±2**53) it must equal the reference."""
    assert e.leaf_bytes() == rfc8785.dumps(e.to_json())


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        entry(detail={"note": "a\ud800b"})


@settings(max_examples=100, deadline=None)
@given(entries, st.sampled_from(["indent", "spaces", "reversed", "ascii", "newline", "bom"]))
def test_other_spellings_of_the_same_entry_are_rejected(e: CustodyEntry, how: str) -> None:
    doc = e.to_json()
    if how == "indent":
        other = json.dumps(doc, sort_keys=True, indent=1).encode()
    elif how == "spaces":
        other = json.dumps(doc, sort_keys=True).encode()
    elif how == "reversed":
        other = json.dumps(dict(reversed(doc.items())), separators=(",", ":"), ensure_ascii=False).encode()
    elif how == "ascii":
        other = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    elif how == "newline":
        other = e.leaf_bytes() + b"\n"
    else:
        other = b"\xef\xbb\xbf" + e.leaf_bytes()
    if other != e.leaf_bytes():
        with pytest.raises(ValueError):
            parse_leaf(other)


def mutate(**changes: Any) -> bytes:
    doc = entry().to_json() | changes
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (EXPECTED.replace(b'"bytes":1234', b'"bytes":1234.0'), "non-integer number"),
        (EXPECTED.replace(b'"bytes":1234', b'"bytes":1.2e3'), "non-integer number"),
        (EXPECTED.replace(b'"bytes":1234', b'"bytes":NaN'), "non-integer number"),
        (EXPECTED.replace(b'"bytes":1234', b'"bytes":1234,"bytes":1234'), "duplicate key"),
        (EXPECTED.replace(b'"via":"api"', b'"via":"\\u0061pi"'), "not in RFC 8785 canonical form"),
        (EXPECTED[:-1], "not JSON"),
        (b"\xff" + EXPECTED, "not UTF-8"),
        (b"[]", "must be a JSON object"),
        ("text", "is bytes"),
        (mutate(extra="x"), "unknown: \\['extra'\\]"),
        (json.dumps({k: v for k, v in entry().to_json().items() if k != "digest"}).encode(), "missing: \\['digest'\\]"),
        (mutate(at="2026-03-14T15:09:26Z"), "with microseconds"),
        (mutate(at="2026-03-14T15:09:26.535897+00:00"), "with microseconds"),
        (mutate(at="2026-02-30T15:09:26.000000Z"), "not a real time"),
        (mutate(at=1234), "with microseconds"),
        (mutate(action="deleted"), "custody action must be one of"),
        (mutate(digest=DIGEST.upper()), "64 lower-case hex"),
        (mutate(detail=[]), "detail must be a mapping"),
        (mutate(detail={"n": True}), "string or an integer"),
    ],
)
def test_malformed_leaves(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_leaf(data)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"action": "deleted"}, "custody action must be one of received, hashed"),
        ({"action": None}, "custody action"),
        ({"actor_id": ""}, "actor_id must be a non-empty string"),
        ({"org_id": "x" * 129}, "org_id must be a non-empty string of at most 128"),
        ({"object_id": "has space"}, "object_id must not contain spaces"),
        ({"object_id": "ctl\x07"}, "object_id must not contain spaces or control"),
        ({"actor_id": 5}, "actor_id must be a non-empty string"),
        ({"object_type": "Report"}, "object_type must be a lower-case code"),
        ({"object_type": None}, "object_type"),
        ({"digest": "abc"}, "64 lower-case hex"),
        ({"digest": b"\x00" * 32}, "64 lower-case hex"),
        ({"at": datetime(2026, 1, 1)}, "with a time zone"),
        ({"at": "2026-01-01T00:00:00Z"}, "with a time zone"),
        ({"detail": {"n": 1.5}}, "string or an integer, got float"),
        ({"detail": {"n": False}}, "string or an integer, got bool"),
        ({"detail": {"n": {"nested": 1}}}, "string or an integer, got dict"),
        ({"detail": {"n": None}}, "string or an integer"),
        ({"detail": {"n": 2**53}}, "JSON-safe integer range"),
        ({"detail": {"n": "x" * (MAX_DETAIL_TEXT + 1)}}, "longer than 256"),
        ({"detail": {f"k{i}": i for i in range(MAX_DETAIL_ITEMS + 1)}}, "at most 16 items"),
        ({"detail": {"Bad Key": 1}}, "snake_case"),
        ({"detail": {1: 1}}, "snake_case"),
        ({"detail": [("a", 1)]}, "detail must be a mapping"),
    ],
)
def test_invalid_entries(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        entry(**changes)


def test_every_action_is_a_custody_action() -> None:
    assert [a.value for a in CustodyAction] == [
        "received",
        "hashed",
        "matched",
        "viewed",
        "shared",
        "exported",
        "sealed",
        "unsealed",
        "purged",
        "shared_out",
        "shared_in",
        "receipt",
    ]


def test_a_sibling_is_the_entry_the_constructor_makes() -> None:
    first = entry(at=datetime(2026, 3, 14, 16, 9, 26, 535897, tzinfo=timezone(timedelta(hours=1))))
    other = "med_01JQ0000000000000000000001"
    sibling = first.sibling(other, "0" * 64, {"via": "bulk"})
    made = entry(object_id=other, digest="0" * 64, detail={"via": "bulk"})
    assert sibling == made
    assert sibling.leaf_bytes() == made.leaf_bytes()
    assert parse_leaf(sibling.leaf_bytes()) == sibling
    with pytest.raises(TypeError):
        sibling.detail["via"] = "changed"  # type: ignore[index]


@pytest.mark.parametrize(
    ("object_id", "digest", "detail", "message"),
    [
        ("", DIGEST, {}, "object_id must be a non-empty string"),
        ("has space", DIGEST, {}, "object_id must not contain spaces"),
        ("med_1", "ABC", {}, "64 lower-case hex"),
        ("med_1", DIGEST, {"n": 1.5}, "string or an integer, got float"),
        ("med_1", DIGEST, {"Bad Key": 1}, "snake_case"),
    ],
)
def test_a_sibling_checks_what_is_its_own(object_id: str, digest: str, detail: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        entry().sibling(object_id, digest, detail)
