"""One timeline per case or entity from the events several organisations hold: reports, logins,
messages, payments, takedowns.

Times are normalised to UTC and each event keeps the offset its source wrote (``offset``), because the
local time is itself evidence (a login at 03:00 local time). A time without an offset is refused: guessing
the source's zone would place the event hours off without anyone knowing.

Clock disagreements: when two sources report the same event (the same ``ref``, such as a message id or a
takedown ticket, or, without one, the same kind of event on the same identifiers within ``match_window``)
and their times differ by more than ``tolerance``, the timeline flags it with the spread, so an analyst
knows which source's clock to distrust before ordering events that are close together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from accord.errors import Invalid
from accord.graph.money import Transfer
from accord.graph.sightings import Sighting

__all__ = ["Disagreement", "Event", "Timeline", "build_timeline", "event_from", "from_sightings", "from_transfers"]


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    """UTC."""
    offset: str
    """The offset the source gave, ``+HH:MM``."""
    kind: str
    source: str
    """The organisation (or system) that reported it."""
    keys: tuple[str, ...]
    """Identifier keys the event is about."""
    ref: str | None = None
    detail: str = ""


def _offset(at: datetime) -> str:
    off = at.utcoffset() or timedelta(0)
    sign = "-" if off < timedelta(0) else "+"
    minutes = abs(int(off.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def event_from(raw: Mapping[str, Any], where: str = "") -> Event:
    """An event from a dict: ``at`` (ISO 8601 with offset), ``kind``, ``source``, ``keys`` and optional
    ``ref`` and ``detail``; a bad one raises ``Invalid`` naming ``where`` and the field."""
    value = raw.get("at")
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None:
        raise Invalid.at(f"{where}/at", f"{where}: 'at' is missing or not ISO 8601")
    if at.tzinfo is None:
        raise Invalid.at(f"{where}/at", f"{where}: 'at' has no time zone offset ({value})")
    for name in ("kind", "source"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise Invalid.at(f"{where}/{name}", f"{where}: '{name}' is missing")
    keys = raw.get("keys") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise Invalid.at(f"{where}/keys", f"{where}: 'keys' must be a list of identifier keys")
    ref = raw.get("ref")
    return Event(
        at.astimezone(UTC),
        _offset(at),
        raw["kind"],
        raw["source"],
        tuple(keys),
        str(ref) if ref else None,
        str(raw.get("detail") or ""),
    )


def from_sightings(sightings: Iterable[Sighting]) -> list[Event]:
    return [
        Event(
            s.at,
            "+00:00",
            "report",
            s.org or "unknown",
            tuple(k for subject in s.suspects for k in subject),
            s.report,
            f"{len(s.suspects)} suspect(s), {len(s.media)} media",
        )
        for s in sightings
    ]


def from_transfers(transfers: Iterable[Transfer]) -> list[Event]:
    return [
        Event(
            t.at,
            "+00:00",
            "payment",
            t.rail or "ledger",
            (t.source, t.target),
            t.id,
            f"{t.amount:g} {t.currency} (EUR {t.eur:.2f})",
        )
        for t in transfers
    ]


@dataclass(frozen=True, slots=True)
class Disagreement:
    kind: str
    ref: str | None
    keys: tuple[str, ...]
    times: tuple[tuple[str, datetime], ...]
    """Each source and the UTC time it gave."""

    @property
    def spread(self) -> timedelta:
        ts = [t for _, t in self.times]
        return max(ts) - min(ts)


@dataclass(frozen=True, slots=True)
class Timeline:
    subject: str
    events: tuple[Event, ...]
    disagreements: tuple[Disagreement, ...]


def build_timeline(
    events: Iterable[Event],
    *,
    subject: str = "all",
    keys: Iterable[str] | None = None,
    entity_of: Mapping[str, str] | None = None,
    tolerance: timedelta = timedelta(minutes=5),
    match_window: timedelta = timedelta(hours=1),
) -> Timeline:
    """The events about ``keys`` (any of them), or about entity ``subject`` when ``entity_of`` maps keys to
    entities, or all of them, in UTC order, with the clock disagreements among them."""
    wanted = set(keys) if keys is not None else None
    picked = []
    for e in events:
        if wanted is not None and not wanted.intersection(e.keys):
            continue
        if entity_of is not None and not any(entity_of.get(k, k) == subject for k in e.keys):
            continue
        picked.append(e)
    picked.sort(key=lambda e: (e.at, e.kind, e.source))
    groups: dict[tuple[str, Any], list[Event]] = {}
    for e in picked:
        groups.setdefault((e.kind, e.ref) if e.ref else (e.kind, tuple(sorted(e.keys))), []).append(e)
    found: list[Disagreement] = []
    for (kind, ident), group in groups.items():
        by_ref = isinstance(ident, str)
        clusters = [group] if by_ref else _clusters(group, match_window)
        for cluster in clusters:
            if len({e.source for e in cluster}) < 2:
                continue
            if cluster[-1].at - cluster[0].at > tolerance:
                found.append(
                    Disagreement(
                        kind, ident if by_ref else None, cluster[0].keys, tuple((e.source, e.at) for e in cluster)
                    )
                )
    found.sort(key=lambda d: (d.times[0][1], d.kind))
    return Timeline(subject, tuple(picked), tuple(found))


def _clusters(group: list[Event], window: timedelta) -> list[list[Event]]:
    """Events of one kind on the same keys, split where two consecutive ones are more than ``window`` apart."""
    out: list[list[Event]] = [[group[0]]]
    for e in group[1:]:
        if e.at - out[-1][-1].at > window:
            out.append([e])
        else:
            out[-1].append(e)
    return out
