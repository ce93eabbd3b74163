"""The matcher's per-process PDQ indexes: caught up from the entries changed since the version they hold
(never rebuilt), exact against a brute-force scan, and loaded from their snapshot by a restarted node."""

from __future__ import annotations

import random

from accord.model.bank import BankIn, EntriesIn, MatchIn
from accord.model.organisation import Role
from accord.services import banks, matching
from accord.services.indexes import BankIndexes
from accord.store import banks as store
from tests.conftest import World


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _near(h: str, bits: int, rng: random.Random) -> str:
    n = int(h, 16)
    for b in rng.sample(range(256), bits):
        n ^= 1 << b
    return f"{n:064x}"


def entries(values: list[str]) -> EntriesIn:
    return EntriesIn.model_validate({"entries": [{"value": v} for v in values]})


def test_catch_up_is_incremental_and_exact(world: World) -> None:
    node = world.node
    org_id, _ = world.org("A", [Role.analyst])
    rng = random.Random(7)
    bank = banks.create_local(node, org_id, BankIn(name="b", type="pdq", threshold=31))
    values = [_hex(rng) for _ in range(300)]
    banks.add_entries_local(node, org_id, bank.id, entries(values))
    queries = [_near(v, rng.randrange(0, 40), rng) for v in values[:50]] + [_hex(rng) for _ in range(10)]

    def brute(active: dict[int, str], q: str) -> list[tuple[int, int]]:
        return sorted((d, i) for i, v in active.items() if (d := bin(int(v, 16) ^ int(q, 16)).count("1")) <= 31)

    def check() -> None:
        got = matching.match_local(node, org_id, MatchIn(hashes=[f"pdq:{q}" for q in queries]))
        with node.db.read() as conn:
            active = dict(store.active_entries(conn, bank.id))
        for q, r in zip(queries, got, strict=True):
            assert [(m.distance, m.entry) for m in r.matches] == brute(active, q)

    check()
    assert node.bank_indexes.rebuilds == 1
    # changes: more entries, then two removals; the index catches up without a rebuild
    more = [_near(v, 5, rng) for v in values[:20]]
    added = banks.add_entries_local(node, org_id, bank.id, entries(more))
    banks.remove_entry_local(node, org_id, bank.id, added.added[0].id)
    first = matching.match_local(node, org_id, MatchIn(hashes=[f"pdq:{values[0]}"]))[0].matches[0]
    banks.remove_entry_local(node, org_id, bank.id, first.entry)
    check()
    assert node.bank_indexes.rebuilds == 1
    assert node.bank_indexes.version(bank.id) == 5  # created 1, two adds, two removals


def test_a_restarted_node_loads_the_snapshot(world: World) -> None:
    node = world.node
    org_id, _ = world.org("A", [Role.analyst])
    bank = banks.create_local(node, org_id, BankIn(name="b", type="pdq"))
    h = "f" * 64
    banks.add_entries_local(node, org_id, bank.id, EntriesIn.model_validate({"entries": [{"value": h}]}))
    assert matching.match_local(node, org_id, MatchIn(hashes=[h]))[0].matches
    snapshots = list((node.settings.data_dir / "indexes").glob(f"{bank.id}.v*.pdq"))
    assert [p.name for p in snapshots] == [f"{bank.id}.v2.pdq"]

    # a second process of the same node: loads version 2 from disk and catches up to 3
    other = BankIndexes(node.settings.data_dir / "indexes", node.settings.index_snapshot_changes)
    node.bank_indexes, kept = other, node.bank_indexes
    try:
        banks.add_entries_local(node, org_id, bank.id, EntriesIn.model_validate({"entries": [{"value": "0" * 64}]}))
        got = matching.match_local(node, org_id, MatchIn(hashes=[h, "0" * 64]))
        assert [len(r.matches) for r in got] == [1, 1]
        assert other.rebuilds == 0 and other.version(bank.id) == 3
    finally:
        node.bank_indexes = kept
