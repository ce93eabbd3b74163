"""The DSA statement-of-reasons exporter and its validator: every statement written passes the
reference's rules, no identifier from a report reaches the output, and each rule rejects its fault.
Export only: the Transparency Database is a sink, so there is no import to round-trip through."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.intake import dsa_schema as schema
from accord.intake.dsa_schema import validate_batch, validate_statement
from accord.intake.exporters.dsa import INCIDENTS, DsaExporter, DsaOptions
from accord.intake.formats import ExportContext, Exporter
from accord.model.parse import parse_obj
from accord.model.report import Report, ReportIn
from accord.plugins import exporter
from tests.intake.strategies import CATEGORIES, SOURCES, VOCAB, identifier, report_doc, stored

DATA = Path(__file__).parent.parent / "data" / "formats" / "dsa"
CTX = ExportContext(org_id="org_x", org_name="Test Platform", generated_at=datetime(2026, 11, 25, tzinfo=UTC))
MIMES = [None, "image/jpeg", "image/png", "video/mp4", "audio/ogg", "application/zip", "text/html"]

# Accounts with values that cannot occur by chance in generated text (the shared strategy's bare
# tokens, "con" or "the", would be found inside "content" and prove nothing).
distinct_account = st.builds(
    lambda svc, n, h: {"kind": "account", "service": f"svc-{svc}", "value": f"uid-{n}", "handle": f"hdl-{h}"},
    st.integers(10, 99),
    st.integers(100000, 999999),
    st.integers(1000, 9999),
)
distinct_subject = st.builds(
    lambda role, idents: {"role": role, "identifiers": idents},
    st.sampled_from(["suspect", "unknown"]),
    st.lists(st.one_of(identifier.filter(lambda i: i["kind"] != "account"), distinct_account), min_size=1, max_size=4),
)


def _with(doc: dict[str, Any], source: str | None, mimes: list[str | None], subjects: list[Any] | None) -> ReportIn:
    padded = (mimes + [None] * len(doc["media"]))[: len(doc["media"])]
    media = [dict(m, **({"mime": mime} if mime else {})) for m, mime in zip(doc["media"], padded, strict=True)]
    d = dict(doc, media=media)
    if source:
        d["source"] = source
    if subjects is not None:
        d["subjects"] = subjects
    return parse_obj(ReportIn, d)


mimes = st.lists(st.sampled_from(MIMES), max_size=3)
platform_report = st.builds(_with, report_doc, st.just("platform"), mimes, st.none())
any_report = st.builds(_with, report_doc, st.none(), mimes, st.none())
leaky_report = st.builds(_with, report_doc, st.sampled_from(SOURCES), mimes, st.lists(distinct_subject, max_size=3))


def export(reports: list[Report], exp: DsaExporter | None = None) -> tuple[int, list[dict[str, Any]]]:
    out = io.BytesIO()
    n = (exp or DsaExporter()).write(reports, out, CTX)
    return n, [orjson.loads(line) for line in out.getvalue().splitlines()]


@settings(max_examples=80, deadline=None)
@given(st.lists(platform_report, min_size=1, max_size=5))
def test_every_platform_report_becomes_a_valid_statement(reports: list[ReportIn]) -> None:
    stored_ = [stored(r, i) for i, r in enumerate(reports)]
    n, batches = export(stored_)
    assert n == len(reports) and len(batches) == 1
    assert [validate_batch(b) for b in batches] == [{}]
    statements = batches[0]["statements"]
    assert [validate_statement(s) for s in statements] == [{}] * n
    assert [s["puid"] for s in statements] == [r.id for r in stored_]
    assert {s["source_type"] for s in statements} == {"SOURCE_VOLUNTARY"}
    assert {s["category"] for s in statements} == {"STATEMENT_CATEGORY_PROTECTION_OF_MINORS"}


@settings(max_examples=60, deadline=None)
@given(st.lists(any_report, max_size=12), st.integers(1, 4))
def test_sources_without_a_source_type_are_skipped_and_batches_stay_in_bounds(
    reports: list[ReportIn], size: int
) -> None:
    n, batches = export([stored(r, i) for i, r in enumerate(reports)], DsaExporter(DsaOptions(batch_size=size)))
    assert n == sum(r.source != "partner" for r in reports)
    assert [len(b["statements"]) for b in batches] == [size] * (n // size) + ([n % size] if n % size else [])
    assert all(validate_batch(b) == {} for b in batches)


@settings(max_examples=100, deadline=None)
@given(st.lists(leaky_report, min_size=1, max_size=4))
def test_no_identifier_from_a_report_reaches_the_output(reports: list[ReportIn]) -> None:
    out = io.BytesIO()
    DsaExporter().write([stored(r, i) for i, r in enumerate(reports)], out, CTX)
    text = out.getvalue().decode().casefold()
    for r in reports:
        assert r.external_id is not None and r.external_id.casefold() not in text
        for subject in r.subjects:
            for ident in subject.identifiers:
                for value in (ident.value, ident.normalised, ident.handle, ident.service):
                    assert value is None or value.casefold() not in text, (ident.kind, value)


def test_a_fixed_example_gives_the_expected_statements() -> None:
    docs = orjson.loads((DATA / "reports.json").read_bytes())
    reports = [stored(parse_obj(ReportIn, d), i) for i, d in enumerate(docs, 1)]
    out = io.BytesIO()
    assert DsaExporter().write(reports, out, CTX) == 2  # the partner report is skipped
    assert out.getvalue().count(b"\n") == 1
    assert orjson.loads(out.getvalue()) == orjson.loads((DATA / "expected.json").read_bytes())


def test_the_exporter_is_registered_and_meets_the_contract() -> None:
    found = exporter("dsa")
    assert isinstance(found, DsaExporter) and isinstance(found, Exporter)


def test_every_category_has_a_mapping_whose_keywords_are_listed() -> None:
    assert set(CATEGORIES) <= set(INCIDENTS)
    for incident in INCIDENTS.values():
        assert set(incident.keywords) <= schema.KEYWORDS
        assert ("KEYWORD_OTHER" in incident.keywords) == (incident.other is not None)


ACCOUNT = {"kind": "account", "service": "p-1", "value": "x1"}


def _report(**changes: Any) -> Report:
    doc: dict[str, Any] = {
        "source": "platform",
        "received_at": "2026-03-01T12:00:00Z",
        "incident_type": "other",
        "subjects": [{"role": "suspect", "identifiers": [ACCOUNT]}],
    }
    return stored(parse_obj(ReportIn, doc | changes))


@pytest.mark.parametrize(
    ("changes", "decided"),
    [
        ({"incident_type": "csam"}, True),
        ({}, False),  # "other" without urgency: no account decision
        ({"urgency": ["imminent-danger"]}, True),
        ({"incident_type": "csam", "subjects": []}, False),  # no account named: none claimed
        (
            {
                "incident_type": "csam",
                "subjects": [{"role": "unknown", "identifiers": [{"kind": "account", "service": "p", "value": "y"}]}],
            },
            False,
        ),
    ],
)
def test_the_account_decision_needs_a_suspect_account_and_a_serious_case(
    changes: dict[str, Any], decided: bool
) -> None:
    st_ = DsaExporter().statement(_report(**changes))
    assert st_ is not None
    assert st_.get("decision_account") == ("DECISION_ACCOUNT_SUSPENDED" if decided else None)


def test_options_change_the_declared_facts() -> None:
    opts = DsaOptions(
        decision_visibility=("DECISION_VISIBILITY_CONTENT_DISABLED",),
        account_decision=None,
        source_types={"hotline": "SOURCE_TRUSTED_FLAGGER"},
        legal_grounds={"other": "National law, Art. 1"},
        decision_ground_reference_url="https://law.example.org/art-1",
        automated_detection="Yes",
        automated_decision="AUTOMATED_DECISION_PARTIALLY",
        territory_from_location=False,
        puid_prefix="acme-",
    )
    exp = DsaExporter(opts)
    assert exp.statement(_report()) is None  # "platform" is not in this mapping
    st_ = exp.statement(_report(source="hotline", incident_type="csam", location={"country": "FR"}))
    assert st_ is not None and validate_statement(st_) == {}
    assert st_["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"] and "decision_account" not in st_
    assert st_["source_type"] == "SOURCE_TRUSTED_FLAGGER"
    assert st_["illegal_content_legal_ground"] == INCIDENTS["csam"].legal_ground
    assert st_["decision_ground_reference_url"] == "https://law.example.org/art-1"
    assert (st_["automated_detection"], st_["automated_decision"]) == ("Yes", "AUTOMATED_DECISION_PARTIALLY")
    assert st_["territorial_scope"] == sorted(schema.EU_COUNTRIES) and st_["puid"].startswith("acme-rpt_")
    other = exp.statement(_report(source="hotline"))
    assert other is not None and other["illegal_content_legal_ground"] == "National law, Art. 1"


def test_territory_follows_an_eea_country_and_is_the_eu_otherwise() -> None:
    for country, scope in [("NO", ["NO"]), ("GR", ["GR"]), ("US", sorted(schema.EU_COUNTRIES))]:
        st_ = DsaExporter().statement(_report(location={"country": country}))
        assert st_ is not None and st_["territorial_scope"] == scope
    assert len(schema.EU_COUNTRIES) == 27 and len(schema.EEA_COUNTRIES) == 30


@pytest.mark.parametrize(
    ("options", "fault"),
    [
        ({"decision_visibility": ()}, "decision_visibility"),
        ({"decision_visibility": ("DECISION_VISIBILITY_OTHER",)}, "decision_visibility"),
        ({"account_decision": "DECISION_ACCOUNT_GONE"}, "account_decision"),
        ({"source_types": {"platform": "SOURCE_SELF"}}, "source_types"),
        ({"legal_grounds": {"csam": "x" * 501}}, r"legal_grounds\[csam\]"),
        ({"legal_grounds": {"csam": "see officer@example.org"}}, "personal data"),
        ({"legal_grounds": {"csam": ""}}, "empty"),
        ({"decision_ground_reference_url": "law.example.org"}, "decision_ground_reference_url"),
        ({"automated_detection": True}, "automated_detection"),
        ({"automated_decision": "AUTOMATED_DECISION_SOMEWHAT"}, "automated_decision"),
        ({"puid_prefix": "acme/"}, "puid_prefix"),
        ({"batch_size": 101}, "batch_size"),
    ],
)
def test_bad_options_are_refused_when_made(options: dict[str, Any], fault: str) -> None:
    with pytest.raises(ValueError, match=fault):
        DsaOptions(**options)


def test_a_statement_the_database_would_refuse_is_skipped() -> None:
    old = _report(received_at="1999-12-31T23:00:00Z")
    built = DsaExporter().build(old)
    assert built is not None and validate_statement(built) == {"content_date": "must be on or after 2000-01-01"}
    assert DsaExporter().statement(old) is None
    assert export([old]) == (0, [])


def test_250_reports_make_three_batches() -> None:
    n, batches = export([_report()] * 250)
    assert n == 250 and [len(b["statements"]) for b in batches] == [100, 100, 50]


# --- validate_statement: one test per rule, each from a statement that passes -------------------------

VALID: dict[str, Any] = orjson.loads((DATA / "expected.json").read_bytes())["statements"][0]


def test_the_base_statement_is_valid() -> None:
    assert validate_statement(VALID) == {}


def _without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in VALID.items() if k not in names}


@pytest.mark.parametrize(
    ("statement", "field", "message"),
    [
        (_without("decision_facts"), "decision_facts", "required"),
        (_without("puid"), "puid", "required"),
        (VALID | {"category": None}, "category", "required"),
        (VALID | {"content_type": []}, "content_type", "required"),
        (_without("decision_visibility", "decision_account"), "decision_visibility", "at least one of"),
        (VALID | {"category": "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"}, "category", "unknown code"),
        (VALID | {"category_specification": ["KEYWORD_CSAM"]}, "category_specification", "unknown code"),
        (VALID | {"decision_account": "DECISION_ACCOUNT_GONE"}, "decision_account", "unknown code"),
        (VALID | {"territorial_scope": ["EL"]}, "territorial_scope", "unknown code 'EL'"),
        (VALID | {"territorial_scope": ["CH"]}, "territorial_scope", "unknown code"),
        (VALID | {"content_language": "en"}, "content_language", "unknown code"),
        (VALID | {"content_type": "CONTENT_TYPE_IMAGE"}, "content_type", "list of codes"),
        (VALID | {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, "decision_visibility_other", "required when"),
        (VALID | {"content_type": ["CONTENT_TYPE_OTHER"]}, "content_type_other", "required when"),
        (VALID | {"decision_monetary": "DECISION_MONETARY_OTHER"}, "decision_monetary_other", "required when"),
        (_without("illegal_content_explanation"), "illegal_content_explanation", "required when"),
        (
            VALID | {"decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT"},
            "incompatible_content_ground",
            "required when",
        ),
        (VALID | {"decision_facts": "x" * 5001}, "decision_facts", "longer than 5000"),
        (VALID | {"illegal_content_explanation": "x" * 2001}, "illegal_content_explanation", "longer than 2000"),
        (VALID | {"illegal_content_legal_ground": "x" * 501}, "illegal_content_legal_ground", "longer than 500"),
        (VALID | {"puid": "p" * 501}, "puid", "longer than 500"),
        (VALID | {"puid": "rpt 1"}, "puid", "letters, digits"),
        (VALID | {"content_date": "20/11/2026"}, "content_date", "YYYY-MM-DD"),
        (VALID | {"content_date": "2026-02-30"}, "content_date", "not a calendar date"),
        (VALID | {"content_date": "1999-12-31"}, "content_date", "on or after 2000-01-01"),
        (VALID | {"application_date": "2019-12-31"}, "application_date", "on or after 2020-01-01"),
        (VALID | {"end_date_account_restriction": "2038-01-02"}, "end_date_account_restriction", "on or before"),
        (VALID | {"application_date": "2026-11-25T00:00:00Z"}, "application_date", "YYYY-MM-DD"),
        (VALID | {"automated_detection": False}, "automated_detection", "not a boolean"),
        (VALID | {"automated_detection": "yes"}, "automated_detection", '"Yes" or "No"'),
        (VALID | {"incompatible_content_illegal": True}, "incompatible_content_illegal", "not a boolean"),
        (VALID | {"decision_ground_reference_url": "law.example.org"}, "decision_ground_reference_url", "http(s)"),
        (VALID | {"content_id": {"EAN-13": "123"}}, "content_id", "13 digits"),
        (VALID | {"content_id_ean": "0123456789123"}, "content_id_ean", "not a field"),
        (VALID | {"uploader_email": "x"}, "uploader_email", "personal data field"),
        (VALID | {"ip_address": "x"}, "ip_address", "personal data field"),
        (VALID | {"user_id": "x"}, "user_id", "personal data field"),
        (VALID | {"decision_facts": "Posted by someone@example.org."}, "decision_facts", "e-mail"),
        (VALID | {"decision_facts": "Seen at https://files.example.net/a"}, "decision_facts", "a URL"),
        (VALID | {"decision_facts": "From 198.18.0.7."}, "decision_facts", "an IP address"),
        (VALID | {"decision_facts": "From 2001:db8::7."}, "decision_facts", "an IP address"),
        (VALID | {"source_identity": "Call +31 20 123 4567"}, "source_identity", "a phone number"),
        (VALID | {"decision_facts": "Uploaded by @example_handle."}, "decision_facts", "an account handle"),
    ],
)
def test_validate_statement_rejects_each_rule_violation(statement: dict[str, Any], field: str, message: str) -> None:
    errors = validate_statement(statement)
    assert field in errors and message in errors[field], errors


def test_conditional_fields_whose_condition_is_false_are_dropped_not_refused() -> None:
    assert validate_statement(VALID | {"incompatible_content_ground": "ToS 4.2", "content_type_other": "x"}) == {}


def test_validate_batch_checks_envelope_bounds_and_repeated_puids() -> None:
    assert validate_batch([VALID]) == {"statements": 'the body must be {"statements": [...]}'}
    assert "1 to 100" in validate_batch({"statements": []})["statements"]
    assert "not 101" in validate_batch({"statements": [VALID] * 101})["statements"]
    assert validate_batch({"statements": [VALID, VALID]}) == {"statement_1.puid": "repeats a puid earlier in the batch"}
    assert validate_batch({"statements": [VALID, VALID | {"puid": "b", "category": "X"}]}) == {
        "statement_1.category": "unknown code 'X'"
    }


def test_the_code_lists_match_the_reference_counts() -> None:
    counts = (len(schema.CATEGORIES), len(schema.KEYWORDS), len(schema.LANGUAGES), len(schema.CONTENT_TYPES))
    assert counts == (16, 69, 184, 8)
    assert set(VOCAB.sources.codes()) >= set(DsaOptions().source_types)
