from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from accord.exchange.wire import b64decode, format_time, load_canonical, parse_time


def test_times_have_one_spelling() -> None:
    at = datetime(2026, 11, 26, 13, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert format_time(at) == "2026-11-26T12:00:00.000005Z"
    assert parse_time("2026-11-26T12:00:00.000005Z") == at.astimezone(UTC)
    for other in ["2026-11-26T12:00:00Z", "2026-11-26T13:00:00.000000+01:00", "2026-11-26 12:00:00.000000Z", 5]:
        with pytest.raises(ValueError, match="is not of the form"):
            parse_time(other)
    with pytest.raises(ValueError, match="time zone"):
        format_time(datetime(2026, 1, 1))


def test_base64_has_one_spelling() -> None:
    assert b64decode("aGk=", "x") == b"hi"
    for other, message in [("aGl=", "not canonical"), ("aGk", "not valid"), ("aGk-", "not valid"), (None, "string")]:
        with pytest.raises(ValueError, match=message):
            b64decode(other, "x")


def test_json_has_one_spelling() -> None:
    assert load_canonical(b'{"a":1,"b":[true,null]}', "doc") == {"a": 1, "b": [True, None]}
    for other, message in [
        (b'{"b":1,"a":2}', "canonical form"),
        (b'{"a": 1}', "canonical form"),
        (b'{"a":1,"a":1}', "duplicate key"),
        (b'{"a":NaN}', "not valid JSON"),
        (b'{"a":1.0}', "canonical form"),
    ]:
        with pytest.raises(ValueError, match=message):
            load_canonical(other, "doc")
