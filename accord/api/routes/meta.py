"""Health and vocabularies: what a client needs before it can send anything valid."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from accord.api.deps import NodeDep

router = APIRouter(tags=["meta"])


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/v1/vocabularies")
def vocabularies(node: NodeDep) -> dict[str, Any]:
    """Every vocabulary with its version and current codes (public: codes are not sensitive)."""
    v = node.vocab
    out: dict[str, Any] = {}
    for name, version in v.versions().items():
        voc = getattr(v, name)
        out[name] = {"version": version, "codes": {c: voc.terms[c].label for c in voc.codes()}}
    return out
