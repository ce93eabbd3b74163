"""Health and vocabularies: what a client needs before it can send anything valid."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Response

from accord.api.deps import NodeDep
from accord.intake.schema import report_schema

router = APIRouter(tags=["meta"])


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/v1/schemas/report.json", response_class=Response)
def report_schema_document(node: NodeDep) -> Response:
    """The JSON Schema (2020-12) of a report submission, vocabulary codes included (public)."""
    return Response(orjson.dumps(report_schema(node.vocab)), media_type="application/schema+json")


@router.get("/v1/vocabularies")
def vocabularies(node: NodeDep) -> dict[str, Any]:
    """Every vocabulary with its version and current codes (public: codes are not sensitive)."""
    v = node.vocab
    out: dict[str, Any] = {}
    for name, version in v.versions().items():
        voc = getattr(v, name)
        out[name] = {"version": version, "codes": {c: voc.terms[c].label for c in voc.codes()}}
    return out
