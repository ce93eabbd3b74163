"""The limits of attempts (``accord/safeguards/ratelimit.py``): fixed windows, the wait they announce, the one
refusal per window worth auditing, and tables that never outgrow their bound; the shared limiter's windows
aligned to the epoch, its counter asked once per request until a refusal, then not again in that window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.safeguards.ratelimit import AddressLimiter, SharedLimiter, Verdict

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_the_limit_then_refusals_until_the_window_ends() -> None:
    limiter = AddressLimiter(3, MINUTE)
    assert [limiter.hit("a", T0).allowed for _ in range(3)] == [True] * 3
    assert limiter.hit("a", T0 + timedelta(seconds=15)) == Verdict(False, 45, True)
    assert limiter.hit("a", T0 + timedelta(seconds=59, microseconds=1)) == Verdict(False, 1, False)
    assert limiter.hit("b", T0 + timedelta(seconds=30)).allowed  # another address has its own count
    assert limiter.hit("a", T0 + MINUTE) == Verdict(True)  # a new window
    assert [limiter.hit("a", T0 + MINUTE).allowed for _ in range(3)] == [True, True, False]


def test_the_table_stays_within_its_bound_dropping_expired_then_oldest() -> None:
    limiter = AddressLimiter(1, MINUTE, max_addresses=3)
    for i, addr in enumerate("abc"):
        limiter.hit(addr, T0 + timedelta(seconds=i))
    assert not limiter.hit("a", T0 + timedelta(seconds=5)).allowed
    limiter.hit("d", T0 + timedelta(seconds=6))  # full of live windows: the oldest ("a") goes
    assert len(limiter) == 3
    assert limiter.hit("a", T0 + timedelta(seconds=7)).allowed  # forgotten, so counted afresh ("b" went)
    assert not limiter.hit("c", T0 + timedelta(seconds=8)).allowed  # "c" is still remembered
    limiter.hit("e", T0 + timedelta(minutes=5))  # every window has expired: all dropped but the new one
    assert len(limiter) == 1


@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 30)), max_size=300))
def test_never_more_than_the_limit_in_any_window_of_an_address_it_remembers(
    hits: list[tuple[str, int]],
) -> None:
    limiter = AddressLimiter(4, MINUTE, max_addresses=100)
    now = T0
    allowed: dict[str, list[datetime]] = {}
    for addr, step in hits:
        now += timedelta(seconds=step)
        if limiter.hit(addr, now).allowed:
            allowed.setdefault(addr, []).append(now)
        assert len(limiter) <= 100
    for times in allowed.values():
        for t in times:  # windows are fixed, so at most twice the limit in any sliding minute
            assert sum(t <= u < t + MINUTE for u in times) <= 8


def test_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        AddressLimiter(0, MINUTE)
    with pytest.raises(ValueError):
        AddressLimiter(1, timedelta(0))


class Counter:
    """The shared count as the database keeps it: one number per (sender, window start); ``calls`` says how
    often the limiter asked (each ask is a write in the inbox)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, datetime], int] = {}
        self.calls = 0

    def __call__(self, sender: str, start: datetime) -> int:
        self.calls += 1
        self.counts[(sender, start)] = self.counts.get((sender, start), 0) + 1
        return self.counts[(sender, start)]


def test_shared_windows_are_aligned_and_a_refused_sender_is_not_counted_again() -> None:
    limiter, count = SharedLimiter(2, MINUTE), Counter()
    at = T0 + timedelta(seconds=20)  # T0 is on a minute: the window is [T0, T0 + 1 min)
    assert limiter.window_of(at) == T0 and limiter.window_of(T0 + MINUTE) == T0 + MINUTE
    assert [limiter.hit("a", at, count).allowed for _ in range(2)] == [True, True]
    assert limiter.hit("a", at, count) == Verdict(False, 40, True)
    assert limiter.hit("a", T0 + timedelta(seconds=59, microseconds=1), count) == Verdict(False, 1, False)
    assert count.calls == 3  # the refusal is remembered: no more counting in this window
    assert limiter.hit("b", at, count).allowed  # another sender has its own count
    assert limiter.hit("a", T0 + MINUTE, count) == Verdict(True)  # the next window
    assert count.counts[("a", T0 + MINUTE)] == 1


def test_shared_counts_from_another_worker_decide_and_only_one_worker_audits() -> None:
    count = Counter()  # one database, two workers with their own memory
    one, two = SharedLimiter(2, MINUTE), SharedLimiter(2, MINUTE)
    assert one.hit("a", T0, count).allowed and two.hit("a", T0, count).allowed
    assert two.hit("a", T0, count) == Verdict(False, 60, True)
    assert one.hit("a", T0, count) == Verdict(False, 60, False)  # over the limit, not the first refusal


def test_the_shared_limiters_memory_stays_within_its_bound() -> None:
    limiter, count = SharedLimiter(1, MINUTE, max_senders=2), Counter()
    for sender in "abc":  # each refused once: remembered, the oldest dropped past two
        limiter.hit(sender, T0, count)
        limiter.hit(sender, T0, count)
    assert list(limiter._refused) == ["b", "c"]
    calls = count.calls
    assert not limiter.hit("a", T0, count).allowed and count.calls == calls + 1  # forgotten: counted again
    limiter.hit("d", T0 + MINUTE, count)
    limiter.hit("d", T0 + MINUTE, count)  # a later window: the expired ones go first
    assert list(limiter._refused) == ["d"]


@pytest.mark.parametrize(("limit", "seconds", "senders"), [(0, 60, 1), (1, 0, 1), (1, 60, 0)])
def test_the_shared_limiter_refuses_a_meaningless_configuration(limit: int, seconds: int, senders: int) -> None:
    with pytest.raises(ValueError):
        SharedLimiter(limit, timedelta(seconds=seconds), senders)
