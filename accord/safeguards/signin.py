"""People's sign-in: session tokens, initial passwords and the lockout rule, as pure functions.

Why session tokens are stored as a plain SHA-256 and not argon2 like passwords: a token is 32 random
bytes (256 bits), so nobody can search for the token behind a leaked hash, fast hash or not; a slow
hash only protects secrets people choose, which are guessable. A fast, unsalted hash also lets every
request find its session with one indexed lookup, where argon2 would cost tens of milliseconds per
request or a cache of verified tokens.

Why a *fixed* lockout and not an exponential one: anyone who knows an account's identifier can fail
sign-ins on purpose, so each lockout is also a denial of service against the person. A fixed period
bounds that harm, while five tries per period already makes guessing hopeless: each attempt must
also carry the right one of a million TOTP codes (three are accepted), so an attacker who somehow
had the password would still need, on average, months of uninterrupted tries.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from accord.settings import Settings

__all__ = [
    "PASSWORD_MAX_LENGTH",
    "PASSWORD_MIN_LENGTH",
    "SESSION_PREFIX",
    "Attempts",
    "SignInPolicy",
    "is_session_token",
    "new_password",
    "new_password_problem",
    "new_session_token",
    "token_digest",
]

SESSION_PREFIX = "accord_ses_"


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def is_session_token(token: str) -> bool:
    return token.startswith(SESSION_PREFIX)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_password() -> str:
    """An initial password of 120 random bits, shown once at enrolment and stored as an argon2id hash."""
    return secrets.token_urlsafe(15)


PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 1024


def new_password_problem(new: str, current: str) -> str | None:
    """What is wrong with a password a person chooses, or None.

    Why only length and "not the old one" (NIST SP 800-63B 5.1.1.2, which the CJIS Security Policy
    follows): composition rules and forced periodic changes push people to predictable patterns, while
    length is what makes a guess expensive; and every attempt must carry a TOTP code as well. The upper
    bound keeps one argon2 hash cheap enough that a long password cannot tie up the node."""
    length = len(new)
    if length < PASSWORD_MIN_LENGTH:
        return f"must be at least {PASSWORD_MIN_LENGTH} characters long"
    if length > PASSWORD_MAX_LENGTH:
        return f"must be at most {PASSWORD_MAX_LENGTH} characters long"
    if new == current:
        return "must differ from the current password"
    if not new.strip():
        return "must not be blank"
    return None


@dataclass(frozen=True)
class SignInPolicy:
    max_failures: int
    failure_window: timedelta
    lockout: timedelta
    idle: timedelta
    lifetime: timedelta

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError("signin_max_failures must be at least 1")
        for name in ("failure_window", "lockout", "idle", "lifetime"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be positive")

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInPolicy:
        return cls(
            max_failures=settings.signin_max_failures,
            failure_window=timedelta(seconds=settings.signin_failure_window_s),
            lockout=timedelta(seconds=settings.signin_lockout_s),
            idle=timedelta(seconds=settings.session_idle_s),
            lifetime=timedelta(seconds=settings.session_lifetime_s),
        )

    @property
    def touch_interval(self) -> timedelta:
        """How stale a session's last-seen time may get before a request writes it again.

        Why not on every request: that would be a write per API call (and on SQLite, one writer). The
        cost is that the idle timeout may end a session up to this much early."""
        return min(timedelta(minutes=1), self.idle / 10)


@dataclass(frozen=True)
class Attempts:
    """One account's failed sign-ins: how many in the current window, and whether it is locked.

    ``refused`` counts attempts made while locked. They are not audited one by one (an attacker could
    otherwise fill the audit trail at will); the count rides on the account's next audit event."""

    failures: int = 0
    window_start: datetime | None = None
    locked_until: datetime | None = None
    refused: int = 0

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def refuse(self) -> Attempts:
        return replace(self, refused=self.refused + 1)

    def fail(self, now: datetime, policy: SignInPolicy) -> tuple[Attempts, bool]:
        """The state after one more failure, and whether this failure locks the account.

        Failures count until a whole window passes without one (``window_start`` is the latest
        failure), so no window ever holds more than the limit unlocked. A count that restarted once a
        window measured from the first failure had passed let up to twice the limit through across
        the boundary (hypothesis found 3 failures just after 12:00 and 3 at 12:15: six within 15
        minutes, none locking). Reaching the limit locks for the fixed period and clears the count,
        so the next period starts afresh."""
        fresh = self.window_start is None or now >= self.window_start + policy.failure_window
        failures = 1 if fresh else self.failures + 1
        if failures >= policy.max_failures:
            return Attempts(0, None, now + policy.lockout, 0), True
        return Attempts(failures, now, None, 0), False

    def succeed(self) -> Attempts:
        return Attempts()
