"""The synthetic world: countries, platforms, organisations, people with their accounts and other
identifiers, offender networks with planted structure, and the media families they circulate.

Structure planted in each network, so analytics have something true to find:

* organisers form a clique and each is tied to every distributor;
* every distributor leads a sub-group of peripheral members, tied only to their distributor and to
  each other (members of one sub-group often share an IP address and sometimes a device);
* money facilitators are tied to the organisers, to some distributors and to the peripheral members
  who pay them, and forward to an organiser's wallet (the money chain).

The organisers and facilitators are the key players: without them the network falls apart into its
sub-groups, while removing any number of peripheral members leaves it connected.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from accord.simulate import identifiers as gen
from accord.simulate import noise
from accord.simulate.countries import COUNTRIES, Country
from accord.simulate.media import MediaFamily, new_family

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_START",
    "ROLES",
    "Account",
    "MoneyChain",
    "Network",
    "Organisation",
    "Person",
    "PhoneHold",
    "Platform",
    "Scale",
    "World",
    "build_world",
    "collector_paused",
]

Ident = dict[str, Any]

DEFAULT_START = datetime(2025, 1, 6, tzinfo=UTC)
DEFAULT_DAYS = 180
ROLES = ("organiser", "distributor", "facilitator", "peripheral", "background")
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "post.example", "inbox.example")
_CHAINS = ("ethereum", "bitcoin")


@dataclass(frozen=True, slots=True)
class Scale:
    """How big a world to build for a given number of reports: it grows with the stream, so that each
    person keeps appearing a realistic handful of times whatever the size."""

    reports: int
    networks: int
    people: int
    platforms: int
    countries: int
    media_pool: int

    @classmethod
    def for_reports(cls, reports: int) -> Scale:
        return cls(
            reports=reports,
            networks=max(3, reports // 2000),
            people=max(120, reports // 8),
            platforms=min(40, 6 + math.isqrt(reports) // 25),
            countries=min(len(COUNTRIES), 8 + reports // 20000),
            media_pool=max(40, reports // 30),
        )


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    kind: str
    """One of ``accord.model.OrgKind``'s values."""
    jurisdiction: str


@dataclass(frozen=True, slots=True)
class Platform:
    id: str
    country: str
    organisation: int
    """Index into ``World.organisations`` of its trust & safety team."""


@dataclass(slots=True)
class Account:
    platform: int
    ident: Ident
    misreports: list[Ident] = field(default_factory=list)
    """Spellings of this handle that reach reports through hotlines and the public."""


@dataclass(slots=True)
class PhoneHold:
    """A number held from ``start`` until ``end`` (seconds into the window); numbers get recycled."""

    start: int
    end: int
    key: str
    variants: list[Ident]


@dataclass(slots=True)
class Person:
    index: int
    id: str
    network: int
    role: str
    country: int
    handle: str
    accounts: dict[int, Account] = field(default_factory=dict)
    platforms: list[int] = field(default_factory=list)
    emails: list[Ident] = field(default_factory=list)
    phones: list[PhoneHold] = field(default_factory=list)
    ips: list[Ident] = field(default_factory=list)
    devices: list[Ident] = field(default_factory=list)
    payments: list[Ident] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MoneyChain:
    payers: tuple[int, ...]
    facilitator: int
    beneficiary: int
    instruments: tuple[str, ...]
    """Identifier keys of the facilitator's and the beneficiary's payment instruments."""


@dataclass(slots=True)
class Network:
    index: int
    id: str
    country: int
    members: list[int] = field(default_factory=list)
    roles: dict[str, list[int]] = field(default_factory=dict)
    key_players: list[int] = field(default_factory=list)
    edges: list[tuple[int, int, bool]] = field(default_factory=list)
    """``(a, b, payment)``: who interacts with whom, and whether money moves along the tie."""
    edge_cum: list[float] = field(default_factory=list)
    """Cumulative weight of each tie as a source of reports: organisers keep out of sight."""
    families: list[int] = field(default_factory=list)
    money_chains: list[MoneyChain] = field(default_factory=list)
    start_day: int = 0
    end_day: int = 0
    weight: float = 1.0


@dataclass(slots=True)
class World:
    seed: int
    reports: int
    days: int
    start: datetime
    scale: Scale
    countries: list[Country]
    organisations: list[Organisation]
    platforms: list[Platform]
    hotlines: dict[int, int]
    """Country index to the index of its hotline organisation."""
    people: list[Person]
    networks: list[Network]
    background: list[int]
    background_cum: list[float]
    families: list[MediaFamily]
    pool: list[int]
    """Indices of the families circulating outside any network."""
    pool_cum: list[float]
    keys: dict[str, list[int]]
    """Every identifier key in the world and the people who held it (several for shared ones)."""
    recycled: dict[str, list[tuple[int, int, int]]]
    """Phone keys held by more than one person: ``(person, start, end)`` in seconds into the window."""


def _zipf(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (i + 1) ** s for i in range(n)))


class _Builder:
    """Holds the world's random stream and the registries that keep generated values unique."""

    def __init__(self, seed: int, reports: int, days: int, start: datetime, noise: float = 1.0) -> None:
        self.rng = random.Random(f"accord.simulate:{seed}:world")
        self.noise = noise
        self.scale = Scale.for_reports(reports)
        self.phones = gen.PhoneFactory()
        self.keys: dict[str, list[int]] = {}
        self.people: list[Person] = []
        self.families: list[MediaFamily] = []
        self.seconds = days * 86400
        self.country_cum: list[float] = []
        self.platform_cum: list[float] = []
        self.world = World(
            seed=seed,
            reports=reports,
            days=days,
            start=start,
            scale=self.scale,
            countries=[],
            organisations=[],
            platforms=[],
            hotlines={},
            people=self.people,
            networks=[],
            background=[],
            background_cum=[],
            families=self.families,
            pool=[],
            pool_cum=[],
            keys=self.keys,
            recycled={},
        )

    def build(self) -> World:
        self._places()
        self._organisations()
        for n in range(self.scale.networks):
            self._network(n)
        self._background()
        self._recycle_phones()
        self._media_pool()
        return self.world

    def _places(self) -> None:
        rng = self.rng
        picked = sorted(rng.sample(range(len(COUNTRIES)), self.scale.countries))
        rng.shuffle(picked)
        self.world.countries = [COUNTRIES[i] for i in picked]
        self.country_cum = _zipf(len(picked), 0.8)
        self.platform_cum = _zipf(self.scale.platforms, 0.9)

    def _organisations(self) -> None:
        w = self.world
        orgs = w.organisations

        def add(name: str, kind: str, country: str) -> int:
            orgs.append(Organisation(f"org-{len(orgs) + 1:04d}", name, kind, country))
            return len(orgs) - 1

        for p in range(self.scale.platforms):
            pid = f"platform-{p + 1:02d}"
            country = w.countries[self._country()].code
            w.platforms.append(Platform(pid, country, add(f"{pid} trust & safety", "platform", country)))
        for ci, c in enumerate(w.countries):
            w.hotlines[ci] = add(f"hotline-{c.code.lower()}", "hotline", c.code)
            add(f"police-{c.code.lower()}", "law_enforcement", c.code)
            if self.rng.random() < 0.5:
                add(f"victim-service-{c.code.lower()}", "victim_service", c.code)
            if ci < 3:
                add(f"oversight-{c.code.lower()}", "oversight", c.code)

    def _country(self) -> int:
        return bisect.bisect(self.country_cum, self.rng.random() * self.country_cum[-1])

    def _platform(self, among: list[int] | None = None) -> int:
        if among and self.rng.random() < 0.8:
            return self.rng.choice(among)
        return bisect.bisect(self.platform_cum, self.rng.random() * self.platform_cum[-1])

    def _key(self, ident: Ident) -> str:
        return gen.identifier_key(ident)

    def _hold(self, key: str, person: int) -> None:
        holders = self.keys.get(key)
        if holders is None:
            self.keys[key] = [person]
        elif person not in holders:
            holders.append(person)

    def _unique(self, ident: Ident) -> str | None:
        key = self._key(ident)
        return None if key in self.keys else key

    def _person(self, network: int, role: str, country: int, platforms: int, among: list[int] | None = None) -> Person:
        rng = self.rng
        idx = len(self.people)
        p = Person(idx, f"p-{idx + 1:07d}", network, role, country, noise.handle(rng))
        self.people.append(p)
        cyrillic = self.world.countries[country].cyrillic
        misreport_rate = min(1.0, (0.3 if role == "background" else 0.6) * self.noise)
        for _ in range(platforms):
            q = self._platform(among)
            if q in p.accounts:
                continue
            self._account(p, q, cyrillic, misreport_rate)
        if not p.accounts:
            self._account(p, self._platform(), cyrillic, misreport_rate)
        self._emails(p, 0.8 if role == "background" else 0.95)
        if rng.random() < (0.5 if role == "background" else 0.9):
            self._phone(p, 0, self.seconds)
        for _ in range(1 if rng.random() < 0.75 else 2):
            self._ip(p, self._new_ip())
        if rng.random() < (0.7 if role == "background" else 0.95):
            for _ in range(1 if rng.random() < 0.7 else 2):
                self._device(p, self._new_device())
        return p

    def _account(self, p: Person, q: int, cyrillic: bool, misreport_rate: float) -> None:
        rng = self.rng
        service = self.world.platforms[q].id
        for attempt in range(12):
            if attempt == 0 and (not p.accounts or rng.random() < 0.45 / self.noise):
                value = p.handle
            else:
                value = noise.handle_variant(rng, p.handle, cyrillic)
                # Above the default noise, some variants are respelt once more (a typo on a transliteration).
                if self.noise > 1.0 and rng.random() < self.noise - 1.0:
                    value = noise.handle_variant(rng, value, cyrillic)
            if attempt > 6:
                value += str(rng.randint(10, 9999))
            if attempt == 11:
                value = f"{p.handle}-{p.index}"  # generated handles never contain "-": always free
            ident = {"kind": "account", "value": value, "service": service}
            key = self._unique(ident)
            if key is None:
                continue
            self._hold(key, p.index)
            account = Account(q, ident)
            p.accounts[q] = account
            p.platforms.append(q)
            if rng.random() < misreport_rate:
                wrong_value = noise.misreport(rng, value)
                if self.noise > 1.0 and rng.random() < self.noise - 1.0:
                    wrong_value = noise.misreport(rng, wrong_value)
                wrong = {"kind": "account", "value": wrong_value, "service": service}
                wrong_key = self._unique(wrong)
                if wrong_key is not None:
                    self._hold(wrong_key, p.index)
                    account.misreports.append(wrong)
            return

    def _emails(self, p: Person, rate: float) -> None:
        rng = self.rng
        if rng.random() >= rate:
            return
        for _ in range(1 if rng.random() < 0.7 else 2):
            for _ in range(6):
                local = noise.email_local(rng, p.handle)
                domain = rng.choice(_EMAIL_DOMAINS)
                ident = {"kind": "email", "value": f"{local}@{domain}"}
                key = self._unique(ident)
                if key is None:
                    continue
                self._hold(key, p.index)
                shown = f"{local[:1].upper()}{local[1:]}@{domain[:1].upper()}{domain[1:]}"
                p.emails += [ident, ident, {"kind": "email", "value": shown}]
                if rng.random() < 0.35:
                    other = {"kind": "email", "value": f"{noise.email_variant(rng, local)}@{domain}"}
                    other_key = self._unique(other)
                    if other_key is not None:
                        self._hold(other_key, p.index)
                        p.emails.append(other)
                break

    def _phone(self, p: Person, start: int, end: int) -> PhoneHold:
        region = self.world.countries[p.country].phone_region
        phone = self.phones.new(self.rng, region)
        key = f"phone:{phone.e164}"
        e164 = {"kind": "phone", "value": phone.e164}
        variants = [
            e164,
            e164,
            {"kind": "phone", "value": phone.spaced},
            {"kind": "phone", "value": phone.national, "region": region},
        ]
        hold = PhoneHold(start, end, key, variants)
        p.phones.append(hold)
        self._hold(key, p.index)
        return hold

    def _new_ip(self) -> list[Ident]:
        if self.rng.random() < 0.8:
            return [{"kind": "ip", "value": gen.ipv4(self.rng)}]
        compressed, exploded = gen.ipv6(self.rng)
        return [{"kind": "ip", "value": compressed}, {"kind": "ip", "value": exploded}]

    def _ip(self, p: Person, variants: list[Ident]) -> None:
        """The first variant is the canonical (compressed) form, so it is its own key."""
        self._hold(f"ip:{variants[0]['value']}", p.index)
        p.ips += variants

    def _new_device(self) -> list[Ident]:
        if self.rng.random() < 0.6:
            value = gen.android_id(self.rng)
            return [{"kind": "device", "value": value}, {"kind": "device", "value": value.upper()}]
        value = gen.uuid_device(self.rng)
        return [{"kind": "device", "value": value}, {"kind": "device", "value": value.replace("-", "").lower()}]

    def _device(self, p: Person, variants: list[Ident]) -> None:
        self._hold(self._key(variants[0]), p.index)
        p.devices += variants

    def _payment(self, p: Person, kind: str) -> str:
        rng = self.rng
        country = self.world.countries[p.country]
        variants: list[Ident]
        if kind == "iban" and country.iban:
            value = gen.iban(rng, country.code, country.iban)
            variants = [
                {"kind": "payment", "value": value, "instrument": "iban"},
                {"kind": "payment", "value": gen.iban_spaced(value), "instrument": "iban"},
            ]
        elif kind in ("iban", "wallet"):
            chain = rng.choice(_CHAINS)
            if chain == "ethereum":
                value = gen.ethereum_address(rng)
                variants = [
                    {"kind": "payment", "value": value, "instrument": "wallet", "chain": chain},
                    {"kind": "payment", "value": "0x" + value[2:].upper(), "instrument": "wallet", "chain": "Ethereum"},
                ]
            else:
                value = gen.bitcoin_address(rng)
                variants = [{"kind": "payment", "value": value, "instrument": "wallet", "chain": chain}]
        else:
            variants = [{"kind": "payment", "value": gen.card_token(rng), "instrument": "card-token"}]
        key = self._key(variants[0])
        self._hold(key, p.index)
        p.payments += variants
        return key

    def _network(self, n: int) -> None:
        rng = self.rng
        w = self.world
        net = Network(n, f"net-{n + 1:04d}", self._country())
        w.networks.append(net)
        among = sorted({self._platform() for _ in range(rng.randint(2, 4))})
        counts = {
            "organiser": rng.randint(1, 3),
            "distributor": rng.randint(2, 5),
            "facilitator": rng.randint(1, 2),
            "peripheral": rng.randint(12, 60),
        }
        for role, count in counts.items():
            ids = []
            for _ in range(count):
                country = net.country if rng.random() < 0.75 else self._country()
                p = self._person(
                    n, role, country, rng.randint(2, 4) if role != "peripheral" else rng.randint(1, 3), among
                )
                ids.append(p.index)
            net.roles[role] = ids
            net.members += ids
        org, dist, fac, per = (net.roles[r] for r in ("organiser", "distributor", "facilitator", "peripheral"))
        net.key_players = org + fac
        tied: set[tuple[int, int]] = set()

        def tie(a: int, b: int, payment: bool) -> None:
            pair = (a, b) if a < b else (b, a)
            if a != b and pair not in tied:
                tied.add(pair)
                net.edges.append((a, b, payment))

        for a, b in itertools.combinations(org, 2):
            tie(a, b, False)
        for a in org:
            for b in dist:
                tie(a, b, False)
        for f in fac:
            for o in org:
                tie(f, o, True)
            for d in dist:
                if rng.random() < 0.5:
                    tie(f, d, True)
        shuffled = per[:]
        rng.shuffle(shuffled)
        groups = [[d, *shuffled[i :: len(dist)]] for i, d in enumerate(dist)]
        for g, group in enumerate(groups):
            lead, members = group[0], group[1:]
            for m in members:
                tie(lead, m, False)
            for m in members:
                for other in rng.sample(members, min(len(members), rng.randint(0, 2))):
                    tie(m, other, False)
            venue = self._new_ip()
            sharers = [lead] + [m for m in members if rng.random() < 0.4]
            if len(sharers) < 2 and members:
                sharers.append(members[0])
            for m in sharers:
                self._ip(self.people[m], venue)
            if g == 0 or rng.random() < 0.7:
                device = self._new_device()
                for m in rng.sample(group, min(len(group), rng.randint(2, 3))):
                    self._device(self.people[m], device)
        payers: dict[int, list[int]] = {f: [] for f in fac}
        for m in per:
            if rng.random() < 0.3:
                payers[rng.choice(fac)].append(m)
        for f, paying in payers.items():
            if not paying:
                paying.append(rng.choice(per))
            for m in paying:
                tie(m, f, True)
                self._payment(self.people[m], "card-token" if rng.random() < 0.6 else "wallet")
        wallets: dict[int, str] = {o: self._payment(self.people[o], "wallet") for o in org}
        for d in dist:
            if rng.random() < 0.3:
                self._payment(self.people[d], "wallet")
        for f in fac:
            own = (self._payment(self.people[f], "iban"), self._payment(self.people[f], "wallet"))
            beneficiary = rng.choice(org)
            net.money_chains.append(MoneyChain(tuple(payers[f]), f, beneficiary, (*own, wallets[beneficiary])))
        hidden = set(org)
        net.edge_cum = list(
            itertools.accumulate(
                0.8 if paid else 0.3 if a in hidden or b in hidden else 1.0 for a, b, paid in net.edges
            )
        )
        for _ in range(rng.randint(3, 10)):
            fam = new_family(rng, f"fam-{len(self.families) + 1:06d}", n, rng.randint(3, 12))
            net.families.append(len(self.families))
            self.families.append(fam)
        days = w.days
        net.start_day = rng.randint(0, max(0, days // 2))
        net.end_day = min(days, net.start_day + max(7, int(days * rng.uniform(0.4, 1.0))))
        net.weight = rng.lognormvariate(0.0, 0.6)

    def _background(self) -> None:
        rng = self.rng
        w = self.world
        count = max(40, self.scale.people - len(self.people))
        cgnat = [self._new_ip() for _ in range(max(4, count // 30))]
        weights: list[float] = []
        for _ in range(count):
            p = self._person(-1, "background", self._country(), 1 if rng.random() < 0.55 else rng.randint(2, 3))
            if rng.random() < 0.1:
                self._ip(p, rng.choice(cgnat))
            if rng.random() < 0.05:
                self._payment(p, "iban" if rng.random() < 0.5 else "card-token")
            w.background.append(p.index)
            weights.append(min(300.0, rng.paretovariate(1.3)))
        w.background_cum = list(itertools.accumulate(weights))

    def _recycle_phones(self) -> None:
        """Hand some numbers on: the first holder switches to a new number, and after a gap the old
        one turns up with somebody else in the same country."""
        rng = self.rng
        by_country: dict[int, list[Person]] = {}
        for p in self.people:
            if len(p.phones) == 1:
                by_country.setdefault(p.country, []).append(p)
        wanted = max(2, len(self.people) // 60)
        done = 0
        used: set[int] = set()
        for _ in range(wanted * 4):
            if done >= wanted:
                break
            country = self._country()
            pool = by_country.get(country, [])
            if len(pool) < 2:
                continue
            first, second = rng.sample(pool, 2)
            if first.index in used or second.index in used:
                continue
            used.update((first.index, second.index))
            switch = int(self.seconds * rng.uniform(0.15, 0.55))
            handover = switch + rng.randint(7, 40) * 86400
            old = first.phones[0]
            old.end = switch
            self._phone(first, switch, self.seconds)
            second.phones[0].end = handover
            second.phones.append(PhoneHold(handover, self.seconds, old.key, old.variants))
            self._hold(old.key, second.index)
            self.world.recycled[old.key] = [(first.index, 0, switch), (second.index, handover, self.seconds)]
            done += 1

    def _media_pool(self) -> None:
        rng = self.rng
        w = self.world
        for _ in range(self.scale.media_pool):
            w.pool.append(len(self.families))
            self.families.append(new_family(rng, f"fam-{len(self.families) + 1:06d}", -1, rng.randint(1, 6)))
        w.pool_cum = _zipf(len(w.pool), 0.7)


def build_world(
    seed: int, reports: int, *, days: int = DEFAULT_DAYS, start: datetime = DEFAULT_START, noise: float = 1.0
) -> World:
    """The world behind a stream of ``reports`` reports over ``days`` days from ``start`` (UTC, whole hour).

    ``noise`` scales how often people respell their handles across platforms and how often a handle is
    misreported (1.0, the default, is the world the other benchmarks use; 0.5 is cleaner; 2.0 also respells
    every variant and misreport a second time). The rates scale exactly, so 1.0 draws the same random
    stream as before the knob existed.
    """
    if not 0.1 <= noise <= 2.0:
        raise ValueError("noise must be between 0.1 and 2.0")
    if reports < 0:
        raise ValueError("reports must not be negative")
    if days < 1:
        raise ValueError("days must be at least 1")
    if start.tzinfo is None:
        raise ValueError("start needs a time zone")
    start = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    with collector_paused():
        return _Builder(seed, reports, days, start, noise).build()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a large world is millions of long-lived objects without
    cycles, and repeated collector passes over them cost about a quarter of the build time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
