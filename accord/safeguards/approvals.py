"""Custodians' signed approvals: what exactly a custodian signs, and checking that they did.

A custodian approves one opening by signing, with their own Ed25519 key, a message that binds every
part of it: the request id, the request's random nonce, the warrant, the report, the fields, and who
approves (their custodian registration and their actor id). The message is RFC 8785 canonical JSON, so
any client (the ``accord seal approve`` command, a hardware-token script, another language) can build
the same bytes from the request it is shown.

Why bind all of it: a signature made for one request then verifies for no other. Replaying it on
another request fails on the request id and nonce; moving it to other fields, another report or
another warrant fails on those; presenting it as another custodian's fails on the approver. The nonce
makes two requests with the same warrant, report and fields still different messages.

Reviews of emergency disclosures are signed the same way, under another ``type``, so an approval can
never pass for a review or the other way round.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from accord.errors import Invalid

__all__ = [
    "APPROVAL_TYPE",
    "REVIEW_TYPE",
    "approval_message",
    "load_signing_key",
    "new_signing_key",
    "parse_public_key",
    "public_key_text",
    "review_message",
    "sign",
    "verify",
]

APPROVAL_TYPE = "accord.unseal-approval.v1"
REVIEW_TYPE = "accord.unseal-review.v1"


def approval_message(
    *,
    request_id: str,
    nonce: str,
    warrant_id: str,
    report_id: str,
    fields: Iterable[str],
    custodian_id: str,
    approver_id: str,
) -> bytes:
    """The bytes a custodian signs to approve one opening (fields sorted: their order means nothing)."""
    return rfc8785.dumps(
        {
            "type": APPROVAL_TYPE,
            "request_id": request_id,
            "nonce": nonce,
            "warrant_id": warrant_id,
            "report_id": report_id,
            "fields": sorted(fields),
            "custodian_id": custodian_id,
            "approver_id": approver_id,
        }
    )


def review_message(*, request_id: str, nonce: str, outcome: str, custodian_id: str, approver_id: str) -> bytes:
    """The bytes a custodian signs to record their review of an emergency disclosure."""
    return rfc8785.dumps(
        {
            "type": REVIEW_TYPE,
            "request_id": request_id,
            "nonce": nonce,
            "outcome": outcome,
            "custodian_id": custodian_id,
            "approver_id": approver_id,
        }
    )


def _b64(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional; anything else raises (never silently skipped)."""
    t = text.strip()
    t += "=" * (-len(t) % 4)
    altchars = b"-_" if ("-" in t or "_" in t) else None
    return base64.b64decode(t, altchars=altchars, validate=True)


def parse_public_key(text: str) -> bytes:
    """The raw 32 bytes of an Ed25519 public key given in base64 (standard or URL-safe)."""
    try:
        raw = _b64(text)
    except (binascii.Error, ValueError):
        raise Invalid.at("/public_key", "not base64") from None
    if len(raw) != 32:
        raise Invalid.at("/public_key", f"an Ed25519 public key is 32 bytes, this is {len(raw)}")
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:  # pragma: no cover - every 32-byte string loads; kept for other backends
        raise Invalid.at("/public_key", "not an Ed25519 public key") from None
    return raw


def public_key_text(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def verify(public_key: bytes, message: bytes, signature: str) -> bool:
    """True only for a valid Ed25519 signature (base64) of exactly ``message`` under ``public_key``."""
    try:
        sig = _b64(signature)
    except (binascii.Error, ValueError):
        return False
    if len(sig) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(sig, message)
    except InvalidSignature:
        return False
    return True


def new_signing_key() -> tuple[bytes, str]:
    """A new custodian key: (private key as PKCS#8 PEM, public key as base64)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return pem, public_key_text(raw)


def load_signing_key(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise Invalid.at("", "not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise Invalid.at("", "not an Ed25519 private key")
    return key


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode()
