"""Ids are ULIDs (checked against the python-ulid reference), strictly increasing, with their type prefix."""

from __future__ import annotations

import ulid
from hypothesis import given
from hypothesis import strategies as st

from accord.ids import UlidFactory, _encode, new_ulid


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_encoding_matches_the_reference(value: int) -> None:
    assert _encode(value) == str(ulid.ULID.from_int(value))


def test_monotonic_and_unique_within_a_millisecond() -> None:
    ids = [new_ulid(ms=1_700_000_000_000) for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    later = new_ulid()
    assert later > ids[-1]


def test_prefixed() -> None:
    rid = UlidFactory()("rpt")
    assert rid.startswith("rpt_") and len(rid) == 30
