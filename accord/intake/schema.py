"""The published JSON Schema of a report submission, versioned, with the vocabularies' codes as enums.

Why generate it from the model: the model is what the API enforces, so the schema can never promise
something the API refuses (or the reverse). The codes come from the loaded vocabularies, so a client
can check a report offline, codes included. A committed copy (``schemas/report.json``) is what docs
and partners pin; a test fails when the model or a vocabulary changes and the copy was not refreshed.
"""

from __future__ import annotations

from typing import Any

from accord.model.report import ReportIn
from accord.vocab import Vocabularies

__all__ = ["SCHEMA_ID", "SCHEMA_VERSION", "report_schema"]

SCHEMA_VERSION = 1
SCHEMA_ID = f"urn:accord:schema:report:v{SCHEMA_VERSION}"


def report_schema(vocab: Vocabularies) -> dict[str, Any]:
    schema = ReportIn.model_json_schema(mode="validation")
    props = schema["properties"]
    props["source"]["enum"] = vocab.sources.codes()
    props["incident_type"]["enum"] = vocab.categories.codes()
    props["marking"]["enum"] = vocab.markings.codes()
    props["urgency"]["items"]["enum"] = vocab.urgency.codes()
    schema["$defs"]["Identifier"]["properties"]["normalised"]["readOnly"] = True  # derived on intake
    location = schema["$defs"]["Location"]["properties"]["country"]
    location["anyOf"][0]["enum"] = vocab.jurisdictions.codes()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Accord report submission",
        "description": (
            f"Schema version {SCHEMA_VERSION}; vocabularies "
            + ", ".join(f"{k} v{v}" for k, v in vocab.versions().items())
            + ". One object per report; bulk files are NDJSON, one object per line."
        ),
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


if __name__ == "__main__":  # refresh the committed copy: python -m accord.intake.schema
    import json
    from pathlib import Path

    from accord.vocab import load

    target = Path(__file__).parent / "schemas" / "report.json"
    target.write_text(json.dumps(report_schema(load()), indent=2, sort_keys=True) + "\n")
    print(f"wrote {target}")
