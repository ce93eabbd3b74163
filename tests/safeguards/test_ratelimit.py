"""The per-address limit of attempts (``accord/safeguards/ratelimit.py``): fixed windows, the wait it
announces, the one refusal per window worth auditing, and a table that never outgrows its bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.safeguards.ratelimit import AddressLimiter, Verdict

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
