"""Identifier records: what entity resolution compares, one record per suspect (or unknown) subject of a
report, that is one observation of an account and whatever else the sender saw with it.

Why one record per subject and not per identifier: a subject's identifiers were seen together, so they
already belong to one person; resolution only has to decide which observations belong together.

Values are normalised here, before any comparison, so that the resolver compares like with like:

* handles are folded (``fold_handle``): NFKC, case-folded, Cyrillic transliterated to Latin when the handle is
  written in Cyrillic, look-alike letters mapped to the Latin letter they imitate when it mixes scripts
  (UTS #39's "mixed-script confusable"), separators dropped;
* e-mail addresses are case-folded; ``email_local`` also drops a ``+tag`` and dots, which many providers
  ignore;
* phones, IPs, devices and payment instruments are reduced to their ``Identifier.key``.

An identifier that is not in a known format (an unknown kind, a phone number that does not parse) is not
compared: it is counted in ``RecordSet.unparsed`` and kept out of the record, never a crash and never a
guess. A subject left with nothing to compare yields no record.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from accord.errors import Invalid
from accord.graph.ndjson import objects
from accord.simulate.identifiers import identifier_key

__all__ = [
    "IdentityRecord",
    "RecordSet",
    "email_local",
    "fold_handle",
    "read_world",
    "records_from_report",
]

# Cyrillic to Latin for a handle written in Cyrillic (a simplified BGN/PCGN romanisation).
_TRANSLIT = {
    "\u0430": "a", "\u0431": "b", "\u0432": "v", "\u0433": "g", "\u0434": "d", "\u0435": "e",
    "\u0451": "e", "\u0436": "zh", "\u0437": "z", "\u0438": "i", "\u0439": "i", "\u043a": "k",
    "\u043b": "l", "\u043c": "m", "\u043d": "n", "\u043e": "o", "\u043f": "p", "\u0440": "r",
    "\u0441": "s", "\u0442": "t", "\u0443": "u", "\u0444": "f", "\u0445": "kh", "\u0446": "ts",
    "\u0447": "ch", "\u0448": "sh", "\u0449": "shch", "\u044a": "", "\u044b": "y", "\u044c": "",
    "\u044d": "e", "\u044e": "yu", "\u044f": "ya", "\u0456": "i", "\u0457": "i", "\u0454": "e",
    "\u0491": "g", "\u0455": "dz", "\u0458": "j",
}  # fmt: skip
# Letters that imitate Latin ones, for a handle that mixes scripts: here Cyrillic er is the Latin "p" it looks
# like. Escapes, not literal letters: the point is that they look the same.
_CONFUSABLE = {
    "\u0430": "a", "\u0432": "b", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c",
    "\u0443": "y", "\u0445": "x", "\u0456": "i", "\u0455": "s", "\u0458": "j", "\u043a": "k",
    "\u043c": "m", "\u043d": "h", "\u0442": "t", "\u0501": "d", "\u04bb": "h", "\u04cf": "l",
    "\u051b": "q", "\u051d": "w", "\u03b1": "a", "\u03bf": "o", "\u03c1": "p", "\u03bd": "v",
    "\u03b9": "i", "\u03ba": "k", "\u03c4": "t", "\u03c5": "u", "\u03c7": "x", "\u03b5": "e",
}  # fmt: skip
_SEPARATORS = re.compile(r"[\s._\-]+")


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """One observation of a subject: the fields entity resolution compares (``None`` where not seen)."""

    record_id: str
    """``<report>/<subject index>``: stable, so an analyst's decision can name it."""
    org: str
    """The organisation holding the report (the sender, for a simulator world)."""
    time: int
    """When the report was received, seconds since the epoch (UTC)."""
    service: str | None = None
    handle: str | None = None
    """The handle as reported (NFKC), for display and for the exact account key."""
    handle_fold: str | None = None
    email: str | None = None
    email_local: str | None = None
    phone: str | None = None
    ip: str | None = None
    ip_time: int | None = None
    """When the IP address was seen (its ``seen_at``, else the report's time)."""
    device: str | None = None
    payment: str | None = None
    keys: tuple[str, ...] = ()
    """Every ``Identifier.key`` of the subject (the exact-identifier baseline joins on these)."""


@dataclass(slots=True)
class RecordSet:
    records: list[IdentityRecord] = field(default_factory=list)
    truth: dict[str, str] = field(default_factory=dict)
    """Record id to the true person, when read from a simulator world."""
    unparsed: int = 0
    """Identifiers left out because their kind or format is unknown."""
    empty: int = 0
    """Subjects with no identifier left to compare (no record made)."""


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def fold_handle(value: str) -> str:
    """The handle reduced to what a person would read: see the module docstring."""
    text = unicodedata.normalize("NFKC", value).casefold()
    scripts = {_script(c) for c in text if c.isalpha()}
    if len(scripts) > 1:
        text = "".join(_CONFUSABLE.get(c, c) for c in text)
    elif scripts & {"CYRILLIC", "GREEK"}:
        text = "".join(_TRANSLIT.get(c, _CONFUSABLE.get(c, c)) for c in text)
    return _SEPARATORS.sub("", text)


def email_local(address: str) -> str:
    """The local part without ``+tag`` and dots: ``Ka.Bo+x1@example.com`` -> ``kabo``."""
    local = address.rsplit("@", 1)[0]
    return local.split("+", 1)[0].replace(".", "")


def _epoch(value: Any) -> int | None:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value).timestamp())
        except ValueError:
            return None
    return None


def records_from_report(
    report_key: str, org: str, received_at: Any, subjects: Iterable[Mapping[str, Any]], out: RecordSet
) -> int:
    """Append the records of one report's suspect and unknown subjects to ``out``; return how many.

    ``subjects`` are in the report's JSON shape (``{"role", "identifiers": [{"kind", "value", ...}]}``).
    Victims are skipped: they are not whom resolution is for, and their identifiers are sealed anyway.
    """
    t = _epoch(received_at)
    if t is None:
        raise Invalid.at("received_at", f"report {report_key}: received_at is not an ISO 8601 time")
    made = 0
    for i, subject in enumerate(subjects):
        if subject.get("role", "unknown") == "victim":
            continue
        fields: dict[str, Any] = {}
        keys: list[str] = []
        for ident in subject.get("identifiers") or ():
            try:
                key = identifier_key(ident)
            except (ValueError, KeyError, TypeError, AttributeError):
                out.unparsed += 1
                continue
            keys.append(key)
            kind, _, norm = key.partition(":")
            if kind == "account" and "handle" not in fields:
                service, _, handle = norm.partition("/")
                fields.update(service=service, handle=handle, handle_fold=fold_handle(handle) or None)
            elif kind == "email" and "email" not in fields:
                fields.update(email=norm, email_local=email_local(norm))
            elif kind == "ip" and "ip" not in fields:
                fields.update(ip=norm, ip_time=_epoch(ident.get("seen_at")) or t)
            elif kind in ("phone", "device", "payment") and kind not in fields:
                fields[kind] = norm
        if not keys:
            out.empty += 1
            continue
        out.records.append(IdentityRecord(f"{report_key}/{i}", org, t, keys=tuple(keys), **fields))
        made += 1
    return made


def read_world(directory: Path, limit: int | None = None) -> RecordSet:
    """Records and their true people from a simulator world (``reports.ndjson`` and ``truth.json``).

    ``limit`` stops after that many records (for scale runs on part of a world).
    """
    reports_path, truth_path = directory / "reports.ndjson", directory / "truth.json"
    for path in (reports_path, truth_path):
        if not path.is_file():
            raise Invalid.at("", f"{path}: no such file (run accord simulate --out {directory})")
    truth = orjson.loads(truth_path.read_bytes())
    about: dict[str, list[str]] = truth.get("reports", {})
    senders: dict[str, str] = truth.get("submitted_by", {})
    out = RecordSet()
    for line_no, report in objects(reports_path):
        eid = report.get("external_id")
        if not isinstance(eid, str):
            raise Invalid.at("external_id", f"{reports_path}:{line_no}: a simulated report needs an external_id")
        before = len(out.records)
        records_from_report(eid, senders.get(eid, ""), report.get("received_at"), report.get("subjects", ()), out)
        people = about.get(eid, [])
        for record in out.records[before:]:
            index = int(record.record_id.rsplit("/", 1)[1])
            if index < len(people):
                out.truth[record.record_id] = people[index]
        if limit is not None and len(out.records) >= limit:
            del out.records[limit:]
            break
    return out
