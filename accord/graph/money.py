"""Money flows: transfers between payment instruments as a time-ordered graph, traced forwards from an
instrument to where its money went and backwards to where it came from.

Why a haircut trace in one pass over time: money cannot leave an account before it arrived, so a trace
walks the transfers in time order (backwards: in reverse) and carries a traced balance per instrument. A
transfer out of a traced instrument carries at most what has arrived there by then (times ``1 +
tolerance``, which allows for rounding and conversion differences), so amounts are conserved, a transfer
that left before the money came is never followed, and a cycle of payments ends when the traced money is
spent instead of looping. Cost: O(T) per trace for T transfers.

Amounts are compared in euros at the rate of the transfer's date (``accord.graph.rates``). A transfer
without a currency raises ``Invalid`` naming it; a currency or date the table cannot price raises
``Invalid`` too unless ``skip_unpriced`` is set, when it is left out and counted (``Ledger.skipped``).
Transfers may arrive in any order: they are sorted by time (ties keep input order) and the number listed
after a later one is kept (``Ledger.reordered``). A transfer from an instrument to itself is dropped and
counted (``Ledger.self_transfers``): it moves nothing.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from accord.errors import Invalid
from accord.graph.rates import Rates

__all__ = [
    "Flow",
    "Ledger",
    "Pattern",
    "Trace",
    "Transfer",
    "aggregate",
    "build_ledger",
    "patterns",
    "trace_backward",
    "trace_forward",
]


@dataclass(frozen=True, slots=True)
class Transfer:
    id: str
    at: datetime
    """UTC."""
    source: str
    """Identifier key of the paying instrument."""
    target: str
    amount: float
    currency: str
    eur: float
    """``amount`` in euros at the rate of ``at``'s date."""
    rail: str | None = None
    source_country: str | None = None
    target_country: str | None = None


@dataclass(frozen=True, slots=True)
class Ledger:
    transfers: tuple[Transfer, ...]
    """In time order."""
    skipped: int = 0
    reordered: int = 0
    self_transfers: int = 0

    @property
    def instruments(self) -> frozenset[str]:
        return frozenset(k for t in self.transfers for k in (t.source, t.target))


def _time(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            raise Invalid.at(f"{where}/at", f"transfer {where}: 'at' is not an ISO 8601 time: {value[:40]!r}") from None
    else:
        raise Invalid.at(f"{where}/at", f"transfer {where}: 'at' is missing")
    if at.tzinfo is None:
        raise Invalid.at(f"{where}/at", f"transfer {where}: 'at' needs a time zone offset")
    return at.astimezone(UTC)


def build_ledger(records: Iterable[Mapping[str, Any]], rates: Rates, *, skip_unpriced: bool = False) -> Ledger:
    """Transfers from dicts (``id, at, from, to, amount, currency`` and optional ``rail, from_country,
    to_country``), priced in euros; bad ones raise ``Invalid`` naming the transfer and the field."""
    out: list[Transfer] = []
    skipped = reordered = loops = 0
    last: datetime | None = None
    for i, r in enumerate(records):
        tid = str(r.get("id") or f"#{i}")
        where = f"/transfers/{i}"
        at = _time(r.get("at"), where)
        if last is not None and at < last:
            reordered += 1
        last = at if last is None or at > last else last
        source, target = r.get("from"), r.get("to")
        if not isinstance(source, str) or not source or not isinstance(target, str) or not target:
            raise Invalid.at(f"{where}/from", f"transfer {tid}: needs 'from' and 'to' instruments")
        amount = r.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount) or amount <= 0:
            raise Invalid.at(f"{where}/amount", f"transfer {tid}: 'amount' must be a positive number")
        currency = r.get("currency")
        if not isinstance(currency, str) or not currency.strip():
            raise Invalid.at(f"{where}/currency", f"transfer {tid}: has no currency")
        eur = rates.to_eur(float(amount), currency.strip(), at.date())
        if eur is None:
            if skip_unpriced:
                skipped += 1
                continue
            raise Invalid.at(
                f"{where}/currency", f"transfer {tid}: no rate for {currency} on or shortly before {at.date()}"
            )
        if source == target:
            loops += 1
            continue
        out.append(
            Transfer(
                tid, at, source, target, float(amount), currency.strip().upper(), eur,
                r.get("rail"), r.get("from_country"), r.get("to_country"),
            )
        )  # fmt: skip
    out.sort(key=lambda t: t.at)  # stable: ties keep input order
    return Ledger(tuple(out), skipped, reordered, loops)


@dataclass(slots=True)
class Trace:
    """What a trace reached: euros traced into each instrument and the transfers that carried them."""

    origin: str
    direction: str
    reached: dict[str, float] = field(default_factory=dict)
    carried: dict[str, float] = field(default_factory=dict)
    """Transfer id to the euros of the traced money it carried."""
    hops: dict[str, int] = field(default_factory=dict)
    """Instrument to the number of transfers between it and the origin (fewest)."""


def _trace(ledger: Ledger, origin: str, forward: bool, tolerance: float, since: datetime | None) -> Trace:
    trace = Trace(origin, "forward" if forward else "backward")
    balance: dict[str, float] = defaultdict(float)
    hops = trace.hops
    hops[origin] = 0
    order = ledger.transfers if forward else reversed(ledger.transfers)
    slack = 1.0 + tolerance
    for t in order:
        if since is not None and (t.at < since if forward else t.at > since):
            continue
        here, there = (t.source, t.target) if forward else (t.target, t.source)
        if here == origin:
            amount = t.eur  # everything the origin sends (receives, backwards) is traced
        else:
            have = balance.get(here, 0.0)
            if have <= 0.0:
                continue
            amount = min(t.eur, have * slack)
            balance[here] = max(0.0, have - amount)
        if there == origin:
            continue  # money coming back to where the trace starts is not traced twice
        balance[there] += amount
        trace.reached[there] = trace.reached.get(there, 0.0) + amount
        trace.carried[t.id] = amount
        if there not in hops or hops[there] > hops[here] + 1:
            hops[there] = hops[here] + 1
    return trace


def trace_forward(ledger: Ledger, origin: str, *, tolerance: float = 0.02, since: datetime | None = None) -> Trace:
    """Where the money ``origin`` sent (from ``since`` on) went."""
    return _trace(ledger, origin, True, tolerance, since)


def trace_backward(ledger: Ledger, origin: str, *, tolerance: float = 0.02, until: datetime | None = None) -> Trace:
    """Where the money ``origin`` received (up to ``until``) came from."""
    return _trace(ledger, origin, False, tolerance, until)


@dataclass(frozen=True, slots=True)
class Flow:
    source: str
    target: str
    transfers: int
    eur: float


def aggregate(ledger: Ledger, group: Callable[[Transfer, bool], str | None]) -> list[Flow]:
    """Total flows between groups; ``group(transfer, is_source)`` names a side's group (None: left out).
    Largest first. Flows within a group are kept (source == target)."""
    sums: dict[tuple[str, str], list[float]] = {}
    for t in ledger.transfers:
        a, b = group(t, True), group(t, False)
        if a is None or b is None:
            continue
        acc = sums.setdefault((a, b), [0, 0.0])
        acc[0] += 1
        acc[1] += t.eur
    flows = [Flow(a, b, int(n), round(eur, 2)) for (a, b), (n, eur) in sums.items()]
    flows.sort(key=lambda f: (-f.eur, f.source, f.target))
    return flows


@dataclass(frozen=True, slots=True)
class Pattern:
    kind: str
    """``fan-in``, ``fan-out`` or ``pass-through``."""
    instrument: str
    at: datetime
    """When the pattern completed (the last transfer of the window)."""
    counterparts: int
    eur_in: float
    eur_out: float
    transfers: tuple[str, ...]


def patterns(
    ledger: Ledger,
    *,
    fan: int = 5,
    window: timedelta = timedelta(days=7),
    pass_window: timedelta = timedelta(hours=48),
    similarity: float = 0.1,
) -> list[Pattern]:
    """Fan-in (``fan`` or more distinct senders to one instrument within ``window``), fan-out (to ``fan`` or
    more recipients) and rapid pass-through (an outgoing transfer within ``pass_window`` after incoming
    ones whose euro sum it matches within ``similarity``). One pattern per instrument and kind per window."""
    ins: dict[str, list[Transfer]] = defaultdict(list)
    outs: dict[str, list[Transfer]] = defaultdict(list)
    for t in ledger.transfers:
        ins[t.target].append(t)
        outs[t.source].append(t)
    found: list[Pattern] = []
    for kind, lists, other in (("fan-in", ins, "source"), ("fan-out", outs, "target")):
        for inst, ts in lists.items():
            lo = 0
            flagged_until: datetime | None = None
            for hi, t in enumerate(ts):
                while t.at - ts[lo].at > window:
                    lo += 1
                part = ts[lo : hi + 1]
                parties = {getattr(x, other) for x in part}
                if len(parties) >= fan and (flagged_until is None or part[0].at > flagged_until):
                    total = sum(x.eur for x in part)
                    found.append(
                        Pattern(
                            kind, inst, t.at, len(parties),
                            round(total, 2) if kind == "fan-in" else 0.0,
                            round(total, 2) if kind == "fan-out" else 0.0,
                            tuple(x.id for x in part),
                        )
                    )  # fmt: skip
                    flagged_until = t.at
    for inst, out_list in outs.items():
        incoming = ins.get(inst, [])
        times = [x.at for x in incoming]
        for t in out_list:
            recent = incoming[bisect.bisect_left(times, t.at - pass_window) : bisect.bisect_right(times, t.at)]
            total = sum(x.eur for x in recent)
            if recent and abs(total - t.eur) <= similarity * max(total, t.eur):
                found.append(
                    Pattern(
                        "pass-through", inst, t.at, len({x.source for x in recent}),
                        round(total, 2), round(t.eur, 2), (*(x.id for x in recent), t.id),
                    )
                )  # fmt: skip
    found.sort(key=lambda p: (p.at, p.kind, p.instrument))
    return found
