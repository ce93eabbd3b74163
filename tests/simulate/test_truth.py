"""Ground truth agrees with the reports, and the structure and noise it describes are really there."""

from __future__ import annotations

import collections
import itertools
from typing import Any

import pytest

from accord.model import Identifier, ReportIn
from accord.simulate import build_world
from tests.simulate.conftest import SEED, SIZE, Written

ROLES = ("organiser", "distributor", "facilitator", "peripheral")


def _components(nodes: set[str], edges: list[list[str]]) -> int:
    parent = {n: n for n in nodes}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b, _ in edges:
        if a in nodes and b in nodes:
            parent[find(a)] = find(b)
    return len({find(n) for n in nodes})


def test_every_suspect_identifier_belongs_to_the_person_the_report_is_about(written: Written) -> None:
    identifiers: dict[str, list[str]] = written.truth["identifiers"]
    about_all: dict[str, list[str]] = written.truth["reports"]
    assert list(about_all) == [r["external_id"] for r in written.reports]
    checked = 0
    for report in written.reports:
        model = ReportIn.model_validate(report)
        suspects = [s for s in model.subjects if s.role == "suspect"]
        about = about_all[model.external_id or ""]
        assert len(suspects) == len(about) >= 1
        for subject, person in zip(suspects, about, strict=True):
            assert person in written.truth["people"]
            for ident in subject.identifiers:
                assert person in identifiers[ident.key], (model.external_id, ident.key)
                checked += 1
        for victim in (s for s in model.subjects if s.role == "victim"):
            assert all(i.key not in identifiers for i in victim.identifiers), "victims are not world people"
    assert checked > SIZE * 2


def test_every_identifier_of_every_person_has_the_model_key_recorded(written: Written) -> None:
    """The simulator computes keys without pydantic; they must equal ``Identifier.key`` for every spelling."""
    world = build_world(SEED, SIZE)
    identifiers: dict[str, list[str]] = written.truth["identifiers"]
    assert set(world.keys) == set(identifiers)
    seen = 0
    for person in world.people:
        spellings: list[dict[str, Any]] = [*person.emails, *person.ips, *person.devices, *person.payments]
        for account in person.accounts.values():
            spellings += [account.ident, *account.misreports]
        for hold in person.phones:
            spellings += hold.variants
        for ident in spellings:
            assert person.id in identifiers[Identifier.model_validate(ident).key], ident
            seen += 1
    assert seen > len(world.people) * 5


def test_submitters_are_known_organisations_of_the_right_kind(written: Written) -> None:
    orgs = {o["id"]: o for o in written.truth["organisations"]}
    by = written.truth["submitted_by"]
    assert list(by) == [r["external_id"] for r in written.reports]
    for report in written.reports:
        kind = orgs[by[report["external_id"]]]["kind"]
        assert kind == ("platform" if report["source"] == "platform" else "hotline")
    kinds = {o["kind"] for o in orgs.values()}
    assert {"platform", "hotline", "law_enforcement", "victim_service", "oversight"} <= kinds
    assert all(len(o["jurisdiction"]) == 2 for o in orgs.values())


def test_networks_have_roles_members_and_key_players_that_hold_them_together(written: Written) -> None:
    truth = written.truth
    people = truth["people"]
    assert len(truth["networks"]) >= 3
    for nid, net in truth["networks"].items():
        members = set(net["members"])
        assert all(net["roles"][role] for role in ROLES), nid
        assert sorted(p for role in ROLES for p in net["roles"][role]) == sorted(members)
        for role in ROLES:
            for p in net["roles"][role]:
                assert people[p] == {**people[p], "network": nid, "role": role}
        key = set(net["key_players"])
        assert key and key <= members
        assert set(net["roles"]["organiser"]) <= key
        edges = net["edges"]
        assert all(a in members and b in members for a, b, _ in edges)
        assert _components(members, edges) == 1
        assert _components(members - key, edges) >= 2, f"{nid}: removing key players must split it"
        peripheral = net["roles"]["peripheral"][: len(key)]
        assert _components(members - set(peripheral), edges) == 1, f"{nid}: peripheral members are not key"
        degree = collections.Counter(p for a, b, _ in edges for p in (a, b))
        mean = sum(degree[p] for p in members) / len(members)
        assert all(degree[p] > mean for p in net["roles"]["organiser"]), nid
        for chain in net["money_chains"]:
            assert people[chain["facilitator"]]["role"] == "facilitator"
            assert people[chain["beneficiary"]]["role"] == "organiser"
            assert chain["payers"] and all(people[p]["network"] == nid for p in chain["payers"])
            holders = {p for k in chain["instruments"] for p in truth["identifiers"][k]}
            assert {chain["facilitator"], chain["beneficiary"]} <= holders
    background = [p for p in people.values() if p["network"] is None]
    assert background and all(p["role"] == "background" for p in background)


def _handles(written: Written) -> dict[str, set[str]]:
    """Handle spellings per person as they appear in the reports."""
    out: dict[str, set[str]] = collections.defaultdict(set)
    for report in written.reports:
        suspects = [s for s in report["subjects"] if s["role"] == "suspect"]
        for subject, person in zip(suspects, written.truth["reports"][report["external_id"]], strict=True):
            out[person] |= {i["value"] for i in subject["identifiers"] if i["kind"] == "account"}
    return out


def test_handles_are_noisy_across_platforms_and_reporters(written: Written) -> None:
    handles = _handles(written)
    noisy = [p for p, spellings in handles.items() if len(spellings) >= 2]
    assert len(noisy) > len(handles) // 10
    every = {h for spellings in handles.values() for h in spellings}
    assert any(any("\u0400" <= c <= "\u04ff" for c in h) for h in every), "some handle transliterated to Cyrillic"
    assert any(h != h.lower() for h in every), "some handle with changed case"


@pytest.mark.parametrize("kind", ["device", "ip"])
def test_some_devices_and_ips_are_shared(written: Written, kind: str) -> None:
    shared = [k for k, holders in written.truth["identifiers"].items() if k.startswith(f"{kind}:") and len(holders) > 1]
    assert shared
    assert all(len(set(written.truth["identifiers"][k])) == len(written.truth["identifiers"][k]) for k in shared)


def test_some_phone_numbers_are_recycled_between_people(written: Written) -> None:
    recycled = written.truth["recycled_phones"]
    assert recycled
    for key, spans in recycled.items():
        assert key.startswith("phone:+")
        people = [s["person"] for s in spans]
        assert len(set(people)) == len(people) >= 2
        assert sorted(written.truth["identifiers"][key]) == sorted(people)
        assert all(a["until"] <= b["from"] for a, b in itertools.pairwise(spans)), "one holder at a time"
    used_by: dict[str, set[str]] = collections.defaultdict(set)
    for report in written.reports:
        suspects = [s for s in report["subjects"] if s["role"] == "suspect"]
        for subject, person in zip(suspects, written.truth["reports"][report["external_id"]], strict=True):
            for ident in subject["identifiers"]:
                if ident["kind"] == "phone":
                    key = Identifier.model_validate(ident).key
                    if key in recycled:
                        span = next(s for s in recycled[key] if s["person"] == person)
                        assert span["from"] <= report["received_at"] < span["until"], "used while held"
                        used_by[key].add(person)
    assert used_by, "recycled numbers turn up in reports"


def test_media_come_in_families_of_near_duplicate_pdq_hashes(written: Written) -> None:
    families = written.truth["media_families"]
    family_of = {f["sha256"]: (fid, f["distance"]) for fid, fam in families.items() for f in fam["files"]}
    network_of = {p: v["network"] for p, v in written.truth["people"].items()}
    reused: collections.Counter[str] = collections.Counter()
    for report in written.reports:
        nets = {network_of[p] for p in written.truth["reports"][report["external_id"]]}
        for media in report["media"]:
            fid, distance = family_of[media["sha256"]]
            base = int(families[fid]["pdq"], 16)
            assert (int(media["pdq"], 16) ^ base).bit_count() == distance <= 20
            assert len(media["md5"]) == 32
            if None not in nets:
                assert nets == {families[fid]["network"]}, "network reports carry the network's media"
            reused[fid] += 1
    assert any(len({f["sha256"] for f in families[fid]["files"]}) > 1 and count > 3 for fid, count in reused.items())
    distances = {f["distance"] for fam in families.values() for f in fam["files"]}
    assert 0 in distances and max(distances) <= 20 and min(d for d in distances if d) >= 2
