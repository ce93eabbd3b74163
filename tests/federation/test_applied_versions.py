"""Which objects of a pulled batch still need applying: each object's latest version in the batch, less
what this node applied at that version or later (``store.sync.unapplied``), on both backends."""

from __future__ import annotations

from accord.store import sync as store
from tests.conftest import World


def test_latest_version_per_object_and_nothing_applied_twice(world: World) -> None:
    node = world.node  # a bootstrapped node: its schema is migrated
    with node.db.write() as conn:
        store.set_applied(conn, "peer-a", [("x", 2, "local-x"), ("y", 5, "local-y")], set())
    batch = [
        ("x", 1, "x1"),  # older than applied (2)
        ("x", 3, "x3"),  # newer: applied
        ("y", 5, "y5"),  # the version applied already
        ("z", 2, "z2"),
        ("z", 1, "z1"),  # an older version of z later in the same batch
    ]
    with node.db.read() as conn:
        todo, known, skipped = store.unapplied(conn, "peer-a", batch)
        other_peer = store.unapplied(conn, "peer-b", batch)
    assert sorted(todo) == [("x", "x3"), ("z", "z2")]
    assert known == {"x", "y"}
    assert skipped == 3  # x1, y5, z1: accepted and passed over add up to the batch
    # applied versions are per peer: the same ids from another peer are all new
    assert sorted(other_peer[0]) == [("x", "x3"), ("y", "y5"), ("z", "z2")] and other_peer[1] == set()
