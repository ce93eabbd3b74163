"""Ground truth: what the world really is, so that entity resolution, network analysis and media
matching can be scored against it.

Layout of ``truth.json`` (one compact JSON object, keys in this order):

* ``format``, ``seed``, ``window`` (``start``, ``end``, ``days``), ``counts``;
* ``countries``: ``[{code, phone_region, timezone}]``;
* ``organisations``: ``[{id, name, kind, jurisdiction}]``;
* ``platforms``: ``[{id, country, organisation}]``;
* ``people``: ``{person_id: {network, role, country}}`` (``network`` is null for background people);
* ``networks``: ``{network_id: {country, active, members, roles, key_players, edges, money_chains,
  media_families}}``; an edge is ``[person_id, person_id, "contact" | "payment"]``;
* ``identifiers``: ``{Identifier.key: [person_id, ...]}``, one holder unless the identifier is shared
  (a device or IP used by several people, a recycled phone number);
* ``recycled_phones``: ``{phone key: [{person, from, until}]}``, who held the number when;
* ``media_families``: ``{family_id: {network, pdq, files: [{sha256, distance}]}}``;
* ``reports``: ``{external_id: [person_id, ...]}``, the true people behind the suspect subjects, in the
  order of those subjects (victims are not people of this world: their identifiers are sealed);
* ``submitted_by``: ``{external_id: organisation_id}``.

``reports`` and ``submitted_by`` are written while the report stream runs, so the document is
assembled from a header (``header``) and streamed parts rather than dumped in one go.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from accord.simulate.world import World

__all__ = ["FORMAT", "header"]

FORMAT = "accord.simulate/truth@1"


def _iso(start: datetime, seconds: int) -> str:
    return (start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def header(world: World) -> dict[str, Any]:
    """Everything in ``truth.json`` except the per-report parts."""
    people = world.people
    pid = [p.id for p in people]
    orgs = world.organisations
    families = world.families
    nets = world.networks
    day = 86400
    return {
        "format": FORMAT,
        "seed": world.seed,
        "window": {"start": _iso(world.start, 0), "end": _iso(world.start, world.days * day), "days": world.days},
        "counts": {
            "reports": world.reports,
            "people": len(people),
            "networks": len(nets),
            "organisations": len(orgs),
            "platforms": len(world.platforms),
            "identifiers": len(world.keys),
            "media_families": len(families),
            "media_files": sum(len(f.files) for f in families),
        },
        "countries": [
            {"code": c.code, "phone_region": c.phone_region, "timezone": c.timezone} for c in world.countries
        ],
        "organisations": [{"id": o.id, "name": o.name, "kind": o.kind, "jurisdiction": o.jurisdiction} for o in orgs],
        "platforms": [
            {"id": p.id, "country": p.country, "organisation": orgs[p.organisation].id} for p in world.platforms
        ],
        "people": {
            p.id: {
                "network": nets[p.network].id if p.network >= 0 else None,
                "role": p.role,
                "country": world.countries[p.country].code,
            }
            for p in people
        },
        "networks": {
            n.id: {
                "country": world.countries[n.country].code,
                "active": {"from": _iso(world.start, n.start_day * day), "until": _iso(world.start, n.end_day * day)},
                "members": [pid[m] for m in n.members],
                "roles": {role: [pid[m] for m in ids] for role, ids in n.roles.items()},
                "key_players": [pid[m] for m in n.key_players],
                "edges": [[pid[a], pid[b], "payment" if paid else "contact"] for a, b, paid in n.edges],
                "money_chains": [
                    {
                        "payers": [pid[m] for m in c.payers],
                        "facilitator": pid[c.facilitator],
                        "beneficiary": pid[c.beneficiary],
                        "instruments": list(c.instruments),
                    }
                    for c in n.money_chains
                ],
                "media_families": [families[f].id for f in n.families],
            }
            for n in nets
        },
        "identifiers": {key: [pid[h] for h in holders] for key, holders in world.keys.items()},
        "recycled_phones": {
            key: [{"person": pid[h], "from": _iso(world.start, a), "until": _iso(world.start, b)} for h, a, b in spans]
            for key, spans in world.recycled.items()
        },
        "media_families": {
            f.id: {
                "network": nets[f.network].id if f.network >= 0 else None,
                "pdq": f"{f.pdq:064x}",
                "files": [{"sha256": m["sha256"], "distance": d} for m, d in zip(f.files, f.distances, strict=True)],
            }
            for f in families
        },
    }
