"""Private set intersection: two nodes learn which items they both hold (or only how many), nothing else.

The protocol is Diffie-Hellman PSI (Meadows 1986; Huberman, Franklin and Hogg 1999) over the prime-order
subgroup of Curve25519, x-only (X25519), semi-honest. Items are the keys that search already compares:
``Identifier.key`` (``email:a@b.example``, normalised) and ``Media.keys`` (``sha256:<hex>``).
docs/federation.md ("Deconfliction") has the protocol, what each side learns, the messages, and why
X25519 with a ristretto255 hash is sound.

    initiator A (items x, secret a)              responder B (items y, secret b)
    Offer:  sort{ a·H(x) }                  -->
                                            <--  Reply:  b·(a·H(x)) in the offer's order (count mode: sorted),
                                                         truncated to 16 bytes; and sort{ b·H(y) }
    A learns x ∩ y (or |x ∩ y|)
    Finish: a·(b·H(y)) in the reply's order  -->
            (count mode: sorted), 16 bytes               B learns y ∩ x (or the count)

``H`` is SHA-512 of a domain-separated string, hashed to ristretto255 and carried over to an X25519
u-coordinate (``sodium.from_hashes``); ``k·P`` is X25519 of the (clamped) secret and ``u(P)``. Each
session draws fresh secrets, and a session object runs once: a second use is refused. Why sorted: a
blinded point is indistinguishable from random to the peer (DDH), so sorting by it is a uniformly random
shuffle that costs nothing to check; a message whose points are not strictly ascending is refused, which
also refuses duplicates (u-coordinates must be canonical, so a point has one spelling). Why 16-byte tags:
the doubly blinded values are only compared, never multiplied again, and 128 bits keep a false match
below 2^-80 for a million by a million items while halving those messages.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from accord.errors import Conflict, Invalid, PayloadTooLarge
from accord.exchange import sodium
from accord.exchange.wire import b64decode, b64encode

__all__ = [
    "DEFAULT_LIMIT",
    "SETS",
    "SUITE",
    "TAG_BYTES",
    "Finish",
    "Initiator",
    "Mode",
    "Offer",
    "Reply",
    "Responder",
    "Result",
    "hash_to_group",
]

SUITE = "x25519-sha512-v1"
"""Changed from ``ristretto255-sha512-v1`` (ristretto255 points and multiplication): the two do not interoperate."""
CONTEXT = b"accord/psi/v1"
SETS = ("identifiers", "hashes", "pdq-chunks", "pdq-bits")
"""What a session compares; part of the hash-to-group input, so items of two kinds never meet."""
TAG_BYTES = 16
DEFAULT_LIMIT = 1 << 21
"""Most items either side accepts in one message (2,097,152); each side may lower or raise it."""

Mode = Literal["members", "count"]
_POINT = sodium.POINT_BYTES


def _digests(kind: str, items: Sequence[str]) -> bytes:
    prefix = CONTEXT + b"\x00" + kind.encode() + b"\x00"
    return b"".join(hashlib.sha512(prefix + item.encode()).digest() for item in items)


def hash_to_group(kind: str, items: Sequence[str]) -> bytes:
    """``H(item)`` for each item, concatenated (32-byte u-coordinates): SHA-512 of ``accord/psi/v1 NUL kind
    NUL item`` hashed to ristretto255, as an X25519 input. Never sent: only blinded multiples of it leave a
    node."""
    return sodium.from_hashes(_digests(kind, items))


def _rows(data: bytes, width: int) -> np.ndarray:
    return np.frombuffer(data, dtype=f"S{width}")


def _tags(points: bytes) -> bytes:
    return np.frombuffer(points, dtype=np.uint8).reshape(-1, _POINT)[:, :TAG_BYTES].tobytes()


def _sorted_order(points: bytes) -> np.ndarray:
    return np.argsort(_rows(points, _POINT), kind="stable")


def _take(data: bytes, width: int, order: np.ndarray) -> bytes:
    return bytes(_rows(data, width)[order].tobytes())


def _own_items(items: Iterable[str], limit: int) -> list[str]:
    unique = sorted(set(items))
    if not all(isinstance(i, str) for i in unique):
        raise Invalid.at("", "items must be strings (identifier or hash keys)")
    if len(unique) > limit:
        raise PayloadTooLarge.at("", f"{len(unique)} items is more than the limit of {limit}")
    return unique


# --- messages ---------------------------------------------------------------------------------------------


def _field(doc: Mapping[str, Any], name: str, expected: type) -> Any:
    value = doc.get(name)
    if not isinstance(value, expected):
        raise Invalid.at(f"/{name}", f"{name} must be a {expected.__name__}")
    return value


def _keys(doc: object, keys: set[str], what: str) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise Invalid.at("", f"a PSI {what} must be a JSON object")
    if set(doc) != keys:
        missing, extra = sorted(keys - set(doc)), sorted(set(doc) - keys)
        raise Invalid.at("", f"a PSI {what} has fields {sorted(keys)} (missing {missing}, unexpected {extra})")
    return doc


def _blob(doc: Mapping[str, Any], name: str, width: int, limit: int) -> bytes:
    text = _field(doc, name, str)
    if len(text) > 4 * (-(-(limit * width) // 3)):
        raise PayloadTooLarge.at(f"/{name}", f"more than the limit of {limit} elements")
    try:
        data = b64decode(text, name)
    except ValueError as e:
        raise Invalid.at(f"/{name}", str(e)) from None
    if len(data) % width:
        raise Invalid.at(f"/{name}", f"length {len(data)} is not a multiple of {width} bytes")
    return data


def _strictly_ascending(points: bytes, name: str) -> None:
    rows = _rows(points, _POINT)
    if len(rows) > 1:
        bad = np.flatnonzero(rows[1:] <= rows[:-1])
        if len(bad):
            raise Invalid.at(
                f"/{name}", f"element {int(bad[0]) + 1} is out of order or repeated (points must be sorted, unique)"
            )


@dataclass(frozen=True)
class Offer:
    """A to B: the initiator's blinded items, sorted. ``points`` is ``n`` concatenated 32-byte encodings."""

    session: str
    kind: str
    mode: Mode
    points: bytes
    suite: str = SUITE

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "points": b64encode(self.points),
            "session": self.session,
            "set": self.kind,
            "suite": self.suite,
        }

    @classmethod
    def from_json(cls, doc: object, *, limit: int = DEFAULT_LIMIT) -> Offer:
        d = _keys(doc, {"mode", "points", "session", "set", "suite"}, "offer")
        if d["suite"] != SUITE:
            raise Invalid.at("/suite", f"unsupported suite {d['suite']!r} (this node speaks {SUITE})")
        if d["set"] not in SETS:
            raise Invalid.at("/set", f"set must be one of {', '.join(SETS)}")
        if d["mode"] not in ("members", "count"):
            raise Invalid.at("/mode", "mode must be members or count")
        session = _session(d)
        points = _blob(d, "points", _POINT, limit)
        _strictly_ascending(points, "points")
        return cls(session=session, kind=d["set"], mode=d["mode"], points=points)


@dataclass(frozen=True)
class Reply:
    """B to A: ``tags`` answers the offer element by element (count mode: sorted instead); ``points`` is
    the responder's own blinded items, sorted."""

    session: str
    tags: bytes
    points: bytes

    def to_json(self) -> dict[str, Any]:
        return {"points": b64encode(self.points), "session": self.session, "tags": b64encode(self.tags)}

    @classmethod
    def from_json(cls, doc: object, *, limit: int = DEFAULT_LIMIT) -> Reply:
        d = _keys(doc, {"points", "session", "tags"}, "reply")
        session = _session(d)
        tags = _blob(d, "tags", TAG_BYTES, limit)
        points = _blob(d, "points", _POINT, limit)
        _strictly_ascending(points, "points")
        return cls(session=session, tags=tags, points=points)


@dataclass(frozen=True)
class Finish:
    """A to B: ``tags`` answers the reply's points element by element (count mode: sorted instead)."""

    session: str
    tags: bytes

    def to_json(self) -> dict[str, Any]:
        return {"session": self.session, "tags": b64encode(self.tags)}

    @classmethod
    def from_json(cls, doc: object, *, limit: int = DEFAULT_LIMIT) -> Finish:
        d = _keys(doc, {"session", "tags"}, "finish")
        return cls(session=_session(d), tags=_blob(d, "tags", TAG_BYTES, limit))


def _session(d: Mapping[str, Any]) -> str:
    s: str = _field(d, "session", str)
    if len(s) != 32 or s.strip("0123456789abcdef"):
        raise Invalid.at("/session", "session must be 32 lower-case hex digits")
    return s


@dataclass(frozen=True)
class Result:
    """What one side learned. ``members`` is the side's own items that the peer also holds (``None`` in
    count mode); ``count`` their number; ``peer_size`` how many items the peer put in."""

    count: int
    peer_size: int
    members: frozenset[str] | None
    positions: Mapping[str, int] | None = None
    """Members mode: each member's position in the reply's points (the responder's blinded list), the
    same number on both sides for the same shared item; PDQ deconfliction names shared keys by it."""


# --- the two parties --------------------------------------------------------------------------------------


class _Party:
    def __init__(self, items: Iterable[str], *, kind: str, mode: Mode, limit: int) -> None:
        if kind not in SETS:
            raise Invalid.at("/set", f"set must be one of {', '.join(SETS)}")
        if mode not in ("members", "count"):
            raise Invalid.at("/mode", "mode must be members or count")
        self.kind, self.mode, self.limit = kind, mode, limit
        self._items = _own_items(items, limit)
        self._secret: bytes | None = sodium.random_scalar()
        self._step = 0

    def _advance(self, expected: int, what: str) -> None:
        if self._step != expected:
            raise Conflict(f"this PSI session cannot {what} now: a session runs once, with fresh secrets")
        self._step += 1

    def _blind_own(self) -> tuple[bytes, list[str]]:
        assert self._secret is not None
        blinded = sodium.multiply(self._secret, hash_to_group(self.kind, self._items))
        order = _sorted_order(blinded)
        return _take(blinded, _POINT, order), [self._items[i] for i in order]

    def _reblind(self, points: bytes, name: str) -> bytes:
        assert self._secret is not None
        try:
            return sodium.multiply(self._secret, points)
        except sodium.InvalidPoint as e:
            raise Invalid.at(f"/{name}", str(e)) from None

    def _answer(self, tags: bytes) -> bytes:
        return np.sort(_rows(tags, TAG_BYTES)).tobytes() if self.mode == "count" else tags

    def _result(self, mine: bytes, theirs: bytes, peer_size: int, *, reply_order: bool) -> Result:
        """``mine`` answers this side's items in order, ``theirs`` the other side's; ``reply_order``: this
        side's items are the reply's points (the responder), else the peer's are (the initiator)."""
        rows, other = _rows(mine, TAG_BYTES), _rows(theirs, TAG_BYTES)
        hit = np.isin(rows, other)
        count = int(hit.sum())
        if self.mode == "count":
            return Result(count=count, peer_size=peer_size, members=None)
        found = np.flatnonzero(hit)
        if reply_order:
            positions = {self._items[i]: int(i) for i in found}
        else:
            where = {bytes(t): j for j, t in enumerate(other)}
            positions = {self._items[i]: where[bytes(rows[i])] for i in found}
        return Result(count=count, peer_size=peer_size, members=frozenset(positions), positions=positions)


class Initiator(_Party):
    """Side A: ``offer()``, then ``receive(reply)`` (its own result), then ``finish()`` for B."""

    def __init__(self, items: Iterable[str], *, kind: str, mode: Mode = "members", limit: int = DEFAULT_LIMIT) -> None:
        super().__init__(items, kind=kind, mode=mode, limit=limit)
        self.session = secrets.token_hex(16)
        self._offered = 0
        self._finish: Finish | None = None
        self._finishes: list[Finish] = []

    def offer(self) -> Offer:
        self._advance(0, "make an offer")
        points, self._items = self._blind_own()
        self._offered = len(points) // _POINT
        return Offer(session=self.session, kind=self.kind, mode=self.mode, points=points)

    def receive(self, reply: Reply) -> Result:
        if reply.session != self.session:
            raise Invalid.at("/session", "the reply answers another session")
        if len(reply.tags) != self._offered * TAG_BYTES:
            raise Invalid.at("/tags", f"{len(reply.tags) // TAG_BYTES} tags answer an offer of {self._offered}")
        peer_size = len(reply.points) // _POINT
        if peer_size > self.limit:
            raise PayloadTooLarge.at("/points", f"{peer_size} elements is more than the limit of {self.limit}")
        self._advance(1, "receive a reply")
        theirs = _tags(self._reblind(reply.points, "points"))
        self._secret = None
        self._finish = Finish(session=self.session, tags=self._answer(theirs))
        return self._result(reply.tags, theirs, peer_size, reply_order=False)

    def finish(self) -> Finish:
        """The message that lets the responder learn its result; sending it is the initiator's choice."""
        self._advance(2, "finish")
        assert self._finish is not None
        return self._finish

    def receive_all(self, replies: Sequence[Reply]) -> list[Result]:
        """One offer answered by several responders, each under its own fresh secret (PDQ deconfliction's
        second round: one offer of a hash against each candidate of the peer's): a result per reply, then
        ``finish_all()`` a finish message per reply. Instead of ``receive``, once."""
        for n, reply in enumerate(replies):
            if reply.session != self.session:
                raise Invalid.at(f"/{n}/session", "the reply answers another session")
            if len(reply.tags) != self._offered * TAG_BYTES:
                got = len(reply.tags) // TAG_BYTES
                raise Invalid.at(f"/{n}/tags", f"{got} tags answer an offer of {self._offered}")
            if len(reply.points) // _POINT > self.limit:
                raise PayloadTooLarge.at(f"/{n}/points", f"more than the limit of {self.limit} elements")
        self._advance(1, "receive replies")
        results, finishes = [], []
        for n, reply in enumerate(replies):
            theirs = _tags(self._reblind(reply.points, f"{n}/points"))
            finishes.append(Finish(session=self.session, tags=self._answer(theirs)))
            results.append(self._result(reply.tags, theirs, len(reply.points) // _POINT, reply_order=False))
        self._secret = None
        self._finishes = finishes
        return results

    def finish_all(self) -> list[Finish]:
        """The finish messages after ``receive_all``, one per reply, in the replies' order."""
        self._advance(2, "finish")
        return self._finishes


class Responder(_Party):
    """Side B: ``reply(offer)``, then ``receive(finish)`` for its own result."""

    def __init__(self, items: Iterable[str], *, kind: str, mode: Mode = "members", limit: int = DEFAULT_LIMIT) -> None:
        super().__init__(items, kind=kind, mode=mode, limit=limit)
        self.session = ""
        self._doubled = b""
        self._offered = 0

    def reply(self, offer: Offer) -> Reply:
        if offer.suite != SUITE:
            raise Invalid.at("/suite", f"unsupported suite {offer.suite!r} (this node speaks {SUITE})")
        if offer.kind != self.kind:
            raise Invalid.at("/set", f"the offer compares {offer.kind}, this session {self.kind}")
        if offer.mode != self.mode:
            raise Invalid.at("/mode", f"the offer asks for {offer.mode}, this session answers {self.mode}")
        self._offered = len(offer.points) // _POINT
        if self._offered > self.limit:
            raise PayloadTooLarge.at("/points", f"{self._offered} elements is more than the limit of {self.limit}")
        self._advance(0, "reply")
        self.session = offer.session
        doubled = _tags(self._reblind(offer.points, "points"))
        points, self._items = self._blind_own()
        self._secret = None
        self._doubled = doubled
        return Reply(session=offer.session, tags=self._answer(doubled), points=points)

    def receive(self, finish: Finish) -> Result:
        if finish.session != self.session:
            raise Invalid.at("/session", "the finish message belongs to another session")
        if len(finish.tags) != len(self._items) * TAG_BYTES:
            raise Invalid.at("/tags", f"{len(finish.tags) // TAG_BYTES} tags answer a reply of {len(self._items)}")
        self._advance(1, "receive a finish message")
        return self._result(finish.tags, self._doubled, self._offered, reply_order=True)

    def state(self) -> dict[str, Any]:
        """What ``receive`` needs, after ``reply``, as JSON: the session, the doubly blinded tags of the
        offer, this side's items in the reply's order and the offer's size. No secret: it was dropped when
        the reply was made. A node keeps this between two messages (``resume``)."""
        if self._step != 1:
            raise Conflict("a PSI responder's state is kept between its reply and the finish message only")
        return {
            "doubled": b64encode(self._doubled),
            "items": self._items,
            "kind": self.kind,
            "limit": self.limit,
            "mode": self.mode,
            "offered": self._offered,
            "session": self.session,
        }

    @classmethod
    def resume(cls, state: Mapping[str, Any]) -> Responder:
        """The responder that ``state()`` described, ready for ``receive``."""
        party = cls.__new__(cls)
        party.kind, party.mode, party.limit = state["kind"], state["mode"], int(state["limit"])
        party._items = list(state["items"])
        party._secret = None
        party._step = 1
        party.session = state["session"]
        party._doubled = b64decode(state["doubled"], "doubled")
        party._offered = int(state["offered"])
        return party
