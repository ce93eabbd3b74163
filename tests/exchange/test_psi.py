"""Diffie-Hellman PSI over X25519: correct intersections, nothing in clear on the wire, malformed
messages refused, one set of secrets per session."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.errors import Conflict, Invalid, PayloadTooLarge
from accord.exchange import sodium
from accord.exchange.psi import (
    SUITE,
    TAG_BYTES,
    Finish,
    Initiator,
    Mode,
    Offer,
    Reply,
    Responder,
    Result,
    hash_to_group,
)


def run(a: list[str], b: list[str], mode: Mode = "members") -> tuple[Result, Result, list[bytes]]:
    """Both parties in one process, every message through its JSON form, as a transport would carry it."""
    wire: list[bytes] = []

    def send(doc: dict[str, Any]) -> Any:
        wire.append(orjson.dumps(doc))
        return orjson.loads(wire[-1])

    initiator = Initiator(a, kind="identifiers", mode=mode)
    responder = Responder(b, kind="identifiers", mode=mode)
    reply = responder.reply(Offer.from_json(send(initiator.offer().to_json())))
    mine = initiator.receive(Reply.from_json(send(reply.to_json())))
    theirs = responder.receive(Finish.from_json(send(initiator.finish().to_json())))
    return mine, theirs, wire


ITEMS = st.lists(st.sampled_from([f"email:u{i}@example.invalid" for i in range(40)]), max_size=25)


@settings(max_examples=30, deadline=None)
@given(a=ITEMS, b=ITEMS)
def test_the_intersection_is_the_plain_one(a: list[str], b: list[str]) -> None:
    mine, theirs, _ = run(a, b)
    plain = set(a) & set(b)
    assert mine.members == theirs.members == plain
    assert mine.count == theirs.count == len(plain)
    assert (mine.peer_size, theirs.peer_size) == (len(set(b)), len(set(a)))


@settings(max_examples=15, deadline=None)
@given(a=ITEMS, b=ITEMS)
def test_count_mode_gives_only_the_count(a: list[str], b: list[str]) -> None:
    mine, theirs, _ = run(a, b, mode="count")
    assert mine.members is None and theirs.members is None
    assert mine.count == theirs.count == len(set(a) & set(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([], []),
        (["ip:192.0.2.1"], []),
        ([], ["ip:192.0.2.1"]),
        (["ip:192.0.2.1", "ip:192.0.2.2"], ["ip:192.0.2.3"]),  # disjoint
        (["ip:192.0.2.1", "ip:192.0.2.2"], ["ip:192.0.2.2", "ip:192.0.2.1"]),  # equal
    ],
)
@pytest.mark.parametrize("mode", ["members", "count"])
def test_edge_sets(a: list[str], b: list[str], mode: Mode) -> None:
    mine, theirs, _ = run(a, b, mode)
    assert mine.count == theirs.count == len(set(a) & set(b))
    if mode == "members":
        assert mine.members == theirs.members == set(a) & set(b)


def test_the_multi_threaded_batch_matches_one_by_one() -> None:
    items = [f"sha256:{i:064x}" for i in range(1200)]  # above 2 x 512: split over two threads
    scalar = sodium.random_scalar()
    points = hash_to_group("hashes", items)
    batch = sodium.multiply(scalar, points)
    single = b"".join(sodium.multiply(scalar, points[i : i + 32]) for i in range(0, len(points), 32))
    assert batch == single
    assert len(set(batch[i : i + 32] for i in range(0, len(batch), 32))) == 1200
    bad = points[: 32 * 1000] + b"\xff" * 32 + points[32 * 1001 :]
    with pytest.raises(sodium.InvalidPoint) as e:
        sodium.multiply(scalar, bad)
    assert e.value.index == 1000


def forms(data: bytes) -> list[bytes]:
    """The spellings a value could leak in: raw, hex, base64 (whole, and each alignment of a base64 run)."""
    b64 = [base64.b64encode(data[k:]).rstrip(b"=")[4:-4] for k in range(3)]
    return [data, data.hex().encode(), data.hex().upper().encode(), *b64]


def leaks(item: str, kind: str, wire: list[bytes]) -> list[str]:
    """Which plain form of ``item`` appears in the messages, their JSON or their decoded blobs."""
    raw = item.encode()
    digest = hashlib.sha512(b"accord/psi/v1\x00" + kind.encode() + b"\x00" + raw).digest()
    point = hash_to_group(kind, [item])
    candidates = {
        "item": [raw],
        "md5": forms(hashlib.md5(raw).digest()),
        "sha256": forms(hashlib.sha256(raw).digest()),
        "sha512": forms(hashlib.sha512(raw).digest()),
        "hash-to-group digest": forms(digest),
        "unblinded point": forms(point),
        "unblinded tag": [point[:TAG_BYTES]],
    }
    blobs = [*wire]
    for message in wire:
        for value in orjson.loads(message).values():
            try:
                blobs.append(base64.b64decode(value, validate=True))
            except ValueError:
                continue
    return sorted({name for name, spellings in candidates.items() for s in spellings for b in blobs if s in b})


def test_no_input_travels_in_clear_or_as_a_plain_hash() -> None:
    a = [f"email:u{i}@example.invalid" for i in range(30)]
    b = [f"email:u{i}@example.invalid" for i in range(15, 45)]
    mine, _, wire = run(a, b)
    assert mine.count == 15
    assert {i: leaks(i, "identifiers", wire) for i in a + b} == {i: [] for i in a + b}


def test_the_leak_check_finds_a_plain_point() -> None:
    """The check above can fail: an offer carrying an unblinded point (a broken blinding) is caught."""
    item = "email:u1@example.invalid"
    broken = Offer(session="0" * 32, kind="identifiers", mode="members", points=hash_to_group("identifiers", [item]))
    assert leaks(item, "identifiers", [orjson.dumps(broken.to_json())]) == ["unblinded point", "unblinded tag"]
    assert leaks(item, "identifiers", [orjson.dumps({"note": item})]) == ["item"]


def offer_doc(n: int = 3) -> dict[str, Any]:
    return Initiator([f"ip:192.0.2.{i}" for i in range(n)], kind="identifiers").offer().to_json()


def points_of(doc: dict[str, Any]) -> bytes:
    return base64.b64decode(doc["points"])


def reverse(points: bytes) -> bytes:
    """The elements in descending order (reversing the bytes instead left them ascending one time in six)."""
    return b"".join(points[i : i + 32] for i in range(len(points) - 32, -1, -32))


@pytest.mark.parametrize(
    ("change", "pointer", "words"),
    [
        (lambda d: d.update(points=base64.b64encode(points_of(d)[:-1]).decode()), "/points", "multiple of 32"),
        (lambda d: d.update(points="*" + d["points"][1:]), "/points", "base64"),
        (lambda d: d.update(points=base64.b64encode(reverse(points_of(d))).decode()), "/points", "out of order"),
        (lambda d: d.update(points=base64.b64encode(points_of(d)[:32] * 2).decode()), "/points", "repeated"),
        (lambda d: d.update(suite="p256-sha256"), "/suite", "unsupported suite"),
        (lambda d: d.update(set="wallets"), "/set", "set must be one of"),
        (lambda d: d.update(mode="all"), "/mode", "members or count"),
        (lambda d: d.update(session="not-hex"), "/session", "32 lower-case hex"),
        (lambda d: d.pop("mode"), "", "missing ['mode']"),
        (lambda d: d.update(extra=1), "", "unexpected ['extra']"),
    ],
)
def test_a_malformed_offer_is_refused(change: Any, pointer: str, words: str) -> None:
    doc = offer_doc()
    change(doc)
    with pytest.raises(Invalid) as e:
        Offer.from_json(doc)
    assert list(e.value.errors) == [pointer]
    assert words in e.value.detail


@pytest.mark.parametrize(
    "bad",
    [b"\xff" * 32, (2**255 - 19).to_bytes(32, "little"), b"\x00" * 32, b"\x01" + b"\x00" * 31],
    ids=["top-bit-set", "not-canonical", "zero", "small-order"],
)
def test_an_invalid_point_is_refused_by_the_responder(bad: bytes) -> None:
    doc = offer_doc()
    points = sorted([*(points_of(doc)[i : i + 32] for i in range(0, 96, 32)), bad])
    doc["points"] = base64.b64encode(b"".join(points)).decode()
    offer = Offer.from_json(doc)
    with pytest.raises(Invalid, match=rf"/points: element {points.index(bad)} is not a valid x25519 point"):
        Responder(["ip:192.0.2.1"], kind="identifiers").reply(offer)


def test_an_invalid_point_in_a_reply_is_refused_by_the_initiator() -> None:
    initiator = Initiator(["ip:192.0.2.1"], kind="identifiers")
    offer = initiator.offer()
    reply = Reply(session=offer.session, tags=b"\x01" * TAG_BYTES, points=b"\xff" * 32)
    with pytest.raises(Invalid, match="element 0 is not a valid x25519 point"):
        initiator.receive(reply)


def test_too_many_items_are_refused() -> None:
    doc = offer_doc(5)
    with pytest.raises(PayloadTooLarge) as e:
        Offer.from_json(doc, limit=4)
    assert list(e.value.errors) == ["/points"] and e.value.status == 413
    with pytest.raises(PayloadTooLarge):
        Responder(["ip:192.0.2.1"], kind="identifiers", limit=4).reply(Offer.from_json(doc))
    with pytest.raises(PayloadTooLarge, match="5 items is more than the limit of 4"):
        Initiator([f"ip:192.0.2.{i}" for i in range(5)], kind="identifiers", limit=4)


def test_replies_and_finishes_must_answer_this_session_in_full() -> None:
    initiator, responder = Initiator(["a", "b"], kind="hashes"), Responder(["b", "c"], kind="hashes")
    offer = initiator.offer()
    reply = responder.reply(offer)
    with pytest.raises(Invalid, match="another session"):
        initiator.receive(Reply(session="1" * 32, tags=reply.tags, points=reply.points))
    with pytest.raises(Invalid, match="1 tags answer an offer of 2"):
        initiator.receive(Reply(session=reply.session, tags=reply.tags[:TAG_BYTES], points=reply.points))
    initiator.receive(reply)
    finish = initiator.finish()
    with pytest.raises(Invalid, match="3 tags answer a reply of 2"):
        responder.receive(Finish(session=finish.session, tags=finish.tags + b"\x00" * TAG_BYTES))
    assert responder.receive(finish).members == {"b"}


def test_a_responder_refuses_an_offer_for_another_set_or_mode() -> None:
    offer = Initiator(["a"], kind="hashes", mode="count").offer()
    with pytest.raises(Invalid, match="the offer compares hashes"):
        Responder(["a"], kind="identifiers", mode="count").reply(offer)
    with pytest.raises(Invalid, match="the offer asks for count"):
        Responder(["a"], kind="hashes", mode="members").reply(offer)


def test_no_secret_is_reused_across_sessions() -> None:
    items = [f"ip:192.0.2.{i}" for i in range(20)]
    first, second = Initiator(items, kind="identifiers").offer(), Initiator(items, kind="identifiers").offer()
    mine = {first.points[i : i + 32] for i in range(0, len(first.points), 32)}
    theirs = {second.points[i : i + 32] for i in range(0, len(second.points), 32)}
    assert len(mine) == len(theirs) == 20 and not mine & theirs
    r1, r2 = Responder(items, kind="identifiers").reply(first), Responder(items, kind="identifiers").reply(first)
    assert not {r1.points[i : i + 32] for i in range(0, 640, 32)} & {r2.points[i : i + 32] for i in range(0, 640, 32)}
    assert not set(r1.tags[i : i + 16] for i in range(0, 320, 16)) & set(r2.tags[i : i + 16] for i in range(0, 320, 16))


def test_a_session_runs_once() -> None:
    initiator, responder = Initiator(["a"], kind="hashes"), Responder(["a"], kind="hashes")
    with pytest.raises(Conflict):
        initiator.finish()
    offer = initiator.offer()
    with pytest.raises(Conflict, match="a session runs once"):
        initiator.offer()
    reply = responder.reply(offer)
    with pytest.raises(Conflict):
        responder.reply(offer)
    initiator.receive(reply)
    with pytest.raises(Conflict):
        initiator.receive(reply)
    finish = initiator.finish()
    with pytest.raises(Conflict):
        initiator.finish()
    responder.receive(finish)
    with pytest.raises(Conflict):
        responder.receive(finish)


def test_messages_are_json_ready_and_canonical_base64() -> None:
    doc = offer_doc()
    assert doc["suite"] == SUITE and sorted(doc) == ["mode", "points", "session", "set", "suite"]
    assert Offer.from_json(orjson.loads(orjson.dumps(doc))).to_json() == doc
