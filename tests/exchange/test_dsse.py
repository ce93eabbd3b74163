from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from accord.exchange import dsse


def test_pae_matches_the_published_test_vector() -> None:
    # secure-systems-lab/dsse protocol.md, "Test Vectors"
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def _published_key() -> ec.EllipticCurvePublicKey:
    x = 46950820868899156662930047687818585632848591499744589407958293238635476079160
    y = 5640078356564379163099075877009565129882514886557779369047442380624545832820
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def _published_signature() -> bytes:
    raw = base64.b64decode("A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==")
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def test_the_published_signature_verifies_over_our_pae() -> None:
    """The spec's ECDSA P-256 signature was made over PAE; it verifies over ours, and not over a near miss."""
    message = dsse.pae("http://example.com/HelloWorld", b"hello world")
    _published_key().verify(_published_signature(), message, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        _published_key().verify(_published_signature(), message + b" ", ec.ECDSA(hashes.SHA256()))


def test_pae_counts_bytes_not_characters() -> None:
    assert dsse.pae("t\u00e9", "\u00e9".encode()) == b"DSSEv1 3 t\xc3\xa9 2 \xc3\xa9"


def test_write_and_parse_round_trip() -> None:
    raw = dsse.write("x/y", b"{}", "k1", lambda m: b"sig:" + m)
    parsed = dsse.parse(raw)
    assert (parsed.payload_type, parsed.body, parsed.keyid) == ("x/y", b"{}", "k1")
    assert parsed.sig == b"sig:" + dsse.pae("x/y", b"{}")
    assert (
        raw
        == b'{"payload":"e30=","payloadType":"x/y","signatures":[{"keyid":"k1","sig":"'
        + base64.b64encode(parsed.sig)
        + b'"}]}'
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"payload":"e30=","payloadType":"x","signatures":[]}', "exactly one signature"),
        (
            b'{"payload":"e30=","payloadType":"x","signatures":[{"keyid":"k","sig":"AA=="},{"keyid":"k","sig":"AA=="}]}',
            "exactly one signature",
        ),
        (b'{"payload":"e30","payloadType":"x","signatures":[{"keyid":"k","sig":"AA=="}]}', "payload is not valid"),
        (b'{"payload":"e31=","payloadType":"x","signatures":[{"keyid":"k","sig":"AA=="}]}', "not canonical base64"),
        (b'{"payloadType":"x","payload":"e30=","signatures":[{"keyid":"k","sig":"AA=="}]}', "canonical form"),
        (b'{"payload":"e30=", "payloadType":"x","signatures":[{"keyid":"k","sig":"AA=="}]}', "canonical form"),
        (b'{"payload":"e30=","payloadType":"x","signatures":[{"keyid":"k","sig":"AA=="}],"x":1}', "exactly payload"),
        (b'{"payload":"e30=","payload":"e30=","payloadType":"x","signatures":[]}', "duplicate key"),
        (b"[]", "exactly payload"),
        (b"\xff", "not valid JSON"),
    ],
)
def test_parse_rejects_every_other_form(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dsse.parse(raw)
