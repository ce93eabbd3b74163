from __future__ import annotations

import pytest

from accord.graph.records import IdentityRecord
from accord.graph.resolve_eval import exact_components, score


def test_scores_on_a_hand_computed_example() -> None:
    truth = {"a": "1", "b": "1", "c": "2", "d": "2"}
    predicted = {"a": "x", "b": "x", "c": "x", "d": "y"}
    s = score(predicted, truth)
    # predicted pairs ab ac bc, true pairs ab cd: one right
    assert (s.precision, s.recall) == (pytest.approx(1 / 3), pytest.approx(1 / 2))
    assert s.f1 == pytest.approx(0.4)
    assert (s.bcubed_precision, s.bcubed_recall) == (pytest.approx(2 / 3), pytest.approx(3 / 4))
    assert s.ari == pytest.approx(0.0)
    assert (s.clusters, s.true_clusters) == (2, 2)


def test_perfect_and_missing_records() -> None:
    truth = {"a": "1", "b": "1", "c": "2"}
    assert score({"a": "k", "b": "k", "c": "m"}, truth).f1 == 1.0
    alone = score({}, truth)  # every record its own cluster
    assert (alone.precision, alone.recall, alone.f1) == (1.0, 0.0, 0.0)


def test_exact_components_join_on_any_shared_key() -> None:
    def rec(rid: str, *keys: str) -> IdentityRecord:
        return IdentityRecord(rid, "o", 0, keys=keys)

    labels = exact_components([rec("a", "email:x"), rec("b", "email:x", "phone:+1"), rec("c", "phone:+1"), rec("d")])
    assert labels == {"a": "a", "b": "a", "c": "a", "d": "d"}
