"""Session tokens, initial passwords and the lockout rule (``accord/safeguards/signin.py``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.safeguards.signin import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    Attempts,
    SignInPolicy,
    is_session_token,
    new_password,
    new_password_problem,
    new_session_token,
    token_digest,
)
from accord.settings import Settings

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = SignInPolicy(
    max_failures=5,
    failure_window=timedelta(minutes=15),
    lockout=timedelta(minutes=10),
    idle=timedelta(minutes=30),
    lifetime=timedelta(hours=12),
)


def test_tokens() -> None:
    tokens = {new_session_token() for _ in range(100)}
    assert len(tokens) == 100
    for t in tokens:
        assert is_session_token(t) and len(t) == len("accord_ses_") + 43  # 32 bytes, base64url
        assert token_digest(t) == hashlib.sha256(t.encode()).hexdigest()
    assert not is_session_token("accord_key_01_secret")


def test_passwords() -> None:
    passwords = {new_password() for _ in range(100)}
    assert len(passwords) == 100 and all(len(p) == 20 for p in passwords)


def test_policy_from_settings_and_defaults(tmp_path: Path) -> None:
    assert SignInPolicy.from_settings(Settings(data_dir=tmp_path)) == POLICY
    env = {
        "ACCORD_SIGNIN_MAX_FAILURES": "3",
        "ACCORD_SIGNIN_FAILURE_WINDOW_SECONDS": "60",
        "ACCORD_SIGNIN_LOCKOUT_SECONDS": "120",
        "ACCORD_SESSION_IDLE_SECONDS": "300",
        "ACCORD_SESSION_LIFETIME_SECONDS": "3600",
        "ACCORD_TOTP_ISSUER": "Hotline X",
    }
    settings = Settings.from_env(env)
    assert SignInPolicy.from_settings(settings) == SignInPolicy(
        3, timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5), timedelta(hours=1)
    )
    assert settings.totp_issuer == "Hotline X"


@pytest.mark.parametrize(
    "change",
    [{"max_failures": 0}, {"failure_window": timedelta(0)}, {"lockout": timedelta(-1)}, {"idle": timedelta(0)}],
)
def test_nonsense_policies_are_refused(change: dict[str, object]) -> None:
    fields = {**POLICY.__dict__, **change}
    with pytest.raises(ValueError):
        SignInPolicy(**fields)  # type: ignore[arg-type]


def test_touch_interval() -> None:
    assert POLICY.touch_interval == timedelta(minutes=1)
    short = SignInPolicy(5, timedelta(minutes=1), timedelta(minutes=1), timedelta(seconds=100), timedelta(hours=1))
    assert short.touch_interval == timedelta(seconds=10)


def test_fifth_failure_in_the_window_locks_for_the_fixed_period() -> None:
    a = Attempts()
    for i in range(1, 5):
        a, locked = a.fail(T0 + timedelta(minutes=3 * i), POLICY)
        assert not locked and a.failures == i and a.window_start == T0 + timedelta(minutes=3 * i)
    a, locked = a.fail(T0 + timedelta(minutes=15), POLICY)
    assert locked and a == Attempts(0, None, T0 + timedelta(minutes=25), 0)
    assert a.locked(T0 + timedelta(minutes=24, seconds=59))
    assert not a.locked(T0 + timedelta(minutes=25))


def test_the_count_restarts_only_after_a_whole_window_without_failures() -> None:
    a, _ = Attempts().fail(T0, POLICY)
    for _ in range(3):
        a, _ = a.fail(T0 + timedelta(minutes=14), POLICY)
    a, locked = a.fail(T0 + timedelta(minutes=28, seconds=59), POLICY)  # 14:59 after the last: counts
    assert locked
    a, _ = Attempts().fail(T0, POLICY)
    a, locked = a.fail(T0 + timedelta(minutes=15), POLICY)  # a whole quiet window: a new count
    assert not locked and a.failures == 1 and a.window_start == T0 + timedelta(minutes=15)


def test_refusals_are_counted_and_cleared_by_the_next_event() -> None:
    a = Attempts(locked_until=T0).refuse().refuse()
    assert a.refused == 2 and a.locked_until == T0
    after, _ = a.fail(T0, POLICY)
    assert after.refused == 0
    assert a.succeed() == Attempts()
    assert not Attempts().locked(T0)


@given(gaps=st.lists(st.integers(min_value=0, max_value=3600), max_size=60))
def test_never_more_than_max_failures_unlocked_within_a_window(gaps: list[int]) -> None:
    """Whatever the timing, an account never takes more than five failures within 15 minutes without locking."""
    a, now, recent = Attempts(), T0, list[datetime]()
    for gap in gaps:
        now += timedelta(seconds=gap)
        if a.locked(now):
            a = a.refuse()
            continue
        a, locked = a.fail(now, POLICY)
        recent = [t for t in recent if now - t < POLICY.failure_window] + [now]
        if locked:
            recent = []
        assert len(recent) <= POLICY.max_failures


@pytest.mark.parametrize(
    "new, problem",
    [
        ("x" * (PASSWORD_MIN_LENGTH - 1), "at least 12"),
        ("current-password-1", "differ"),
        (" " * 20, "blank"),
        ("y" * (PASSWORD_MAX_LENGTH + 1), "at most 1024"),
        ("x" * PASSWORD_MIN_LENGTH, None),
        ("correct horse battery", None),
    ],
)
def test_new_password_rules(new: str, problem: str | None) -> None:
    found = new_password_problem(new, "current-password-1")
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_a_generated_password_meets_the_rules() -> None:
    assert new_password_problem(new_password(), "") is None
