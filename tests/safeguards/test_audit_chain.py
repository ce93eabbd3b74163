"""The audit trail's hash chain (``accord/safeguards/audit_chain.py``)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.safeguards.audit_chain import GENESIS, HASHED_FIELDS, ChainBreak, event_hash, verify_chain

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ACTIONS = ["report.create", "report.read", "case.create", "case.update", "auth.failure", "audit.read"]


def fields(seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": T0 + timedelta(seconds=seq),
        "actor_id": f"act_{seq % 3}" if seq % 4 else None,
        "org_id": "org_A" if seq % 2 else "org_B",
        "action": ACTIONS[seq % len(ACTIONS)],
        "object_type": "report" if seq % 5 else None,
        "object_id": f"rpt_{seq:04d}" if seq % 5 else None,
        "request_id": f"req-{seq}",
        "outcome": "denied" if seq % 7 == 0 else "success",
        "detail": {"count": seq, "ids": [f"rpt_{seq}"]} if seq % 3 else {},
    }


def chain_of(events: list[dict[str, Any]], start_prev: str = GENESIS) -> list[dict[str, Any]]:
    """(Re-)link ``events`` in order: each gets prev_hash and hash."""
    prev = start_prev
    out = []
    for ev in events:
        ev = {k: ev[k] for k in HASHED_FIELDS}
        digest = event_hash(prev, ev)
        out.append({**ev, "prev_hash": prev, "hash": digest})
        prev = digest
    return out


def build(n: int) -> list[dict[str, Any]]:
    return chain_of([fields(i) for i in range(1, n + 1)])


def break_seqs(breaks: list[ChainBreak]) -> set[int]:
    return {b.seq for b in breaks}


def test_clean_chain_has_no_breaks() -> None:
    events = build(10)
    assert events[0]["prev_hash"] == GENESIS
    assert all(events[i]["prev_hash"] == events[i - 1]["hash"] for i in range(1, 10))
    assert verify_chain(events) == (10, [])


def test_empty_chain() -> None:
    assert verify_chain([]) == (0, [])


def test_hash_is_deterministic_and_covers_prev_hash() -> None:
    f = fields(1)
    assert event_hash(GENESIS, f) == event_hash(GENESIS, copy.deepcopy(f))
    assert event_hash(GENESIS, f) != event_hash("1" * 64, f)
    assert len(event_hash(GENESIS, f)) == 64 and int(event_hash(GENESIS, f), 16) >= 0


def test_hash_ignores_detail_key_order() -> None:
    a, b = fields(1), fields(1)
    a["detail"] = {"x": 1, "y": 2}
    b["detail"] = {"y": 2, "x": 1}
    assert event_hash(GENESIS, a) == event_hash(GENESIS, b)


def test_edited_field_is_detected() -> None:
    events = build(8)
    events[3]["outcome"] = "success" if events[3]["outcome"] != "success" else "denied"
    checked, breaks = verify_chain(events)
    assert checked == 8
    assert break_seqs(breaks) == {4}
    assert "contents" in breaks[0].reason


def test_edited_actor_is_detected() -> None:
    events = build(8)
    events[5]["actor_id"] = "act_other"
    assert break_seqs(verify_chain(events)[1]) == {6}


def test_edited_time_is_detected() -> None:
    events = build(8)
    events[2]["at"] = events[2]["at"] + timedelta(microseconds=1)
    assert break_seqs(verify_chain(events)[1]) == {3}


def test_edited_detail_is_detected() -> None:
    events = build(8)
    events[1]["detail"] = {**events[1]["detail"], "count": 999}
    assert break_seqs(verify_chain(events)[1]) == {2}
    events = build(8)
    events[4]["detail"] = {**events[4]["detail"], "extra": "x"}
    assert break_seqs(verify_chain(events)[1]) == {5}


def test_deleted_middle_event_is_detected() -> None:
    events = build(8)
    del events[4]  # seq 5
    checked, breaks = verify_chain(events)
    assert checked == 7
    assert break_seqs(breaks) == {6}
    reasons = " ".join(b.reason for b in breaks)
    assert "expected seq 5" in reasons and "prev_hash" in reasons


def test_inserted_event_is_detected() -> None:
    events = build(6)
    # a well-formed event hashed onto seq 3, slipped in before the old seq 4
    forged = chain_of([{**fields(4), "action": "report.read"}], start_prev=events[2]["hash"])[0]
    tampered = [*events[:3], forged, *events[3:]]
    checked, breaks = verify_chain(tampered)
    assert checked == 7
    assert breaks
    assert 4 in break_seqs(breaks)  # the old seq 4 now follows the forged one


def test_swapped_events_are_detected() -> None:
    events = build(6)
    events[2], events[3] = events[3], events[2]
    breaks = verify_chain(events)[1]
    assert {3, 4} <= break_seqs(breaks)


def test_swapped_events_with_renumbered_seq_are_detected() -> None:
    events = build(6)
    events[2], events[3] = events[3], events[2]
    events[2]["seq"], events[3]["seq"] = 3, 4
    breaks = verify_chain(events)[1]
    assert {3, 4} <= break_seqs(breaks)


def test_rewrite_one_without_rechaining_the_next() -> None:
    events = build(8)
    edited = {**events[3], "outcome": "failure"}
    edited["hash"] = event_hash(edited["prev_hash"], edited)  # re-hashed, consistent in itself
    events[3] = edited
    breaks = verify_chain(events)[1]
    assert break_seqs(breaks) == {5}
    assert "prev_hash" in breaks[0].reason


def test_rewrite_all_from_one_onwards_is_only_caught_by_an_external_head() -> None:
    # rewriting the whole tail is consistent in itself: this is why the head is recorded elsewhere
    events = build(8)
    tail = [{**e} for e in events[3:]]
    tail[0]["outcome"] = "failure"
    rewritten = events[:3] + chain_of(tail, start_prev=events[2]["hash"])
    assert verify_chain(rewritten) == (8, [])
    assert rewritten[-1]["hash"] != events[-1]["hash"]


def test_truncated_head_is_detected() -> None:
    events = build(8)
    checked, breaks = verify_chain(events[3:])
    assert checked == 5
    assert break_seqs(breaks) == {4}
    reasons = " ".join(b.reason for b in breaks)
    assert "expected seq 1" in reasons and "prev_hash" in reasons


def test_truncated_head_rechained_from_genesis_is_still_detected() -> None:
    events = build(8)
    rest = chain_of(events[3:])  # re-linked from GENESIS but seqs still start at 4
    breaks = verify_chain(rest)[1]
    assert break_seqs(breaks) == {4}
    assert "expected seq 1" in breaks[0].reason


MUTABLE = (*HASHED_FIELDS, "prev_hash", "hash")


def mutate(value: Any, name: str, salt: int) -> Any:
    if name in ("prev_hash", "hash"):
        return format((int(value, 16) + salt) % (1 << 256), "064x")
    if name == "seq":
        return value + salt
    if name == "at":
        return value + timedelta(microseconds=salt)
    if name == "detail":
        return {**value, "k": salt}
    if value is None:
        return f"v{salt}"
    return f"{value}-{salt}"


@settings(deadline=None, max_examples=150)
@given(
    n=st.integers(min_value=1, max_value=12),
    data=st.data(),
    name=st.sampled_from(MUTABLE),
    salt=st.integers(min_value=1, max_value=10**6),
)
def test_any_single_field_mutation_is_detected(n: int, data: st.DataObject, name: str, salt: int) -> None:
    events = build(n)
    i = data.draw(st.integers(min_value=0, max_value=n - 1), label="index")
    before = events[i][name]
    events[i][name] = mutate(before, name, salt)
    assert events[i][name] != before
    checked, breaks = verify_chain(events)
    assert checked == n
    assert breaks, f"mutating {name} of event {i + 1} went unnoticed"
    # the break is reported at the mutated event itself (under the seq it now carries)
    assert events[i]["seq"] in break_seqs(breaks)
