"""The audit chain's fast canonical JSON is byte-identical to RFC 8785 for the values audit events hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.safeguards.audit_chain import HASHED_FIELDS, canonical

ascii_keys = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)
scalars = st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | st.text(max_size=30)
details = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ascii_keys, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=2**40),
    text=st.text(max_size=40),
    detail=st.dictionaries(ascii_keys, details, max_size=5),
    at=st.datetimes(timezones=st.just(UTC)),
)
def test_matches_rfc8785(seq: int, text: str, detail: dict[str, Any], at: datetime) -> None:
    fields: dict[str, Any] = dict.fromkeys(HASHED_FIELDS, text)
    fields.update(seq=seq, at=at, detail=detail, outcome="success")
    expected = {k: (v.isoformat(timespec="microseconds") if isinstance(v, datetime) else v) for k, v in fields.items()}
    assert canonical(fields) == rfc8785.dumps(expected)
