"""The database nonce store keeps the in-memory store's contract on both backends: a (sender, nonce) is
accepted once within the horizon, forgotten after it, and forgotten too when its transaction rolls back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accord.exchange.nonce import InMemoryNonceStore, NonceStore
from accord.services.node import Node
from accord.store import migrate
from accord.store.federation import DbNonceStore


class Rollback(Exception):
    pass


def test_nonce_store_matches_the_in_memory_contract(node: Node) -> None:
    migrate.upgrade(node.db)
    now = node.clock.now()
    horizon = timedelta(seconds=600)
    memory: NonceStore = InMemoryNonceStore(horizon)
    steps = [
        ("node_a", "n1", now, now),
        ("node_a", "n1", now, now),  # replay
        ("node_b", "n1", now, now),  # another sender's same nonce
        ("node_a", "n2", now - timedelta(seconds=599), now),
        # the first n1 left the horizon and is forgotten: a fresh envelope may reuse it, once
        ("node_a", "n1", now + timedelta(seconds=601), now + timedelta(seconds=601)),
        ("node_a", "n1", now + timedelta(seconds=601), now + timedelta(seconds=601)),
    ]
    got = []
    for sender, nonce, created, at in steps:
        with node.db.write() as conn:
            got.append(DbNonceStore(conn, horizon).add(sender, nonce, created, at))
    assert got == [memory.add(*step) for step in steps] == [True, False, True, True, True, False]

    with pytest.raises(Rollback), node.db.write() as conn:
        assert DbNonceStore(conn, horizon).add("node_c", "n9", now, now)
        raise Rollback  # a refused envelope's transaction: its nonce is not kept
    with node.db.write() as conn:
        assert DbNonceStore(conn, horizon).add("node_c", "n9", now, now)
