"""Entity resolution on small hand-made record sets where the right answer is known. The population around
them (150 people with two or three observations each, neutral generated handles) gives Splink's EM
something to learn from; the cases under test are planted in it."""

from __future__ import annotations

import random

import pytest

from accord.errors import Invalid
from accord.graph.records import IdentityRecord, email_local, fold_handle
from accord.graph.resolve import Decision, Resolution, ResolveConfig, cluster, resolve
from accord.simulate import noise

DAY = 86400
T0 = 1_736_000_000


def rec(rid: str, t: int, handle: str | None = None, service: str = "platform-01", **kw: str | None) -> IdentityRecord:
    email = kw.get("email")
    return IdentityRecord(
        rid, "org", t, service=service if handle else None, handle=handle,
        handle_fold=fold_handle(handle) if handle else None, email=email,
        email_local=email_local(email) if email else None, phone=kw.get("phone"), device=kw.get("device"),
        keys=tuple(v for v in (handle, email, kw.get("phone"), kw.get("device")) if v),
    )  # fmt: skip


def population() -> list[IdentityRecord]:
    rng = random.Random(3)
    out: list[IdentityRecord] = []
    for p in range(150):
        h = noise.handle(rng) + str(p)
        email = f"{h}@example.com"
        phone = f"+3161{p:07d}"
        for k in range(2 + p % 2):
            t = T0 + rng.randrange(150) * DAY
            out.append(rec(f"bg{p}/{k}", t, h if k != 2 else noise.typo(rng, h), email=email if k else None,
                           phone=phone if k != 1 else None))  # fmt: skip
    return out


CASES = [
    # a typo'd handle on another platform with the same e-mail: one person
    rec("typo/0", T0, "zobakilu77", email="zobakilu@example.org"),
    rec("typo/1", T0 + 90 * DAY, "zobaklu77", service="platform-02", email="zobakilu@example.org"),
    # one recycled number, two holders months apart, nothing else in common: two people
    rec("phone/0", T0 + 5 * DAY, "rutemanosi", phone="+31612345678"),
    rec("phone/1", T0 + 140 * DAY, "vigodepra", phone="+31612345678"),
    # same handle and e-mail: linked by the model, then split by an analyst
    rec("split/0", T0, "pelumira3", email="pelumira@example.net", device="a1b2"),
    rec("split/1", T0 + DAY, "pelumira3", email="pelumira@example.net", device="a1b2"),
    # nothing in common: separate, then merged by an analyst
    rec("merge/0", T0, "kosatevi", email="kosatevi@example.com"),
    rec("merge/1", T0, "dubanofe", email="dubanofe@example.net"),
]


@pytest.fixture(scope="module")
def first() -> Resolution:
    return resolve(population() + CASES)


@pytest.fixture(scope="module")
def second() -> Resolution:
    return resolve(
        population() + CASES, [Decision("split", "split/0", "split/1"), Decision("merge", "merge/1", "merge/0")]
    )


def test_typo_and_same_email_link(first: Resolution) -> None:
    assert first.labels["typo/0"] == first.labels["typo/1"]
    (entity,) = [e for e in first.entities if "typo/0" in e.records]
    (link,) = entity.links
    assert link.evidence["email"] == "same e-mail" and link.weight >= ResolveConfig().threshold


def test_recycled_phone_far_apart_does_not_link(first: Resolution) -> None:
    assert first.labels["phone/0"] != first.labels["phone/1"]


def test_without_decisions_the_model_decides(first: Resolution) -> None:
    assert first.labels["split/0"] == first.labels["split/1"]
    assert first.labels["merge/0"] != first.labels["merge/1"]


def test_decisions_are_respected_on_rerun(second: Resolution) -> None:
    assert second.labels["split/0"] != second.labels["split/1"]
    assert second.labels["merge/0"] == second.labels["merge/1"]
    (merged,) = [e for e in second.entities if "merge/0" in e.records]
    assert merged.links[0].evidence == {"analyst": "confirmed merge"}
    assert any({r.a, r.b} == {"split/0", "split/1"} for r in second.refused)
    # everything else is as before
    assert second.labels["typo/0"] == second.labels["typo/1"]


def test_population_resolves(first: Resolution) -> None:
    truth = {r.record_id: r.record_id.split("/")[0] for r in population()}
    wrong = [
        rid for rid, p in truth.items() if any(first.labels[o] == first.labels[rid] for o in truth if truth[o] != p)
    ]
    assert not wrong


def test_empty_and_single_inputs() -> None:
    assert resolve([]).entities == []
    one = resolve([rec("a/0", T0, "kabo")])
    assert [e.records for e in one.entities] == [["a/0"]]
    # records with nothing comparable (identifiers in unknown formats only) stay apart
    bare = resolve([IdentityRecord("x/0", "o", T0, keys=("k",)), IdentityRecord("y/0", "o", T0, keys=("k",))])
    assert len(bare.entities) == 2


def test_a_small_set_with_nothing_for_training_rules_still_resolves() -> None:
    # an organisation with a handful of accounts: no two share a folded handle or an e-mail, so Splink's EM
    # sessions have no pairs; they are skipped, and the untrained comparison is left out of the scores
    few = [rec(f"r/{i}", T0 + i, h) for i, h in enumerate(["hub1", "abc", "def", "hub2", "ghi", "jkl"])]
    found = resolve(few)
    assert sorted(r for e in found.entities for r in e.records) == sorted(r.record_id for r in few)
    assert len(found.entities) == len(few)


def test_bad_decisions_and_duplicate_ids_are_invalid() -> None:
    records = [rec("a/0", T0, "kabo"), rec("b/0", T0, "kabo")]
    with pytest.raises(Invalid, match="not among"):
        resolve(records, [Decision("merge", "a/0", "zz")])
    with pytest.raises(Invalid, match="twice"):
        resolve([records[0], records[0]])


def test_cluster_refuses_joins_across_a_split_transitively() -> None:
    ids = ["a", "b", "c"]
    # a-b strong, b-c strong; a split a|c: b joins a, then c may not join that entity
    result = cluster(ids, [0, 1], [1, 2], [10.0, 9.0], lambda k: {}, [("split", 0, 2)])
    assert result.labels["a"] == result.labels["b"] != result.labels["c"]
    assert [(r.a, r.b) for r in result.refused] == [("b", "c")]


def test_a_merge_against_a_split_is_a_conflict() -> None:
    result = cluster(["a", "b"], [], [], [], lambda k: {}, [("split", 0, 1), ("merge", 0, 1)])
    assert len(result.entities) == 2 and len(result.conflicts) == 1  # resolve() keeps only the latest per pair
    result = cluster(["a", "b", "c"], [], [], [], lambda k: {}, [("split", 0, 2), ("merge", 0, 1), ("merge", 1, 2)])
    assert result.labels["a"] == result.labels["b"] != result.labels["c"]
    assert [(c.a, c.b) for c in result.conflicts] == [("b", "c")]
