from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.exchange.envelope import PAYLOAD_TYPE, Opened, Refused, digest, open_envelope, seal
from accord.exchange.identity import IdentityDocument, NodeIdentity
from accord.exchange.nonce import InMemoryNonceStore
from accord.exchange.wire import canonical
from accord.model.agreement import Agreement
from tests.exchange.conftest import T0, make_agreement

OBJ = {"type": "sighting", "sha256": "ab" * 32, "seen": "2026-11-25"}


def _seal(identity: NodeIdentity, *, now: datetime = T0, **overrides: Any) -> bytes:
    fields: dict[str, Any] = {
        "recipient": "node_hotline",
        "agreement_id": "agr_ph",
        "purpose": "takedown",
        "marking": "GREEN",
        "category": "csam",
        "obj": OBJ,
    }
    fields.update(overrides)
    return seal(identity, now=now, **fields)


def _open(
    raw: bytes,
    peers: dict[str, IdentityDocument],
    agreements: list[Agreement],
    *,
    me: str = "node_hotline",
    now: datetime = T0,
    nonces: InMemoryNonceStore | None = None,
) -> Opened:
    return open_envelope(
        raw,
        me=me,
        peers=peers,
        agreements={a.id: a for a in agreements},
        nonces=nonces if nonces is not None else InMemoryNonceStore(),
        now=now,
    )


def _refusal(raw: bytes, peers: dict[str, IdentityDocument], agreements: list[Agreement], **kw: Any) -> Refused:
    with pytest.raises(Refused) as caught:
        _open(raw, peers, agreements, **kw)
    return caught.value


def _envelope(raw: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw)
    return data


def _body(raw: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(base64.b64decode(_envelope(raw)["payload"]))
    return body


def _resigned(identity: NodeIdentity, body: dict[str, Any]) -> bytes:
    """An envelope with a body of our choosing, validly signed: the checks after the signature must catch it."""
    from accord.exchange import dsse

    return dsse.write(PAYLOAD_TYPE, canonical(body), identity.keyid, identity.sign)


def test_round_trip(platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement) -> None:
    raw = _seal(platform)
    opened = _open(raw, peers, [ph], now=T0 + timedelta(seconds=2))
    assert opened.object == OBJ
    assert (opened.sender, opened.recipient, opened.agreement_id) == ("node_platform", "node_hotline", "agr_ph")
    assert (opened.purpose, opened.marking, opened.category, opened.created) == ("takedown", "GREEN", "csam", T0)
    assert opened.raw == raw and opened.digest == digest(raw) and digest(raw).startswith("sha256:")
    assert len(opened.nonce) == 32 and opened.keyid == platform.keyid
    envelope = _envelope(raw)
    assert sorted(envelope) == ["payload", "payloadType", "signatures"]
    assert envelope["payloadType"] == PAYLOAD_TYPE
    assert envelope["signatures"][0]["keyid"] == platform.keyid


def test_nonces_are_random(platform: NodeIdentity) -> None:
    assert _body(_seal(platform))["nonce"] != _body(_seal(platform))["nonce"]


def test_tampered_payload(platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement) -> None:
    envelope = _envelope(_seal(platform))
    body = _body(_seal(platform))
    body["marking"] = "CLEAR"
    envelope["payload"] = base64.b64encode(canonical(body)).decode()
    assert _refusal(canonical(envelope), peers, [ph]).reason == "signature"


def test_tampered_signature(platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement) -> None:
    envelope = _envelope(_seal(platform))
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[0] ^= 1
    envelope["signatures"][0]["sig"] = base64.b64encode(sig).decode()
    assert _refusal(canonical(envelope), peers, [ph]).reason == "signature"


def test_wrong_key(
    platform: NodeIdentity, police: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    """The police's key signing under the platform's keyid: the platform's key does not verify it."""
    impostor = NodeIdentity(police.document, police.private_key)
    raw = _seal(impostor)
    envelope = _envelope(raw)
    envelope["signatures"][0]["keyid"] = platform.keyid
    assert _refusal(canonical(envelope), peers, [ph]).reason == "signature"


def test_unknown_sender(peers: dict[str, IdentityDocument], ph: Agreement) -> None:
    stranger = NodeIdentity.generate(T0 - timedelta(days=1), "node_platform")  # claims the platform's id
    refused = _refusal(_seal(stranger), peers, [ph])
    assert refused.reason == "unknown-key"


def test_a_known_peer_cannot_speak_for_another(
    police: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    body = _body(_seal(police))
    body["sender"] = "node_platform"
    refused = _refusal(_resigned(police, body), peers, [ph])
    assert refused.reason == "unknown-sender" and refused.sender == "node_police"


def test_not_addressed_to_this_node(platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement) -> None:
    assert _refusal(_seal(platform), peers, [ph], me="node_police").reason == "not-for-us"


def test_replayed_nonce(platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement) -> None:
    nonces = InMemoryNonceStore()
    raw = _seal(platform)
    _open(raw, peers, [ph], nonces=nonces)
    refused = _refusal(raw, peers, [ph], nonces=nonces, now=T0 + timedelta(seconds=60))
    assert refused.reason == "replay"
    # the same nonce in a new, validly signed envelope is a replay too
    again = _seal(platform, nonce=_body(raw)["nonce"], now=T0 + timedelta(seconds=1))
    assert _refusal(again, peers, [ph], nonces=nonces).reason == "replay"


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(timedelta(seconds=-301), "stale"), (timedelta(seconds=301), "future")],
)
def test_stale_and_future_timestamps(
    platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement, offset: timedelta, reason: str
) -> None:
    raw = _seal(platform, now=T0 + offset)
    assert _refusal(raw, peers, [ph]).reason == reason
    # at the edge of the window, both directions pass
    edge = _seal(platform, now=T0 + (offset / abs(offset.total_seconds())) * 300)
    assert _open(edge, peers, [ph]).sender == "node_platform"


@pytest.mark.parametrize(
    ("overrides", "clause"),
    [
        ({"marking": "RED"}, "max_marking"),
        ({"category": "extortion"}, "categories"),
        ({"purpose": "research"}, "purposes"),
        ({"agreement_id": "agr_unknown"}, "id"),
    ],
)
def test_agreement_refusals_name_the_clause(
    platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement, overrides: dict[str, Any], clause: str
) -> None:
    refused = _refusal(_seal(platform, **overrides), peers, [ph])
    assert (refused.reason, refused.clause) == ("agreement", clause)


def test_marking_refusal_reads_as_the_clause(
    platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    refused = _refusal(_seal(platform, marking="RED"), peers, [ph])
    assert refused.detail == "agreement: max_marking: TLP:RED above TLP:AMBER"


def test_expired_agreement(platform: NodeIdentity, peers: dict[str, IdentityDocument]) -> None:
    expired = make_agreement(
        "agr_ph",
        {"org_platform": "node_platform", "org_hotline": "node_hotline"},
        valid_from=T0 - timedelta(days=30),
        valid_until=T0 - timedelta(days=1),
    )
    refused = _refusal(_seal(platform), peers, [expired])
    assert (refused.reason, refused.clause) == ("agreement", "valid_until")


def test_onward_share_not_allowed(
    hotline: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement, hp: Agreement
) -> None:
    """The hotline passes on to the police an object it received under an agreement forbidding that."""
    strict = ph.model_copy(update={"onward_sharing": False})
    raw = _seal(hotline, recipient="node_police", agreement_id="agr_hp", received_under="agr_ph")
    refused = _refusal(raw, peers, [hp, strict], me="node_police")
    assert (refused.reason, refused.clause) == ("agreement", "onward_sharing")
    # the police do not hold the upstream agreement: it cannot confirm onward sharing is allowed
    refused = _refusal(raw, peers, [hp], me="node_police")
    assert (refused.reason, refused.clause) == ("agreement", "onward_sharing")
    # under ph as agreed (onward sharing allowed) it arrives
    assert _open(raw, peers, [hp, ph], me="node_police").received_under == "agr_ph"


def test_rotation_a_retired_key_verifies_only_within_its_window(
    platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    rotated_at = T0
    fresh = NodeIdentity.generate(rotated_at, "node_platform")
    retired = replace(platform.document.current, not_after=rotated_at)
    published = IdentityDocument("node_platform", (retired, fresh.document.current))
    after = {**peers, "node_platform": published}
    # signed with the old key just before the rotation, received just after it: verifies
    inside = _seal(platform, now=rotated_at - timedelta(seconds=10))
    assert _open(inside, after, [ph], now=rotated_at + timedelta(seconds=10)).keyid == platform.keyid
    # signed with the old key after the rotation: refused
    outside = _seal(platform, now=rotated_at + timedelta(seconds=10))
    assert _refusal(outside, after, [ph], now=rotated_at + timedelta(seconds=10)).reason == "key-window"
    # the new key verifies
    signer = NodeIdentity(published, fresh.private_key)
    assert _open(_seal(signer, now=rotated_at + timedelta(seconds=10)), after, [ph]).keyid == fresh.keyid


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.update(created="2026-11-26T12:00:00Z"), "created"),
        (lambda b: b.update(nonce="XYZ"), "nonce"),
        (lambda b: b.update(object=[1]), "object"),
        (lambda b: b.update(purpose=""), "purpose"),
        (lambda b: b.pop("category"), "exactly"),
        (lambda b: b.update(extra=1), "exactly"),
    ],
)
def test_a_signed_but_malformed_body_is_refused(
    platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement, change: Any, message: str
) -> None:
    body = _body(_seal(platform))
    change(body)
    refused = _refusal(_resigned(platform, body), peers, [ph])
    assert refused.reason == "malformed" and message in refused.detail


def test_a_body_must_be_canonical_even_when_signed(
    platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    from accord.exchange import dsse

    loose = json.dumps(_body(_seal(platform))).encode()  # spaces, and not RFC 8785 key order
    raw = dsse.write(PAYLOAD_TYPE, loose, platform.keyid, platform.sign)
    assert _refusal(raw, peers, [ph]).reason == "malformed"


def test_a_receipt_type_is_not_an_envelope(
    platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    from accord.exchange import dsse

    raw = dsse.write(
        "application/vnd.accord.receipt.v1+json", canonical(_body(_seal(platform))), platform.keyid, platform.sign
    )
    assert _refusal(raw, peers, [ph]).reason == "malformed"


def test_nonce_store_shorter_than_the_skew_is_a_programming_error(
    platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    with pytest.raises(ValueError, match="at least as long"):
        _open(_seal(platform), peers, [ph], nonces=InMemoryNonceStore(horizon=timedelta(seconds=10)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_byte_change_is_refused(
    platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement, data: st.DataObject
) -> None:
    raw = _seal(platform, nonce="0f" * 16)
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda v: v != raw[position]), label="value")
    changed = raw[:position] + bytes([value]) + raw[position + 1 :]
    with pytest.raises(Refused):
        _open(changed, peers, [ph])


def test_every_position_flipped_is_refused(
    platform: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    """The exhaustive companion of the property above: each byte, its lowest bit flipped."""
    raw = _seal(platform)
    for position in range(len(raw)):
        changed = raw[:position] + bytes([raw[position] ^ 1]) + raw[position + 1 :]
        with pytest.raises(Refused):
            _open(changed, peers, [ph])
