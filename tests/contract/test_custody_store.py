"""The custody log's store (``accord/store/custody.py``) on both backends: appends are gapless, durable and
atomic with the caller's transaction, and the stored subtree hashes give the same proofs as the pure
RFC 9162 functions."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from accord.custody import merkle
from accord.custody.entry import CustodyAction, CustodyEntry
from accord.errors import NotFound
from accord.ids import ActorId, OrgId
from accord.model.organisation import Actor, ActorKind, Role
from accord.services import custody as service
from accord.services.node import Node
from accord.store import custody as store
from accord.store import migrate
from accord.store.schema import custody_leaves, custody_nodes, custody_tree

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def entries(n: int, start: int = 0, org: str = "org_a", obj: str = "rpt") -> list[CustodyEntry]:
    return [
        CustodyEntry(
            action=CustodyAction.RECEIVED,
            actor_id=ActorId("act_1"),
            org_id=OrgId(org),
            at=AT,
            object_type="report",
            object_id=f"{obj}_{i}",
            digest=f"{i:064x}",
            detail={"n": i},
        )
        for i in range(start, start + n)
    ]


def hashes_of(es: list[CustodyEntry]) -> list[bytes]:
    return [merkle.leaf_hash(e.leaf_bytes()) for e in es]


def actor(org: str) -> Actor:
    return Actor(
        id=ActorId("act_1"), org_id=OrgId(org), name="x", kind=ActorKind.service, roles=frozenset({Role.analyst})
    )


@pytest.fixture
def log(node: Node) -> Node:
    migrate.upgrade(node.db)
    return node


def count(node: Node, table: sa.Table) -> int:
    with node.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_appends_number_from_zero_and_keep_the_tree(log: Node) -> None:
    written: list[CustodyEntry] = []
    for n in (1, 6, 0, 25, 100):
        batch = entries(n, len(written))
        with log.db.write() as conn:
            assert store.append(conn, batch) == list(range(len(written), len(written) + n))
        written += batch
    cache = merkle.SubtreeCache(hashes_of(written))
    with log.db.read() as conn:
        tree = store.state(conn)
        assert (tree.size, tree.root) == (132, merkle.root_hash([e.leaf_bytes() for e in written]))
        assert tree.frontier == cache.frontier
        stored = {(int(r.level), int(r.idx)): bytes(r.hash) for r in conn.execute(sa.select(custody_nodes))}
        leaf = conn.execute(sa.select(custody_leaves).where(custody_leaves.c.seq == 31)).one()
    # every perfect subtree above the leaves, and nothing else
    expected = {}
    for level in range(1, 8):
        for index in range(132 >> level):
            expected[level, index] = cache.node(level, index)
    assert stored == expected
    assert bytes(leaf.leaf) == written[31].leaf_bytes() and bytes(leaf.leaf_hash) == hashes_of(written)[31]
    assert (leaf.org_id, leaf.object_type, leaf.object_id, leaf.action, leaf.at) == (
        "org_a",
        "report",
        "rpt_31",
        "received",
        AT,
    )


def test_a_rolled_back_batch_leaves_no_leaf_and_no_state_change(log: Node) -> None:
    with log.db.write() as conn:
        store.append(conn, entries(5))
    with log.db.read() as conn:
        before = store.state(conn)
    leaves, nodes = count(log, custody_leaves), count(log, custody_nodes)
    with pytest.raises(RuntimeError, match="the evidence failed"), log.db.write() as conn:
        assert store.append(conn, entries(10, 5)) == list(range(5, 15))
        raise RuntimeError("the evidence failed to store")
    with log.db.read() as conn:
        after = store.state(conn)
    assert (after.size, after.root, after.frontier) == (before.size, before.root, before.frontier)
    assert (count(log, custody_leaves), count(log, custody_nodes)) == (leaves, nodes)
    with log.db.write() as conn:
        assert store.append(conn, entries(3, 5)) == [5, 6, 7]  # no gap where the rolled-back batch was
    assert service.verify_log(log).ok


def test_an_empty_append_writes_nothing(log: Node) -> None:
    with log.db.write() as conn:
        assert store.append(conn, []) == []
    assert count(log, custody_leaves) == 0


def test_the_tree_row_is_recreated_if_missing(log: Node) -> None:
    with log.db.write() as conn:
        conn.execute(sa.delete(custody_tree))
        assert store.state(conn).size == 0
        assert store.append(conn, entries(2)) == [0, 1]
    with log.db.read() as conn:
        assert store.state(conn).root == merkle.root_hash([e.leaf_bytes() for e in entries(2)])


def test_concurrent_appends_from_two_connections_are_gapless(log: Node) -> None:
    """Two writers race (on PostgreSQL two pooled connections; SQLite serialises them in its one writer):
    every batch gets a contiguous run of numbers, together they cover 0..n-1, and the tree is intact."""
    got: dict[str, list[list[int]]] = {"x": [], "y": []}
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(15):
                with log.db.write() as conn:
                    got[name].append(store.append(conn, entries(40, i * 40, obj=f"{name}{i}")))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    runs = got["x"] + got["y"]
    for run in runs:
        assert run == list(range(run[0], run[0] + 40))
    assert sorted(s for run in runs for s in run) == list(range(1200))
    with log.db.read() as conn:
        leaves = [bytes(r.leaf) for r in conn.execute(sa.select(custody_leaves.c.leaf).order_by(custody_leaves.c.seq))]
        assert store.state(conn).root == merkle.root_hash(leaves)
    result = service.verify_log(log)
    assert result.ok and result.leaves == 1200, result.faults


def subtree_from_store(conn: sa.Connection, start: int, end: int) -> bytes:
    stored = store.nodes(conn, merkle.range_nodes(start, end))
    return merkle.hash_range(start, end, lambda level, index: stored[level, index])


def test_proofs_from_the_store_equal_the_pure_functions(log: Node) -> None:
    rng = random.Random(9162)
    written: list[CustodyEntry] = []
    while len(written) < 300:
        batch = entries(rng.randint(1, 40), len(written))
        with log.db.write() as conn:
            store.append(conn, batch)
        written += batch
    hashes = hashes_of(written)
    n = len(hashes)
    cache = merkle.SubtreeCache(hashes)
    with log.db.read() as conn:
        for _ in range(150):
            size = rng.randint(1, n)
            index = rng.randrange(size)
            proof = merkle.inclusion_proof_from(index, size, lambda s, e: subtree_from_store(conn, s, e))
            assert proof == merkle.inclusion_proof(index, hashes[:size])
            assert merkle.verify_inclusion(index, size, hashes[index], proof, merkle.root_from_hashes(hashes[:size]))
        for _ in range(150):
            new = rng.randint(1, n)
            old = rng.randint(0, new)
            proof = merkle.consistency_proof_from(old, new, lambda s, e: subtree_from_store(conn, s, e))
            assert proof == merkle.consistency_proof(old, hashes[:new])
        # one statement for everything a proof needs: the wanted set holds every level at once
        wanted = {node for start, end in merkle.inclusion_ranges(137, 299) for node in merkle.range_nodes(start, end)}
        assert {level for level, _ in wanted} >= {0, 1, 3}
        assert set(store.nodes(conn, wanted)) == wanted
        assert store.nodes(conn, []) == {}
        # an export asks for many at once: split into statements SQLite accepts, the answer whole
        everything = {(0, i) for i in range(n)} | {(lv, i) for lv in range(1, 9) for i in range(n >> lv)}
        assert store.nodes(conn, everything) == {(lv, i): cache.node(lv, i) for lv, i in everything}
        assert store.nodes(conn, [(0, 10_000), (4, 10_000)]) == {}  # beyond the log: absent, not an error


def test_lookups(log: Node) -> None:
    with log.db.write() as conn:
        store.append(conn, entries(4, org="org_a") + entries(3, 4, org="org_b") + entries(1, 0, org="org_a"))
    a, b = actor("org_a"), actor("org_b")
    first = entries(1)[0]
    with log.db.read() as conn:
        assert store.get_entry(conn, a, 2).object_id == "rpt_2"
        with pytest.raises(NotFound):
            store.get_entry(conn, a, 5)  # org_b's leaf is missing to org_a
        with pytest.raises(NotFound):
            store.get_entry(conn, b, 99)
        assert store.seq_by_leaf_hash(conn, merkle.leaf_hash(first.leaf_bytes())) == 0  # the first of two equal
        assert store.seq_by_leaf_hash(conn, bytes(32)) is None
        found = store.leaves_for_objects(conn, a, "report", ["rpt_0", "rpt_5", "rpt_3"], below=8)
        assert [(leaf.seq, leaf.object_id) for leaf in found] == [(0, "rpt_0"), (3, "rpt_3"), (7, "rpt_0")]
        assert [leaf.seq for leaf in store.leaves_for_objects(conn, a, "report", ["rpt_0"], below=7)] == [0]
        assert [leaf.seq for leaf in store.leaves_for_objects(conn, b, "report", ["rpt_5"], below=8)] == [5]
        scanned = list(store.iterate_leaves(conn, batch=3))
        assert [leaf[0] for leaf in scanned] == list(range(8))
        first_leaf = entries(1)[0]
        assert scanned[0] == (
            0,
            first_leaf.leaf_bytes(),
            merkle.leaf_hash(first_leaf.leaf_bytes()),
            "org_a",
            "report",
            "rpt_0",
            "received",
            "2026-11-25T12:00:00.000000Z",  # spelled as in the leaf, on either backend
        )
        assert [i for i, _ in store.iterate_nodes(conn, 1, batch=1)] == [0, 1, 2, 3]
        assert store.levels(conn) == [1, 2, 3]
