"""STIX 2.1: round trip, the OASIS validator on our exports, a partner-shaped bundle, and bad input."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import stix2
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator  # type: ignore[import-untyped]
from stix2validator import ValidationOptions, validate_string

from accord.errors import Invalid
from accord.intake.exporters.stix import StixExporter
from accord.intake.formats import ExportContext, ImportOptions, Item
from accord.intake.importers.native import NATIVE
from accord.intake.importers.stix import STIX, _pattern_fault, _simple_pattern, _visited_pattern_media
from accord.intake.stix_common import TLP2_IDS, TLP_EXTENSION, X_SUBJECTS, agreement_statement, stix_id
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.plugins import exporters, importers
from tests.intake.strategies import report_in, stored

EXAMPLE = Path(__file__).parent.parent / "data" / "formats" / "stix" / "partner-bundle.json"
CTX = ExportContext(org_id="org_x", org_name="Test Hotline", generated_at=datetime(2026, 11, 25, tzinfo=UTC))
AGREED = ExportContext(
    org_id="org_x", org_name="Test Hotline", generated_at=datetime(2026, 11, 25, tzinfo=UTC), agreement_id="agr_7"
)
# Validator warnings our bundles are allowed, each explained in docs/formats/stix.md:
# 103 ids are UUIDv5 (stable re-exports), 401 x_accord_ custom properties, 244 account_type is the platform.
ALLOWED_WARNINGS = {"103", "401", "244"}


def export(reports: list[ReportIn], context: ExportContext = CTX) -> bytes:
    out = io.BytesIO()
    assert StixExporter().write([stored(r, i) for i, r in enumerate(reports)], out, context) == len(reports)
    return out.getvalue()


def read(data: bytes, **kw: Any) -> list[Item]:
    return list(STIX.read(io.BufferedReader(io.BytesIO(data)), ImportOptions(name="b.json", **kw)))


def objects(data: bytes) -> list[dict[str, Any]]:
    doc: dict[str, Any] = orjson.loads(data)
    return list(doc["objects"])


def bundle(*objs: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": "bundle", "id": "bundle--8f1a9c3e-4b1d-4c55-a1a6-2b8e3d0f6c11", "objects": objs})


def indicator(oid: str, pattern: str, **kw: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": oid,
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
        **kw,
    }


GOOD = "indicator--0a4f7c52-9e6b-4d0c-8f1e-3c2b5a6d7e81"
BAD = "indicator--1b5e8d63-af7c-4e1d-9a2f-4d3c6b7e8f92"
MD5 = "5d41402abc4b2a76b9719d911017c592"


@settings(max_examples=60, deadline=None)
@given(st.lists(report_in, min_size=1, max_size=4))
def test_export_then_import_gives_back_the_same_reports(reports: list[ReportIn]) -> None:
    items = read(export(reports, AGREED))
    assert [i.faults for i in items] == [{}] * len(reports)
    assert [i.report for i in items] == reports


@settings(max_examples=25, deadline=None)
@given(st.lists(report_in, min_size=1, max_size=3), st.sampled_from([CTX, AGREED]))
def test_exports_pass_the_oasis_validator(reports: list[ReportIn], context: ExportContext) -> None:
    result = validate_string(export(reports, context).decode(), ValidationOptions(version="2.1"))
    assert result.is_valid and result.errors == []
    codes = {m.group(1) for w in result.warnings if (m := re.search(r"\{(\d+)\}", str(w)))}
    assert codes <= ALLOWED_WARNINGS, result.warnings


_instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 11, 1), timezones=st.just(UTC))


@settings(max_examples=15, deadline=None)
@given(st.lists(report_in, min_size=1, max_size=3), st.lists(_instants, min_size=3, max_size=3), st.booleans())
def test_exported_objects_are_what_stix2_makes_of_them(
    reports: list[ReportIn], times: list[datetime], agreed: bool
) -> None:
    """The exporter builds plain dicts; stix2 is the reference. Each object, parsed by stix2, must
    serialize back to exactly the text we wrote: same properties, defaults, order and timestamps."""
    ingested, received, generated = times  # with microseconds, to exercise each timestamp precision
    context = ExportContext(org_id="org_x", org_name="Test Hotline", generated_at=generated)
    if agreed:
        context = AGREED
    out = io.BytesIO()
    stored_reports = [
        stored(r, i).model_copy(update={"ingested_at": ingested, "received_at": received + timedelta(microseconds=i)})
        for i, r in enumerate(reports)
    ]
    StixExporter().write(stored_reports, out, context)
    lines = out.getvalue().decode().splitlines()
    assert lines[0].startswith('{"type": "bundle"') and lines[-1] == "]}"
    for line in lines[1:-1]:
        text = line.removesuffix(",")
        obj = orjson.loads(text)
        parsed = stix2.parse(obj, allow_custom=True, version="2.1")
        if obj["id"] in TLP2_IDS.values():  # OASIS's definitions, copied as published
            assert orjson.loads(parsed.serialize()) == obj
        else:
            assert parsed.serialize() == text


def _hex(seed: str, n: int, upper: bool) -> str:
    return (seed * 128)[:n].upper() if upper else (seed * 128)[:n]


_seeds = st.text(alphabet="0123456789abcdef", min_size=1, max_size=8)
# comparisons of the simple shape (right name, right length) twice as often as any others, so that
# generated patterns sit on both sides of the simple path's edge
_simple_comparisons = st.builds(
    lambda name_length, upper, seed: f"file:hashes.{name_length[0]} = '{_hex(seed, name_length[1], upper)}'",
    st.sampled_from([("MD5", 32), ("'MD5'", 32), ("SHA256", 64), ("'SHA256'", 64), ("'SHA-256'", 64)]),
    st.booleans(),
    _seeds,
)
_other_comparisons = st.builds(
    lambda name, n, upper, seed: f"file:hashes.{name} = '{_hex(seed, n, upper)}'",
    st.sampled_from(["MD5", "md5", "'SHA-256'", "SHA256", "'SHA-1'", "SHA1", "x_pdq"]),
    st.sampled_from([31, 32, 40, 64, 65]),
    st.booleans(),
    _seeds,
)
_patterns = st.builds(
    lambda comps, ops, form: form.format(
        "".join(c + (ops[k % len(ops)] if k < len(comps) - 1 else "") for k, c in enumerate(comps))
    ),
    st.lists(st.one_of(_simple_comparisons, _simple_comparisons, _other_comparisons), min_size=1, max_size=3),
    st.lists(st.sampled_from([" AND ", " OR ", " AND ", " OR ", " or ", " and ", "  OR "]), min_size=1, max_size=2),
    st.sampled_from(
        ["[{}]", "[{}]", "[{}]", "[{}] OR [file:hashes.MD5 = '" + MD5 + "']", " [{}]", "[{}] WITHIN 5 SECONDS"]
    ),
)


@settings(max_examples=300, deadline=None)
@given(_patterns)
def test_simple_patterns_are_read_as_the_stix2_pattern_validator_and_visitor_read_them(pattern: str) -> None:
    simple = _simple_pattern(pattern)
    errors = run_validator(pattern, "2.1")
    assert (_pattern_fault(pattern) is None) == (errors == [])
    if simple is not None:
        assert errors == []
        expected = _visited_pattern_media(pattern)
        found = [dict(simple)] if len({n for n, _ in simple}) == len(simple) else [{n: v} for n, v in simple]
        assert found == expected


def test_our_own_pattern_shape_takes_the_simple_path() -> None:
    pattern = f"[file:hashes.MD5 = '{MD5}' OR file:hashes.'SHA-256' = '{'A' * 64}']"
    assert _simple_pattern(pattern) == [("md5", MD5), ("sha256", "a" * 64)]


def _report(**kw: Any) -> ReportIn:
    doc = {
        "external_id": "ext-1",
        "source": "hotline",
        "received_at": "2026-02-01T10:00:00Z",
        "incident_type": "csam",
        "urgency": ["recent"],
        "marking": "RED",
        "location": {"country": "NL"},
        "subjects": [
            {
                "role": "suspect",
                "identifiers": [
                    {"kind": "account", "service": "platform-01", "value": "u1", "handle": "h1"},
                    {"kind": "phone", "value": "+31 20 5550123"},
                    {"kind": "ip", "value": "2001:db8::5", "port": 443},
                ],
            }
        ],
        "media": [{"md5": MD5, "sha256": "a" * 64, "pdq": "b" * 64, "pdq_quality": 90}, {"pdq": "c" * 64}],
    }
    return parse_obj(ReportIn, doc | kw)


def test_export_shape_markings_and_stable_ids() -> None:
    data = export([_report()], AGREED)
    assert data == export([_report()], AGREED)  # a re-export is byte for byte the same
    objs = {o["id"]: o for o in objects(data)}
    statement = stix_id("marking-definition", agreement_statement("agr_7"))
    assert objs[statement]["definition"] == {"statement": "accord-agreement:agr_7"}
    red = objs[TLP2_IDS["RED"]]
    assert red["name"] == "TLP:RED" and red["extensions"][TLP_EXTENSION]["tlp_2_0"] == "red"
    rid = "rpt_01JTEST0000000000000000000"
    grouping = objs[stix_id("grouping", rid)]
    assert grouping["context"] == "suspicious-activity"
    assert grouping["x_accord_incident_type"] == "csam" and grouping["x_accord_country"] == "NL"
    assert grouping[X_SUBJECTS][0]["role"] == "suspect"
    assert grouping[X_SUBJECTS][0]["identifiers"][1] == {"kind": "phone", "value": "+31 20 5550123"}
    for o in objs.values():
        if o["type"] != "marking-definition":
            assert statement in o["object_marking_refs"], o["id"]
        if o["id"] in grouping["object_refs"]:
            assert TLP2_IDS["RED"] in o["object_marking_refs"], o["id"]
    by_type = {o["type"]: o for o in objs.values()}
    assert by_type["user-account"]["account_type"] == "platform-01" and by_type["user-account"]["user_id"] == "u1"
    assert by_type["ipv6-addr"]["value"] == "2001:db8::5"
    files = [o for o in objs.values() if o["type"] == "file"]
    assert files[0]["hashes"] == {"MD5": MD5, "SHA-256": "a" * 64, "x_pdq": "b" * 64}
    assert files[0]["x_accord_pdq_quality"] == 90
    indicators = [o for o in objs.values() if o["type"] == "indicator"]
    assert len(indicators) == 1  # the PDQ-only medium has no equality pattern
    assert indicators[0]["pattern"] == f"[file:hashes.MD5 = '{MD5}' OR file:hashes.'SHA-256' = '{'a' * 64}']"
    assert indicators[0]["valid_from"] == "2026-02-01T10:00:00Z"
    assert by_type["relationship"]["relationship_type"] == "based-on"
    assert by_type["relationship"]["source_ref"] == indicators[0]["id"]
    assert by_type["identity"]["name"] == "Test Hotline" and grouping["created_by_ref"] == by_type["identity"]["id"]


def test_partner_bundle_gives_the_expected_reports() -> None:
    items = read(EXAMPLE.read_bytes())
    expected = [
        {
            "external_id": "grouping--5eba2f99-cf21-4a6c-9a75-fe6059d1d3e2",
            "source": "partner",
            "received_at": "2026-03-01T10:15:00Z",  # the earliest observation it holds
            "incident_type": "other",
            "marking": "AMBER",
            "subjects": [
                {
                    "role": "unknown",
                    "identifiers": [
                        {
                            "kind": "account",
                            "service": "example-chat",
                            "value": "100200300",
                            "handle": "example_user_1",
                        },
                        {"kind": "email", "value": "user1@example.org"},
                    ],
                }
            ],
            "media": [{"md5": MD5}],  # the domain-name indicator carries nothing Accord stores
        },
        {
            "external_id": "sighting--243fab51-1f4f-49a7-9566-bb26ab842241",
            "source": "partner",
            "received_at": "2026-03-03T12:00:00Z",
            "incident_type": "other",
            "marking": "AMBER",
            "subjects": [
                {
                    "role": "unknown",
                    "identifiers": [
                        {"kind": "url", "value": "https://files.example.net/share/abc123"},
                        {"kind": "ip", "value": "2001:db8::17"},
                    ],
                }
            ],
            "media": [{"sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}],
        },
        {
            "external_id": "indicator--5f8464b8-1cad-47d6-a6c7-f41940419078",
            "source": "partner",
            "received_at": "2026-03-04T07:30:00Z",
            "incident_type": "other",
            "marking": "GREEN",  # TLP 1.0 green, by its well-known id
            "media": [
                {
                    "md5": "7d793037a0760186574b0282f2f435e7",
                    "sha256": "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7",
                }
            ],
        },
        {
            "external_id": "observed-data--b7bc9890-647c-47dc-941f-3fa9f9f2f4ba",
            "source": "partner",
            "received_at": "2026-03-05T16:00:00Z",
            "incident_type": "other",
            "marking": "AMBER",
            "subjects": [{"role": "unknown", "identifiers": [{"kind": "email", "value": "user2@example.net"}]}],
            "media": [
                {
                    "md5": "0cc175b9c0f1b6a831c399e269772661",
                    "sha256": "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
                    "size": 48213,
                    "mime": "image/jpeg",
                }
            ],
        },
    ]
    assert [(i.line, i.ref, dict(i.faults)) for i in items] == [
        (3, "grouping--5eba2f99-cf21-4a6c-9a75-fe6059d1d3e2", {}),
        (11, "sighting--243fab51-1f4f-49a7-9566-bb26ab842241", {}),
        (15, "indicator--5f8464b8-1cad-47d6-a6c7-f41940419078", {}),
        (17, "observed-data--b7bc9890-647c-47dc-941f-3fa9f9f2f4ba", {}),
    ]
    assert [i.report for i in items] == [parse_obj(ReportIn, d) for d in expected]
    assert {i.report.source for i in read(EXAMPLE.read_bytes(), source="hotline") if i.report} == {"hotline"}


def test_partner_bundle_is_valid_stix() -> None:
    result = validate_string(EXAMPLE.read_text(), ValidationOptions(version="2.1"))
    assert result.is_valid and result.errors == []


def test_invalid_pattern_is_a_fault_and_the_rest_still_imports() -> None:
    items = read(
        bundle(indicator(BAD, "[file:hashes.MD5 = 'not-a-hash']"), indicator(GOOD, f"[file:hashes.MD5 = '{MD5}']"))
    )
    assert [(i.line, i.ref, i.report is None) for i in items] == [(1, BAD, True), (2, GOOD, False)]
    assert list(items[0].faults) == [f"{BAD}/pattern"]
    assert "MD5" in items[0].faults[f"{BAD}/pattern"]
    syntax = read(bundle(indicator(BAD, "[file:hashes.MD5 = ")))
    assert list(syntax[0].faults) == [f"{BAD}/pattern"]


def test_a_bad_indicator_inside_a_container_rejects_that_container_only() -> None:
    grouping = {
        "type": "grouping",
        "spec_version": "2.1",
        "id": "grouping--2c6f9e74-b08d-4f2e-8b3a-5e4d7c8f9a03",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "context": "suspicious-activity",
        "object_refs": [BAD],
    }
    items = read(
        bundle(grouping, indicator(BAD, "[file:hashes.MD5 = 'zz']"), indicator(GOOD, f"[file:hashes.MD5 = '{MD5}']"))
    )
    assert [(i.line, i.ref, list(i.faults)) for i in items] == [
        (1, grouping["id"], [f"{BAD}/pattern"]),
        (3, GOOD, []),
    ]


def test_loose_objects_without_anything_accord_carries_are_faults() -> None:
    items = read(bundle(indicator(GOOD, "[domain-name:value = 'files.example.net']")))
    assert items[0].report is None and list(items[0].faults) == [f"{GOOD}/pattern"]


OBSERVED = {
    "type": "observed-data",
    "spec_version": "2.1",
    "id": "observed-data--4e8b1a96-d2af-4a4b-8d5c-7a6f9e0b1c25",
    "created": "2026-03-01T00:00:00.000Z",
    "modified": "2026-03-01T00:00:00.000Z",
    "first_observed": "2026-03-01T00:00:00Z",
    "last_observed": "2026-03-01T00:00:00Z",
    "number_observed": 1,
    "object_refs": ["file--5f9c2b07-e3c1-4d5e-9f6a-8b7c0d1e2f36"],
}
FILE = {
    "type": "file",
    "spec_version": "2.1",
    "id": "file--5f9c2b07-e3c1-4d5e-9f6a-8b7c0d1e2f36",
    "hashes": {"MD5": MD5},
}


def test_an_account_without_its_platform_is_a_fault_naming_the_observable() -> None:
    ua = {"type": "user-account", "spec_version": "2.1", "id": "user-account--3d7a0f85-c19e-5f3a-9c4b-6f5e8d9a0b14"}
    items = read(bundle(OBSERVED | {"object_refs": [ua["id"]]}, ua | {"user_id": "42"}))
    assert items[0].faults == {ua["id"]: "an account needs its service"}


def test_own_export_referring_to_a_missing_observable_is_a_fault() -> None:
    objs = objects(export([_report()]))
    kept = [o for o in objs if o["type"] != "user-account"]
    items = read(bundle(*kept))
    assert items[0].report is None
    assert list(items[0].faults) == [f"{kept[1]['id']}/{X_SUBJECTS}/0/identifiers/0/ref"]


@pytest.mark.parametrize(
    ("observed", "file", "fault"),
    [
        ({}, {}, None),
        ({"created": None}, {}, "observed-data--4e8b1a96-d2af-4a4b-8d5c-7a6f9e0b1c25/created"),
        ({"spec_version": None}, {}, "observed-data--4e8b1a96-d2af-4a4b-8d5c-7a6f9e0b1c25/spec_version"),
        (
            {"id": "observed-data--4e8b1a96-d2af-4a4b-0d5c-7a6f9e0b1c25"},
            {},
            "observed-data--4e8b1a96-d2af-4a4b-0d5c-7a6f9e0b1c25/id",
        ),
        (
            {"first_observed": "2026-03-01 00:00:00Z"},
            {},
            "observed-data--4e8b1a96-d2af-4a4b-8d5c-7a6f9e0b1c25/first_observed",
        ),
        (
            {"last_observed": "2026-02-28T23:59:59.999Z"},
            {},
            "observed-data--4e8b1a96-d2af-4a4b-8d5c-7a6f9e0b1c25/last_observed",
        ),
        ({"modified": "2026-02-28T00:00:00.000Z"}, {}, "observed-data--4e8b1a96-d2af-4a4b-8d5c-7a6f9e0b1c25/modified"),
        ({"number_observed": 0}, {}, "observed-data--4e8b1a96-d2af-4a4b-8d5c-7a6f9e0b1c25/number_observed"),
        ({"number_observed": "1"}, {}, "observed-data--4e8b1a96-d2af-4a4b-8d5c-7a6f9e0b1c25/number_observed"),
        (
            {"object_marking_refs": ["identity--05acf267-8abd-4b81-8fd5-f046cf748768"]},
            {},
            "observed-data--4e8b1a96-d2af-4a4b-8d5c-7a6f9e0b1c25/object_marking_refs",
        ),
        ({}, {"hashes": {"MD5": MD5, "SHA-1": "abc"}}, "file--5f9c2b07-e3c1-4d5e-9f6a-8b7c0d1e2f36/hashes"),
        ({}, {"hashes": None}, "file--5f9c2b07-e3c1-4d5e-9f6a-8b7c0d1e2f36/hashes"),
        ({}, {"size": -1}, "file--5f9c2b07-e3c1-4d5e-9f6a-8b7c0d1e2f36/size"),
        ({}, {"mime_type": 7}, "file--5f9c2b07-e3c1-4d5e-9f6a-8b7c0d1e2f36/mime_type"),
    ],
)
def test_objects_a_report_reads_are_checked_against_stix_2_1(
    observed: dict[str, Any], file: dict[str, Any], fault: str | None
) -> None:
    """What STIX 2.1 requires of each object type Accord reads (required properties, types, ids, timestamps
    and their order) is checked on the parsed JSON; a fault names the object and property."""
    drop = {k for k, v in (observed | file).items() if v is None}
    objs = [
        {k: v for k, v in (OBSERVED | observed).items() if k not in drop},
        {k: v for k, v in (FILE | file).items() if k not in drop},
    ]
    items = read(bundle(*objs))
    assert len(items) == 1
    assert list(items[0].faults) == ([fault] if fault else [])
    assert (items[0].report is None) == (fault is not None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'{"type": "bundle", "id": "bundle--8f1a9c3e-4b1d-4c55-a1a6-2b8e3d0f6c11", "objects": [{"type": "ind',
            "malformed JSON",
        ),
        (b'[{"type": "bundle"}]', "not a STIX bundle"),
        (b'{"type": "report", "id": "report--8f1a9c3e-4b1d-4c55-a1a6-2b8e3d0f6c11"}', "not a STIX bundle"),
        (
            b'{"type": "bundle", "id": "bundle--8f1a9c3e-4b1d-4c55-a1a6-2b8e3d0f6c11", "spec_version": "2.0"}',
            "STIX 2.0",
        ),
        (
            bundle(indicator(GOOD, f"[file:hashes.MD5 = '{MD5}']", spec_version="2.0")),
            r"object 1 \(indicator--.*\) is STIX 2.0",
        ),
        (b'{"type": "bundle", "objects": [{"type": "indicator"}]}', "object 1 is not a STIX object"),
        ('{"type": "bundle"}'.encode("utf-16"), "not UTF-8"),
    ],
)
def test_whole_file_faults_name_the_file(data: bytes, message: str) -> None:
    with pytest.raises(Invalid, match=rf"b\.json: .*{message}"):
        read(data)


def test_an_object_over_the_limit_is_refused_but_not_a_bundle_of_small_ones() -> None:
    big = indicator(GOOD, f"[file:hashes.MD5 = '{MD5}']", description="x" * 300_000)
    with pytest.raises(Invalid, match=r"b\.json: element 2 of objects is larger than 100,000 bytes"):
        read(bundle(indicator(BAD, f"[file:hashes.MD5 = '{MD5}']"), big), max_document_bytes=100_000)
    many = [
        indicator(str(uuid.UUID(int=i, version=4)).join(("indicator--", "")), f"[file:hashes.MD5 = '{MD5}']")
        for i in range(3000)
    ]
    data = bundle(*many)
    assert len(data) > 8 * 100_000  # the bundle is streamed: only one object counts against the limit
    items = read(data, max_document_bytes=100_000)
    assert [i.line for i in items] == list(range(1, 3001)) and all(i.report for i in items)


def test_the_bundle_type_may_come_after_its_objects() -> None:
    data = b'{"objects": ' + orjson.dumps([indicator(GOOD, f"[file:hashes.MD5 = '{MD5}']")]) + b', "type": "bundle"}'
    assert [i.report is not None for i in read(data)] == [True]
    with pytest.raises(Invalid, match="not a STIX bundle"):
        read(data.replace(b'"bundle"', b'"grouping"'))


def test_sniff() -> None:
    assert STIX.sniff(b'\xef\xbb\xbf  {"type":"bundle","id":"bundle--x"}', "x.json")
    assert STIX.sniff(b'{\n  "id": "bundle--x",\n  "type" :\t"bundle"', "x")
    assert STIX.sniff(EXAMPLE.read_bytes()[:65536], "partner-bundle.json")
    assert not STIX.sniff(b'{"source": "hotline", "incident_type": "other"}', "r.json")
    assert not STIX.sniff(b'[{"type": "bundle"}]', "x.json")
    assert not STIX.sniff(b'{"@graph": [{"@type": "uco-core:Bundle"}]}', "case.jsonld")
    ours = export([_report()])[:65536]
    assert STIX.sniff(ours, "x.stix.json") and not NATIVE.sniff(ours, "x.stix.json")


def test_markings_read_however_the_partner_wrote_them() -> None:
    own_red = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--5f0c2d1e-8a7b-4c6d-9e0f-1a2b3c4d5e6f",
        "created": "2026-01-01T00:00:00.000Z",
        "definition_type": "tlp",
        "definition": {"tlp": "red"},
    }
    white = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
    pattern = f"[file:hashes.MD5 = '{MD5}']"
    items = read(
        bundle(
            own_red,
            indicator(GOOD, pattern, object_marking_refs=[white, own_red["id"]]),
            indicator(BAD, pattern, object_marking_refs=[white]),
        )
    )
    assert [i.report.marking for i in items if i.report] == ["RED", "CLEAR"]


def test_registered_through_the_plugin_hooks() -> None:
    assert importers()["stix"] is STIX
    assert isinstance(exporters()["stix"], StixExporter)
