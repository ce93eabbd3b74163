"""Money transfers along the planted money chains, with unrelated transfers around them as noise.

Each chain runs in rounds while its network is active: some of the payers pay the facilitator (cards and
bank accounts into the facilitator's first instrument, wallets into its wallet), and within hours to a
day and a half the facilitator forwards what came in, less a small fee, to its wallet and on to the
organiser's wallet (converted at the day's rate where the currency changes). Noise transfers run between
instruments held by people outside the chains, and a tenth of them touch a chain's instrument, so that a
trace has something to get wrong.

Why a separate stream and file: reports carry no amounts, and ``reports.ndjson`` and ``truth.json`` must
stay byte-identical for a seed; the transfers draw from their own random stream
(``accord.simulate:{seed}:transfers``) and go to ``transfers.ndjson``. The truth of the chains is already
in ``truth.json`` (``money_chains`` and the holders in ``identifiers``).

A transfer: ``{"id", "at" (UTC, Z), "from", "to" (identifier keys), "amount", "currency", "rail",
"from_country", "to_country"}``, in order of ``at``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from accord.graph.rates import Rates, shipped
from accord.simulate.identifiers import identifier_key
from accord.simulate.world import Person, World

__all__ = ["CURRENCIES", "stream_transfers"]

CURRENCIES = {
    "GB": "GBP", "US": "USD", "PL": "PLN", "UA": "UAH", "RO": "RON", "SE": "SEK", "RU": "RUB", "CA": "CAD",
    "BR": "BRL", "MX": "MXN", "PH": "PHP", "IN": "INR", "TH": "THB", "AU": "AUD", "NG": "NGN", "KE": "KES",
    "ZA": "ZAR", "CZ": "CZK",
}  # fmt: skip
"""Currency by country; the rest of the simulator's countries use the euro."""
_COINS = {"bitcoin": "BTC", "ethereum": "ETH"}

Json = dict[str, Any]


class _Instrument:
    __slots__ = ("country", "currency", "key", "rail")

    def __init__(self, key: str, currency: str, country: str, rail: str) -> None:
        self.key, self.currency, self.country, self.rail = key, currency, country, rail


def _instruments(world: World, p: Person) -> dict[str, _Instrument]:
    country = world.countries[p.country].code
    out: dict[str, _Instrument] = {}
    for ident in p.payments:
        key = identifier_key(ident)
        if key in out:
            continue
        kind = ident["instrument"]
        if kind == "wallet":
            out[key] = _Instrument(key, _COINS[ident["chain"].casefold()], country, "crypto")
        else:
            out[key] = _Instrument(
                key, CURRENCIES.get(country, "EUR"), country, "card" if kind == "card-token" else "bank"
            )
    return out


def stream_transfers(world: World, rates: Rates | None = None) -> Iterator[Json]:
    """The world's transfers in time order; the same world gives the same transfers."""
    rates = rates or shipped()
    rng = random.Random(f"accord.simulate:{world.seed}:transfers")
    held: dict[int, dict[str, _Instrument]] = {}

    def of(person: int) -> dict[str, _Instrument]:
        if person not in held:
            held[person] = _instruments(world, world.people[person])
        return held[person]

    events: list[tuple[int, Json]] = []  # (seconds into the window, transfer without id)
    seconds = world.days * 86400

    def add(t: int, src: _Instrument, dst: _Instrument, eur: float) -> float | None:
        """Record a transfer worth ``eur`` euros, in the sender's currency; None when the day is unpriced."""
        day = (world.start + timedelta(seconds=t)).date()
        rate = rates.eur_per_unit(src.currency, day)
        if rate is None or t >= seconds:
            return None
        digits = 8 if src.rail == "crypto" else 2
        amount = round(eur / rate, digits)
        events.append(
            (
                t,
                {
                    "from": src.key,
                    "to": dst.key,
                    "amount": amount,
                    "currency": src.currency,
                    "rail": src.rail,
                    "from_country": src.country,
                    "to_country": dst.country,
                },
            )
        )
        return amount * rate

    chain_keys: list[_Instrument] = []
    for net in world.networks:
        start, end = net.start_day * 86400, net.end_day * 86400
        for chain in net.money_chains:
            fac = of(chain.facilitator)
            first, wallet = fac[chain.instruments[0]], fac[chain.instruments[1]]
            target = of(chain.beneficiary)[chain.instruments[2]]
            chain_keys += [first, wallet, target]
            payers = [inst for m in chain.payers for inst in of(m).values()]
            t = start + rng.randrange(86400)
            round_no = 0
            while t < end:
                into_first = into_wallet = 0.0
                last = t
                for inst in payers:
                    if round_no and rng.random() >= 0.6:
                        continue
                    at = t + rng.randrange(2 * 86400)
                    got = add(at, inst, wallet if inst.rail == "crypto" else first, rng.lognormvariate(3.9, 0.5))
                    if got is not None:
                        if inst.rail == "crypto":
                            into_wallet += got
                        else:
                            into_first += got
                        last = max(last, at)
                at = last + rng.randint(2 * 3600, 36 * 3600)
                if into_first and first is not wallet:
                    moved = add(at, first, wallet, into_first * rng.uniform(0.97, 0.995))
                    into_wallet += moved or 0.0
                    at += rng.randint(3600, 24 * 3600)
                elif first is wallet:
                    into_wallet += into_first
                if into_wallet:
                    add(at, wallet, target, into_wallet * rng.uniform(0.97, 0.995))
                t += rng.randint(3, 10) * 86400
                round_no += 1

    others = [inst for p in world.people if p.payments and p.role != "facilitator" for inst in of(p.index).values()]
    chained = {i.key for i in chain_keys}
    others = [i for i in others if i.key not in chained]
    if len(others) >= 2:
        for _ in range(2 * len(events) + 20):
            src, dst = rng.sample(others, 2)
            if chain_keys and rng.random() < 0.1:
                if rng.random() < 0.5:
                    src = rng.choice(chain_keys)
                else:
                    dst = rng.choice(chain_keys)
            add(rng.randrange(seconds), src, dst, rng.lognormvariate(4.2, 1.0))

    events.sort(key=lambda e: e[0])
    for n, (t, body) in enumerate(events):
        stamp = (world.start + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ")
        yield {"id": f"tx-{world.seed}-{n}", "at": stamp, **body}
