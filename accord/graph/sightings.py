"""What the network needs from one report: when, from whom, where, and the keys of its suspects and media.

Reports reach the graph from two places, a node's store (``accord.model.Report``) and a simulator output
directory (``reports.ndjson``, dicts shaped as ``ReportIn``); both become ``Sighting``s, so the network is
built the same way from either.

Why a cache of identifier keys: building a pydantic ``Identifier`` for each of a million identifiers costs
minutes, and the same few thousand suspects' identifiers recur across reports; the normalised key depends
only on the identifier's fields (not on ``seen_at``), so one model per distinct identifier is enough.
A victim's identifiers are never read: they are sealed and are not part of any network.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from accord.errors import Invalid
from accord.graph.ndjson import objects
from accord.model.identifier import Identifier
from accord.model.report import Report

__all__ = ["Sighting", "from_dict", "from_report", "read_ndjson"]


@dataclass(frozen=True, slots=True)
class Sighting:
    report: str
    at: datetime
    """When the report was received (UTC)."""
    org: str | None
    """The organisation that sent or holds it, where known."""
    country: str | None
    timezone: str | None
    suspects: tuple[tuple[str, ...], ...]
    """Each suspect (or unknown-role) subject's identifier keys, in the report's order."""
    media: tuple[str, ...]
    """``sha256:<hex>`` (or ``md5:``) keys of the media."""
    services: tuple[str, ...] = ()
    """Platforms of the suspects' accounts."""


_FIELDS = ("kind", "value", "service", "region", "instrument", "chain")


class _Keys:
    def __init__(self) -> None:
        self.cache: dict[tuple[Any, ...], str] = {}

    def key(self, ident: Mapping[str, Any], where: str) -> str:
        sig = tuple(ident.get(f) for f in _FIELDS)
        key = self.cache.get(sig)
        if key is None:
            try:
                key = Identifier.model_validate({k: v for k, v in ident.items() if k != "seen_at"}).key
            except ValidationError as exc:
                first = exc.errors()[0]
                raise Invalid.at(where, f"{where}: bad identifier ({first['msg']})") from None
            self.cache[sig] = key
        return key


def _media_key(m: Mapping[str, Any]) -> str | None:
    if m.get("sha256"):
        return f"sha256:{str(m['sha256']).lower()}"
    if m.get("md5"):
        return f"md5:{str(m['md5']).lower()}"
    return None


def from_dict(raw: Mapping[str, Any], where: str = "", org: str | None = None, keys: _Keys | None = None) -> Sighting:
    """A sighting from a ``ReportIn``-shaped dict; a missing time or a bad identifier raises ``Invalid``."""
    keys = keys or _Keys()
    try:
        at = datetime.fromisoformat(str(raw["received_at"]))
    except (KeyError, ValueError):
        raise Invalid.at(f"{where}/received_at", f"{where}: received_at is missing or not ISO 8601") from None
    if at.tzinfo is None:
        raise Invalid.at(f"{where}/received_at", f"{where}: received_at needs a time zone")
    suspects: list[tuple[str, ...]] = []
    services: list[str] = []
    for s, subject in enumerate(raw.get("subjects") or ()):
        if subject.get("role") == "victim":
            continue
        ids = []
        for i, ident in enumerate(subject.get("identifiers") or ()):
            ids.append(keys.key(ident, f"{where}/subjects/{s}/identifiers/{i}"))
            if ident.get("kind") == "account" and ident.get("service"):
                services.append(str(ident["service"]).casefold())
        if ids:
            suspects.append(tuple(dict.fromkeys(ids)))
    location = raw.get("location") or {}
    media = [k for k in (_media_key(m) for m in raw.get("media") or ()) if k]
    return Sighting(
        report=str(raw.get("external_id") or raw.get("id") or where),
        at=at.astimezone(UTC),
        org=org,
        country=location.get("country"),
        timezone=location.get("timezone"),
        suspects=tuple(suspects),
        media=tuple(dict.fromkeys(media)),
        services=tuple(dict.fromkeys(services)),
    )


def from_report(report: Report) -> Sighting:
    """A sighting from a stored report (its victims are already sealed away)."""
    suspects = tuple(tuple(dict.fromkeys(i.key for i in s.identifiers)) for s in report.subjects if s.role != "victim")
    services = [
        i.service.casefold() for s in report.subjects for i in s.identifiers if i.service and s.role != "victim"
    ]
    media = [k for k in (_media_key({"sha256": m.sha256, "md5": m.md5}) for m in report.media) if k]
    return Sighting(
        report=report.id,
        at=report.received_at.astimezone(UTC),
        org=report.org_id,
        country=report.location.country,
        timezone=report.location.timezone,
        suspects=tuple(s for s in suspects if s),
        media=tuple(dict.fromkeys(media)),
        services=tuple(dict.fromkeys(services)),
    )


def read_ndjson(path: Path, senders: Mapping[str, str] | None = None) -> Iterator[Sighting]:
    """Sightings from a ``reports.ndjson`` file; ``senders`` maps external ids to organisations (a simulated
    world's ``truth.json`` ``submitted_by``). A bad line raises ``Invalid`` naming the file and line."""
    keys = _Keys()
    for lineno, raw in objects(path):
        org = senders.get(str(raw.get("external_id"))) if senders else None
        yield from_dict(raw, f"{path.name}:{lineno}", org, keys)
