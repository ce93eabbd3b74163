"""The published report schema: it matches the model and vocabularies, and it agrees with the API."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
from fastapi.testclient import TestClient
from hypothesis import given, settings

from accord.intake.schema import report_schema
from accord.vocab import load
from tests.conftest import report_json
from tests.intake.strategies import report_doc

SCHEMA = report_schema(load())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def test_committed_copy_is_current() -> None:
    """Refresh it with: python -m accord.intake.schema"""
    committed = json.loads(resources.files("accord.intake").joinpath("schemas/report.json").read_text())
    assert committed == SCHEMA


def test_schema_is_valid_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@settings(max_examples=80, deadline=None)
@given(report_doc)
def test_every_report_the_api_accepts_is_valid_per_schema(doc: dict[str, object]) -> None:
    VALIDATOR.validate(doc)


def test_schema_refuses_what_the_api_refuses() -> None:
    for bad in (
        report_json(incident_type="not-a-code"),
        report_json(extra_field=1),
        report_json(urgency=["never-heard-of"]),
        report_json(location={"country": "XX"}),
        report_json(received_at=1700000000),
    ):
        assert not VALIDATOR.is_valid(bad), bad


def test_served_at_v1_schemas(client: TestClient) -> None:
    res = client.get("/v1/schemas/report.json")
    assert res.status_code == 200
    assert res.json() == SCHEMA
