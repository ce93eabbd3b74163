"""Load and check the YAML vocabularies in this package."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from accord.errors import Invalid

__all__ = ["Term", "Vocabularies", "Vocabulary", "load"]

NAMES = ("categories", "urgency", "markings", "legal_bases", "jurisdictions", "sources", "retention", "purposes")


@dataclass(frozen=True)
class Term:
    code: str
    label: str
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Vocabulary:
    name: str
    version: int
    terms: dict[str, Term]

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self.terms and not self.terms[code].attrs.get("retired")

    def check(self, code: str, pointer: str) -> str:
        """Return ``code`` if known and current, else raise Invalid naming the field."""
        if code not in self:
            raise Invalid.at(pointer, f"unknown {self.name} code {code!r} (vocabulary {self.name} v{self.version})")
        return code

    def codes(self) -> list[str]:
        return [c for c in self.terms if c in self]


@dataclass(frozen=True)
class Vocabularies:
    categories: Vocabulary
    urgency: Vocabulary
    markings: Vocabulary
    legal_bases: Vocabulary
    jurisdictions: Vocabulary
    sources: Vocabulary
    retention: Vocabulary
    purposes: Vocabulary

    def versions(self) -> dict[str, int]:
        return {n: getattr(self, n).version for n in NAMES}


def _parse(name: str, text: str) -> Vocabulary:
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or type(doc.get("version")) is not int or not isinstance(doc.get("codes"), dict):
        raise ValueError(f"vocabulary {name}: needs an integer 'version' and a 'codes' mapping")
    terms: dict[str, Term] = {}
    for code, spec in doc["codes"].items():
        if not isinstance(code, str):
            # YAML reads an unquoted NO as false and 01 as 1: quote such codes
            raise ValueError(f"vocabulary {name}: code {code!r} is not a string (quote it in the YAML)")
        if isinstance(spec, str):
            terms[str(code)] = Term(str(code), spec)
        elif isinstance(spec, dict) and isinstance(spec.get("label"), str):
            attrs = {k: v for k, v in spec.items() if k != "label"}
            terms[str(code)] = Term(str(code), spec["label"], attrs)
        else:
            raise ValueError(f"vocabulary {name}: code {code!r} needs a label")
    return Vocabulary(name, doc["version"], terms)


@cache
def load() -> Vocabularies:
    """The packaged vocabularies (read once per process)."""
    root = resources.files("accord.vocab")
    loaded = {n: _parse(n, (root / f"{n}.yaml").read_text(encoding="utf-8")) for n in NAMES}
    return Vocabularies(**loaded)
