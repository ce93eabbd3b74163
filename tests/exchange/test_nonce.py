from __future__ import annotations

from datetime import timedelta

from accord.exchange.nonce import InMemoryNonceStore
from tests.exchange.conftest import T0


def test_a_nonce_is_accepted_once_per_sender() -> None:
    store = InMemoryNonceStore()
    assert store.add("node_a", "n1", T0, T0)
    assert not store.add("node_a", "n1", T0, T0 + timedelta(seconds=1))
    assert store.add("node_b", "n1", T0, T0)


def test_memory_is_bounded_by_the_created_time_window() -> None:
    store = InMemoryNonceStore(horizon=timedelta(seconds=300))
    for i in range(1000):
        at = T0 + timedelta(seconds=i)
        assert store.add("node_a", f"n{i}", at, at)
        assert len(store) <= 301
    # inside the window a nonce is still remembered; once its created time left the window it is forgotten
    assert not store.add("node_a", "n999", T0, T0 + timedelta(seconds=1000))
    assert store.add("node_a", "n0", T0, T0 + timedelta(seconds=1000))
