"""Time-based one-time passwords (RFC 6238): 30-second steps, 6 digits, SHA-1, one step either side.

Why this module returns the matched *step* and not a yes/no: a code must be accepted once only. The
caller stores the step of the last accepted code and refuses any code whose step is not later, so
a code seen over a shoulder or replayed from a proxy log is worthless within its own window too
(RFC 6238 section 5.2). pyotp's own ``verify`` answers only yes or no, so it cannot do that.

Why one step either side: phones drift, and people type a code that was shown a few seconds before
the step changed. A wider window would only give a guesser more codes per attempt.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from datetime import datetime

import pyotp

__all__ = ["DIGITS", "STEP_SECONDS", "WINDOW", "matching_step", "new_secret", "provisioning_uri"]

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1


def new_secret() -> str:
    """160 random bits in base32, the size RFC 4226 recommends and authenticator apps expect."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans. It holds the secret: show it once."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


def matching_step(secret: str, code: str, now: datetime, window: int = WINDOW) -> int | None:
    """The time step whose code ``code`` is, within ``window`` steps of ``now``; None if none is.

    Every candidate is compared (in constant time), so the answer's timing does not say which step
    matched or how many digits were right."""
    code = code.strip()
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):  # isdigit alone takes other scripts too
        return None
    totp = _totp(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    found = None
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found
