"""DSSE envelopes (https://github.com/secure-systems-lab/dsse): ``payloadType``, base64 ``payload`` and
``signatures`` [{keyid, sig}], each signature over the pre-authentication encoding (PAE) of type and body.

Why PAE: the signature covers the payload type too, so a body cannot be replayed as another kind of
message, and the lengths make the encoding unambiguous without any parsing of the body.

Accord's envelopes carry exactly one signature (the sending node's) and are themselves written as RFC 8785
canonical JSON with canonical base64, so each has one byte form (``accord.exchange.wire``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from accord.exchange.wire import b64decode, b64encode, canonical, load_canonical

__all__ = ["Dsse", "pae", "parse", "write"]


def pae(payload_type: str, body: bytes) -> bytes:
    """``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``, lengths in ASCII decimal bytes."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


@dataclass(frozen=True)
class Dsse:
    """A parsed envelope whose signature is not yet verified."""

    payload_type: str
    body: bytes
    keyid: str
    sig: bytes

    def signed_bytes(self) -> bytes:
        return pae(self.payload_type, self.body)


def write(payload_type: str, body: bytes, keyid: str, sign: Callable[[bytes], bytes]) -> bytes:
    sig = sign(pae(payload_type, body))
    return canonical(
        {
            "payload": b64encode(body),
            "payloadType": payload_type,
            "signatures": [{"keyid": keyid, "sig": b64encode(sig)}],
        }
    )


def parse(raw: bytes) -> Dsse:
    """Decode an envelope, strictly; ``ValueError`` says what is wrong."""
    data = load_canonical(raw, "the envelope")
    if not isinstance(data, dict) or set(data) != {"payload", "payloadType", "signatures"}:
        raise ValueError("an envelope holds exactly payload, payloadType and signatures")
    if not isinstance(data["payloadType"], str):
        raise ValueError("payloadType must be a string")
    signatures = data["signatures"]
    if not isinstance(signatures, list) or len(signatures) != 1:
        raise ValueError("an Accord envelope carries exactly one signature")
    (entry,) = signatures
    if not isinstance(entry, dict) or set(entry) != {"keyid", "sig"} or not isinstance(entry["keyid"], str):
        raise ValueError("a signature holds exactly keyid and sig")
    return Dsse(
        data["payloadType"], b64decode(data["payload"], "payload"), entry["keyid"], b64decode(entry["sig"], "sig")
    )
