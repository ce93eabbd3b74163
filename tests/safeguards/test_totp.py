"""TOTP codes against RFC 6238's own test vectors, the ±1 step window, and malformed codes
(``accord/safeguards/totp.py``)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from accord.safeguards import totp

# RFC 6238 appendix B: the SHA-1 secret is the ASCII string "12345678901234567890"; the RFC prints
# 8-digit codes, and a 6-digit code is the same number's last six digits (RFC 4226 section 5.3).
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
NOW = datetime(2026, 11, 25, 12, 0, 10, tzinfo=UTC)


@pytest.mark.parametrize(("unix", "eight"), RFC_VECTORS)
def test_rfc_6238_vectors(unix: int, eight: str) -> None:
    when = datetime.fromtimestamp(unix, UTC)
    assert totp.matching_step(RFC_SECRET, eight[-6:], when) == unix // 30


def test_window_is_one_step_either_side() -> None:
    secret = totp.new_secret()
    step = int(NOW.timestamp()) // 30
    otp = pyotp.TOTP(secret)
    for offset in range(-3, 4):
        found = totp.matching_step(secret, otp.generate_otp(step + offset), NOW)
        assert found == (step + offset if abs(offset) <= 1 else None), offset
    assert totp.matching_step(secret, otp.generate_otp(step - 2), NOW, window=2) == step - 2


def test_surrounding_whitespace_is_forgiven() -> None:
    secret = totp.new_secret()
    c = pyotp.TOTP(secret).at(NOW)
    assert totp.matching_step(secret, f" {c}\n", NOW) == int(NOW.timestamp()) // 30


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "12345a", "12 345", "\uff11\uff12\uff13\uff14\uff15\uff16"])
def test_malformed_codes_never_match(bad: str) -> None:
    assert totp.matching_step(totp.new_secret(), bad, NOW) is None


def test_secrets_are_160_random_bits() -> None:
    secrets = {totp.new_secret() for _ in range(100)}
    assert len(secrets) == 100
    for s in secrets:
        assert len(s) == 32 and len(base64.b32decode(s)) == 20


def test_provisioning_uri_round_trips() -> None:
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "act_01", "Accord test")
    otp = pyotp.parse_uri(uri)
    assert isinstance(otp, pyotp.TOTP)
    assert (otp.secret, otp.digits, otp.interval, otp.name, otp.issuer) == (secret, 6, 30, "act_01", "Accord test")
    later = NOW + timedelta(minutes=5)
    assert totp.matching_step(secret, otp.at(later), later) == int(later.timestamp()) // 30
