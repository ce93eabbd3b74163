"""A literal's text as rdflib gives it, so that both readers hand the report builder the same strings."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from rdflib import Literal

__all__ = ["NORMALISED", "XSD", "lexical"]

XSD = "http://www.w3.org/2001/XMLSchema#"
NORMALISED = frozenset({XSD + "dateTime", XSD + "hexBinary"})  # lexical's own: it cannot fail on a string
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")


def lexical(value: Any, datatype: str | None) -> str:
    """A literal's text as rdflib gives it. rdflib normalises the known datatypes (``...Z`` is
    ``...+00:00``, ``"0012"^^xsd:integer`` is ``12``): a typed literal goes through its ``Literal``,
    but for the two our export writes on every report, the same normalisation done here (a test
    holds it to ``Literal``'s)."""
    if datatype is not None:
        if isinstance(value, str):
            if datatype == XSD + "dateTime":
                try:
                    return datetime.fromisoformat(value).isoformat()  # what rdflib does on Python 3.11+
                except ValueError:
                    pass
            elif datatype == XSD + "hexBinary" and _HEX.fullmatch(value):
                return value.lower()
        return str(Literal(value, datatype=datatype))
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
