from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta

import pytest

from accord.exchange.envelope import Opened, Refused, digest, open_envelope, seal
from accord.exchange.identity import IdentityDocument, NodeIdentity
from accord.exchange.nonce import InMemoryNonceStore
from accord.exchange.receipt import RECEIPT_TYPE, receipt, verify_receipt
from accord.model.agreement import Agreement
from tests.exchange.conftest import T0


def _send(platform: NodeIdentity, marking: str = "GREEN") -> bytes:
    return seal(
        platform,
        recipient="node_hotline",
        agreement_id="agr_ph",
        purpose="takedown",
        marking=marking,
        category="csam",
        obj={"type": "sighting"},
        now=T0,
    )


def _receive(raw: bytes, peers: dict[str, IdentityDocument], ph: Agreement) -> Opened | Refused:
    try:
        return open_envelope(
            raw, me="node_hotline", peers=peers, agreements={ph.id: ph}, nonces=InMemoryNonceStore(), now=T0
        )
    except Refused as refused:
        return refused


def test_an_accepted_envelope_gets_a_receipt_the_sender_verifies(
    platform: NodeIdentity, hotline: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    raw = _send(platform)
    outcome = _receive(raw, peers, ph)
    answer = receipt(hotline, outcome, raw=raw, now=T0 + timedelta(seconds=1))
    checked = verify_receipt(answer, sent=raw, receiver=hotline.document)
    assert (checked.verdict, checked.reason, checked.clause) == ("accepted", None, None)
    assert checked.envelope == digest(raw) and checked.receiver == "node_hotline"
    assert checked.sender == "node_platform" and checked.at == T0 + timedelta(seconds=1)
    assert json.loads(answer)["payloadType"] == RECEIPT_TYPE


def test_a_refusal_gets_a_receipt_with_reason_and_clause(
    platform: NodeIdentity, hotline: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    raw = _send(platform, marking="RED")
    outcome = _receive(raw, peers, ph)
    assert isinstance(outcome, Refused)
    checked = verify_receipt(receipt(hotline, outcome, raw=raw, now=T0), sent=raw, receiver=hotline.document)
    assert (checked.verdict, checked.reason, checked.clause) == ("refused", "agreement", "max_marking")


def test_a_receipt_for_another_envelope_or_by_another_node_fails(
    platform: NodeIdentity,
    hotline: NodeIdentity,
    police: NodeIdentity,
    peers: dict[str, IdentityDocument],
    ph: Agreement,
) -> None:
    raw = _send(platform)
    answer = receipt(hotline, _receive(raw, peers, ph), raw=raw, now=T0)
    with pytest.raises(Refused, match="another envelope"):
        verify_receipt(answer, sent=_send(platform), receiver=hotline.document)
    with pytest.raises(Refused) as caught:
        verify_receipt(answer, sent=raw, receiver=police.document)
    assert caught.value.reason == "unknown-key"


def test_a_tampered_receipt_fails(
    platform: NodeIdentity, hotline: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    raw = _send(platform, marking="RED")
    answer = receipt(hotline, _receive(raw, peers, ph), raw=raw, now=T0)
    envelope = json.loads(answer)
    body = json.loads(base64.b64decode(envelope["payload"]))
    body["verdict"] = "accepted"
    envelope["payload"] = base64.b64encode(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).decode()
    with pytest.raises(Refused) as caught:
        verify_receipt(json.dumps(envelope, separators=(",", ":")).encode(), sent=raw, receiver=hotline.document)
    assert caught.value.reason == "signature"


def test_an_envelope_is_not_a_receipt(platform: NodeIdentity) -> None:
    raw = _send(platform)
    with pytest.raises(Refused, match="payloadType"):
        verify_receipt(raw, sent=raw, receiver=platform.document)


def test_a_receipt_by_a_key_retired_before_it_was_made_fails(
    platform: NodeIdentity, hotline: NodeIdentity, peers: dict[str, IdentityDocument], ph: Agreement
) -> None:
    raw = _send(platform)
    answer = receipt(hotline, _receive(raw, peers, ph), raw=raw, now=T0)
    retired = replace(hotline.document.current, not_after=T0 - timedelta(seconds=1))
    rotated = IdentityDocument("node_hotline", (retired, NodeIdentity.generate(T0).document.current))
    with pytest.raises(Refused) as caught:
        verify_receipt(answer, sent=raw, receiver=rotated)
    assert caught.value.reason == "key-window"
