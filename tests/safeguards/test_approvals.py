"""Custodians' signed approvals (``accord/safeguards/approvals.py``)."""

from __future__ import annotations

import base64

import pytest
import rfc8785

from accord.errors import Invalid
from accord.safeguards import approvals

FIELDS = {
    "request_id": "unr_1",
    "nonce": "00" * 16,
    "warrant_id": "wrt_1",
    "report_id": "rpt_1",
    "fields": ["/subjects/1", "/narrative"],
    "custodian_id": "cus_1",
    "approver_id": "act_1",
}


def test_the_message_is_canonical_json_binding_every_part() -> None:
    msg = approvals.approval_message(**FIELDS)  # type: ignore[arg-type]
    expected = {**FIELDS, "fields": ["/narrative", "/subjects/1"], "type": "accord.unseal-approval.v1"}
    assert msg == rfc8785.dumps(expected)
    assert approvals.approval_message(**{**FIELDS, "fields": ["/narrative", "/subjects/1"]}) == msg  # type: ignore[arg-type]


@pytest.mark.parametrize("part", sorted(FIELDS))
def test_a_signature_verifies_for_its_message_only(part: str) -> None:
    pem, public = approvals.new_signing_key()
    key = approvals.load_signing_key(pem)
    raw = approvals.parse_public_key(public)
    msg = approvals.approval_message(**FIELDS)  # type: ignore[arg-type]
    sig = approvals.sign(key, msg)
    assert approvals.verify(raw, msg, sig)
    changed = {**FIELDS, part: ["/narrative"] if part == "fields" else FIELDS[part] + "x"}  # type: ignore[operator]
    assert not approvals.verify(raw, approvals.approval_message(**changed), sig)  # type: ignore[arg-type]


def test_approvals_and_reviews_never_pass_for_each_other() -> None:
    pem, public = approvals.new_signing_key()
    key, raw = approvals.load_signing_key(pem), approvals.parse_public_key(public)
    review = approvals.review_message(
        request_id="unr_1", nonce="00", outcome="upheld", custodian_id="c", approver_id="a"
    )
    assert b'"type":"accord.unseal-review.v1"' in review
    sig = approvals.sign(key, review)
    assert approvals.verify(raw, review, sig)
    assert not approvals.verify(raw, approvals.approval_message(**FIELDS), sig)  # type: ignore[arg-type]


def test_other_keys_and_malformed_signatures_fail() -> None:
    pem, public = approvals.new_signing_key()
    _, other_public = approvals.new_signing_key()
    msg = approvals.approval_message(**FIELDS)  # type: ignore[arg-type]
    sig = approvals.sign(approvals.load_signing_key(pem), msg)
    assert not approvals.verify(approvals.parse_public_key(other_public), msg, sig)
    raw = approvals.parse_public_key(public)
    for bad in ("", "!!!", "AAAA", sig[:-4], base64.b64encode(b"x" * 64).decode()):
        assert not approvals.verify(raw, msg, bad)
    urlsafe = base64.urlsafe_b64encode(base64.b64decode(sig)).decode().rstrip("=")
    assert approvals.verify(raw, msg, urlsafe)  # URL-safe, unpadded: the same signature


def test_public_keys_are_checked() -> None:
    _, public = approvals.new_signing_key()
    raw = approvals.parse_public_key(public)
    assert len(raw) == 32 and approvals.public_key_text(raw) == public
    assert approvals.parse_public_key(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw
    with pytest.raises(Invalid, match="not base64"):
        approvals.parse_public_key("not base64!")
    with pytest.raises(Invalid, match="32 bytes, this is 3"):
        approvals.parse_public_key("AAAA")


def test_signing_keys_are_checked() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    with pytest.raises(Invalid, match="PEM"):
        approvals.load_signing_key(b"nonsense")
    ec = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(Invalid, match="not an Ed25519"):
        approvals.load_signing_key(ec)
