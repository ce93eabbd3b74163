"""The report stream: reports in time order, each a dict that validates as ``accord.model.ReportIn``,
produced one at a time so a million of them never sit in memory together.

Network reports follow a planted tie (two members who interact, or a member and the facilitator they
pay) and carry the network's media; background reports are about one person outside any network.
What a report reveals depends on who sends it: a platform knows the account on its service and often
the e-mail, phone, IP address and device behind it; a hotline or a member of the public passes on
the handle they saw, sometimes misspelt.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator
from typing import Any, NamedTuple

from accord.simulate.arrivals import hour_prefixes, hourly_counts
from accord.simulate.world import Person, World
from accord.vocab import load

__all__ = ["CATEGORY_MIX", "SimReport", "stream_reports"]

Json = dict[str, Any]

CATEGORY_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "network": (
        ("csam", 70.0), ("trafficking", 6.0), ("extortion", 6.0), ("grooming", 6.0), ("enticement", 4.0),
        ("misleading-domain", 3.0), ("unsolicited-material", 2.0), ("other", 3.0),
    ),
    "background": (
        ("csam", 45.0), ("grooming", 16.0), ("extortion", 13.0), ("enticement", 11.0), ("unsolicited-material", 7.0),
        ("other", 4.0), ("travelling-offender", 1.5), ("trafficking", 1.0), ("misleading-domain", 1.5),
    ),
}  # fmt: skip
"""Relative frequency of each incident category, by kind of report."""

_CONTACT = frozenset({"grooming", "enticement", "extortion", "trafficking", "travelling-offender"})
_AGE_BANDED = frozenset({"csam", "unsolicited-material", "extortion"})
_SELF_GENERATED = frozenset({"csam", "extortion"})
_MEDIA_COUNTS = (1, 1, 1, 2, 2, 3, 4, 6)
_MARKINGS = (("AMBER", 82.0), ("GREEN", 10.0), ("RED", 5.0), ("AMBER+STRICT", 3.0))
_URGENCY = (
    "imminent-danger", "live-contact", "age-band-a", "age-band-b", "age-band-c",
    "recent", "known-victim", "repeat-subject", "self-generated",
)  # fmt: skip
# What a sender passes on about a suspect: chance of e-mail, phone, IP, device, payment instrument.
_PLATFORM_RATES = (0.55, 0.35, 0.6, 0.35, 0.08)
_HOTLINE_RATES = (0.15, 0.12, 0.0, 0.0, 0.03)


class SimReport(NamedTuple):
    report: Json
    """The submission, ready for ``ReportIn.model_validate``."""
    about: tuple[str, ...]
    """Person ids of the suspect subjects, in the order of the suspect subjects in the report."""
    submitted_by: str
    """Id of the organisation that sends it."""


def _check_vocab() -> None:
    """Fail at once, not in a downstream validator, if a code used here left the vocabularies."""
    vocab = load()
    used = {
        "categories": {c for mix in CATEGORY_MIX.values() for c, _ in mix},
        "urgency": set(_URGENCY),
        "markings": {m for m, _ in _MARKINGS},
        "sources": {"platform", "hotline", "public"},
    }
    for name, codes in used.items():
        vocabulary = getattr(vocab, name)
        missing = sorted(c for c in codes if c not in vocabulary)
        if missing:
            raise RuntimeError(f"accord.simulate uses codes missing from vocabulary {name}: {missing}")


def _cum(pairs: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    return [c for c, _ in pairs], list(itertools.accumulate(w for _, w in pairs))


def stream_reports(world: World) -> Iterator[SimReport]:
    """Yield ``world.reports`` reports in order of ``received_at``; the same world gives the same stream."""
    _check_vocab()
    rng = random.Random(f"accord.simulate:{world.seed}:reports")
    random_ = rng.random
    choice = rng.choice
    bisect_ = bisect.bisect
    people = world.people
    platforms = world.platforms
    platform_ids = [p.id for p in platforms]
    platform_orgs = [world.organisations[p.organisation].id for p in platforms]
    hotline_orgs = {c: world.organisations[o].id for c, o in world.hotlines.items()}
    families = world.families
    pool, pool_cum = world.pool, world.pool_cum
    pool_total = pool_cum[-1]
    background, background_cum = world.background, world.background_cum
    background_total = background_cum[-1]
    networks = world.networks
    locations = [({"country": c.code, "timezone": c.timezone}, {"country": c.code}) for c in world.countries]
    no_location: Json = {}
    net_categories, net_category_cum = _cum(CATEGORY_MIX["network"])
    bg_categories, bg_category_cum = _cum(CATEGORY_MIX["background"])
    markings, marking_cum = _cum(_MARKINGS)
    active: list[tuple[list[int], list[float]]] = []
    for day in range(world.days):
        live = [n.index for n in networks if n.start_day <= day < n.end_day]
        active.append((live, list(itertools.accumulate(networks[i].weight for i in live))))
    seen = bytearray(len(people))
    prefix = f"sim-{world.seed}-"

    def subject(p: Person, q: int, by_platform: bool, t: int, ts: str, paid: bool) -> Json:
        account = p.accounts.get(q) or p.accounts[p.platforms[0]]
        if paid and p.payments:
            ids = [choice(p.payments)]
            if random_() < 0.5:
                ids.append(account.ident)
            return {"role": "suspect", "identifiers": ids}
        if not by_platform and account.misreports and random_() < 0.35:
            ids = [account.misreports[0]]
        else:
            ids = [account.ident]
        email, phone, ip, device, payment = _PLATFORM_RATES if by_platform else _HOTLINE_RATES
        if p.emails and random_() < email:
            ids.append(choice(p.emails))
        if p.phones and random_() < phone:
            for hold in p.phones:
                if hold.start <= t < hold.end:
                    ids.append(choice(hold.variants))
                    break
        if p.ips and random_() < ip:
            address = choice(p.ips)
            ids.append({**address, "seen_at": ts} if random_() < 0.5 else address)
        if p.devices and random_() < device:
            ids.append(choice(p.devices))
        if p.payments and random_() < payment:
            ids.append(choice(p.payments))
        return {"role": "suspect", "identifiers": ids}

    counts = hourly_counts(rng, world.reports, world.days, world.start)
    prefixes = hour_prefixes(world.start, len(counts))
    n = 0
    for hour, count in enumerate(counts):
        if not count:
            continue
        hour_prefix = prefixes[hour]
        live, live_cum = active[hour // 24]
        for second in sorted(rng.randrange(3600) for _ in range(count)):
            t = hour * 3600 + second
            ts = f"{hour_prefix}{second // 60:02d}:{second % 60:02d}Z"
            r = random_()
            source = "platform" if r < 0.78 else "hotline" if r < 0.94 else "public"
            by_platform = source == "platform"
            partner: Person | None = None
            paid = False
            if live and random_() < 0.4:
                net = networks[live[bisect_(live_cum, random_() * live_cum[-1])]]
                edge_cum = net.edge_cum
                a, b, paid = net.edges[bisect_(edge_cum, random_() * edge_cum[-1])]
                if random_() < 0.5:
                    a, b = b, a
                person = people[a]
                if paid or random_() < 0.35:
                    partner = people[b]
                incident = net_categories[bisect_(net_category_cum, random_() * net_category_cum[-1])]
                family_ids = net.families
            else:
                person = people[background[bisect_(background_cum, random_() * background_total)]]
                incident = bg_categories[bisect_(bg_category_cum, random_() * bg_category_cum[-1])]
                family_ids = None
            q = choice(person.platforms)
            subjects = [subject(person, q, by_platform, t, ts, False)]
            if partner is not None:
                subjects.append(subject(partner, q, by_platform, t, ts, paid))
                about: tuple[str, ...] = (person.id, partner.id)
            else:
                about = (person.id,)

            contact = incident in _CONTACT
            urgency: list[str] = []
            if random_() < (0.025 if contact else 0.004):
                urgency.append("imminent-danger")
            if random_() < (0.09 if contact else 0.008):
                urgency.append("live-contact")
            if incident in _AGE_BANDED and random_() < 0.6:
                band = random_()
                urgency.append("age-band-a" if band < 0.2 else "age-band-b" if band < 0.55 else "age-band-c")
            if random_() < 0.45:
                urgency.append("recent")
            if random_() < 0.03:
                urgency.append("known-victim")
            if seen[person.index] and random_() < 0.3:
                urgency.append("repeat-subject")
            if incident in _SELF_GENERATED and random_() < 0.08:
                urgency.append("self-generated")
            seen[person.index] = 1

            if urgency and urgency[0] == "imminent-danger" and random_() < 0.6:
                marking = "RED"
            else:
                marking = markings[bisect_(marking_cum, random_() * marking_cum[-1])]

            r = random_()
            if r < 0.85:
                location = locations[person.country][0]
            elif r < 0.93:
                location = locations[person.country][1]
            else:
                location = no_location

            if random_() < (0.3 if contact else 0.04):
                victim = {"kind": "account", "value": f"v-{rng.getrandbits(48):012x}", "service": platform_ids[q]}
                subjects.append({"role": "victim", "identifiers": [victim]})

            if incident == "csam":
                k = choice(_MEDIA_COUNTS)
            elif incident in _AGE_BANDED:
                k = 1 if random_() < 0.5 else 0
            else:
                k = 1 if random_() < 0.25 else 0
            media: list[Json] = []
            for _ in range(k):
                if family_ids is not None:
                    family = families[choice(family_ids)]
                elif random_() < 0.12:
                    family = families[choice(networks[int(random_() * len(networks))].families)]
                else:
                    family = families[pool[bisect_(pool_cum, random_() * pool_total)]]
                file = choice(family.files)
                if file not in media:
                    media.append(file)

            report: Json = {
                "external_id": f"{prefix}{n}",
                "source": source,
                "received_at": ts,
                "incident_type": incident,
                "urgency": urgency,
                "marking": marking,
                "location": location,
                "subjects": subjects,
                "media": media,
            }
            if random_() < 0.02:
                report["narrative"] = f"ref CAT-{rng.randint(1, 9)} seq {rng.randint(1, 999)}"
            sender = platform_orgs[q] if by_platform else hotline_orgs[person.country]
            yield SimReport(report, about, sender)
            n += 1
