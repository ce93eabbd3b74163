"""``ReportIn`` validation and the JSON-pointer errors of ``accord.model.parse``."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from accord.errors import Invalid
from accord.model.media import Media
from accord.model.parse import parse_json, parse_obj, pointer
from accord.model.report import ReportIn, SubjectRole
from tests.conftest import report_json


def body(**overrides: object) -> dict[str, Any]:
    return copy.deepcopy(report_json("ext-1", **overrides))


def invalid(data: dict[str, Any] | bytes | str) -> Invalid:
    raw = data if isinstance(data, bytes | str) else orjson.dumps(data)
    with pytest.raises(Invalid) as info:
        parse_json(ReportIn, raw)
    return info.value


def test_the_sample_report_is_valid() -> None:
    rin = parse_json(ReportIn, orjson.dumps(body()))
    assert rin.external_id == "ext-1"
    assert rin.received_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert rin.subjects[0].role is SubjectRole.suspect
    assert [i.key for i in rin.subjects[0].identifiers] == [
        "account:platform-01/u-100",
        "email:subject.a@example.org",
        "phone:+4930901820",
    ]
    assert rin.media[0].md5 == "0" * 31 + "1"
    assert parse_obj(ReportIn, body()) == rin


def test_offsets_are_converted_to_utc() -> None:
    rin = parse_json(ReportIn, orjson.dumps(body(received_at="2026-11-20T12:30:00+02:30")))
    assert rin.received_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert rin.received_at.tzinfo is UTC


def test_unknown_top_level_field_is_rejected() -> None:
    err = invalid(body(priority="high"))
    assert "/priority" in err.errors


def test_unknown_nested_field_is_rejected() -> None:
    b = body()
    b["subjects"][0]["identifiers"][0]["colour"] = "red"
    err = invalid(b)
    assert "/subjects/0/identifiers/0/colour" in err.errors
    b = body(location={"country": "DE", "city": "X"})
    assert "/location/city" in invalid(b).errors


@pytest.mark.parametrize("value", ["2026-11-20T10:00:00", "2026-11-20 10:00:00", "2026-11-20"])
def test_naive_timestamps_are_rejected(value: str) -> None:
    err = invalid(body(received_at=value))
    assert list(err.errors) == ["/received_at"]


@pytest.mark.parametrize("value", [1763632800, 1763632800.5, 0, True])
def test_numeric_timestamps_are_rejected(value: object) -> None:
    err = invalid(body(received_at=value))
    assert list(err.errors) == ["/received_at"]
    assert "ISO 8601" in err.errors["/received_at"] or "time zone" in err.errors["/received_at"]


@pytest.mark.parametrize("value", ["1763632800", "1763632800.5"])
def test_numbers_in_strings_are_not_timestamps_either(value: str) -> None:
    # pydantic's lax mode reads a digit string as Unix time; a partner sending one has a bug
    err = invalid(body(received_at=value))
    assert list(err.errors) == ["/received_at"]


def test_naive_timestamp_in_a_nested_identifier() -> None:
    b = body()
    b["subjects"][0]["identifiers"][1]["seen_at"] = "2026-11-20T09:00:00"
    assert "/subjects/0/identifiers/1/seen_at" in invalid(b).errors


def test_repeated_urgency_codes_are_rejected() -> None:
    err = invalid(body(urgency=["recent", "age-band-b", "recent"]))
    assert list(err.errors) == ["/urgency"]
    assert "repeat" in err.errors["/urgency"]
    parse_json(ReportIn, orjson.dumps(body(urgency=["recent", "age-band-b"])))


def test_media_without_any_hash_is_rejected() -> None:
    err = invalid(body(media=[{"size": 10, "mime": "image/png"}]))
    assert "/media/0" in err.errors
    assert "at least one of md5, sha256, pdq" in err.errors["/media/0"]
    with pytest.raises(ValidationError):
        Media(size=10)


def test_media_hashes_are_lower_cased() -> None:
    m = Media(sha256="AB" * 32, pdq="F" * 64)
    assert m.sha256 == "ab" * 32 and m.pdq == "f" * 64


@pytest.mark.parametrize("field", ["md5", "sha256", "pdq"])
def test_media_hash_shapes(field: str) -> None:
    err = invalid(body(media=[{field: "xyz"}]))
    assert f"/media/0/{field}" in err.errors


def test_invalid_identifier_points_at_the_identifier() -> None:
    b = body()
    b["subjects"][0]["identifiers"][2]["value"] = "not a number"
    err = invalid(b)
    assert list(err.errors) == ["/subjects/0/identifiers/2"]
    assert "phone" in err.errors["/subjects/0/identifiers/2"]
    assert err.detail.startswith("/subjects/0/identifiers/2: ")


def test_first_identifier_error_pointer() -> None:
    b = body()
    b["subjects"][0]["identifiers"][0] = {"kind": "account", "value": "u-1"}  # no service
    assert list(invalid(b).errors) == ["/subjects/0/identifiers/0"]


def test_several_errors_are_all_reported() -> None:
    b = body(source=5, urgency="recent")
    b["subjects"][0]["identifiers"][1]["value"] = "no-at-sign"
    err = invalid(b)
    assert {"/source", "/urgency", "/subjects/0/identifiers/1"} <= set(err.errors)
    assert "more)" in err.detail


def test_missing_required_fields() -> None:
    err = invalid({"external_id": "x"})
    assert {"/source", "/received_at", "/incident_type"} <= set(err.errors)


def test_subject_needs_identifiers_and_a_known_role() -> None:
    assert "/subjects/0/identifiers" in invalid(body(subjects=[{"role": "suspect", "identifiers": []}])).errors
    bad_role = body(subjects=[{"role": "boss", "identifiers": [{"kind": "ip", "value": "192.0.2.1"}]}])
    assert "/subjects/0/role" in invalid(bad_role).errors


@pytest.mark.parametrize("raw", [b"{", b"", b"not json", b'{"source": }', b"[1,", b'{"a": 1}{'])
def test_malformed_json_gives_the_empty_pointer(raw: bytes) -> None:
    err = invalid(raw)
    assert list(err.errors) == [""]
    assert err.status == 422


def test_json_that_is_not_an_object() -> None:
    err = invalid(b"[1, 2]")
    assert list(err.errors) == [""]  # a type error at the root, not malformed JSON
    assert "malformed" not in err.errors[""]


def test_pointer_escapes_per_rfc_6901() -> None:
    assert pointer(("a/b", "c~d", 0)) == "/a~1b/c~0d/0"
    assert pointer(()) == ""


def test_report_in_is_frozen_and_stripped() -> None:
    rin = parse_json(ReportIn, orjson.dumps(body(external_id="  ext-2  ")))
    assert rin.external_id == "ext-2"
    with pytest.raises(ValidationError):
        rin.source = "hotline"  # type: ignore[misc]
