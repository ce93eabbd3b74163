"""Near-duplicate PDQ deconfliction in two PSI rounds: chunk keys find candidates, bit keys measure them.

Round 1 (candidates). The 256 bits split into 16 chunks of 16 bits, as the match index does
(``accord.signals.pdq_index``); each hash gives 16 position-tagged keys ``c<i>:<chunk hex>``. Two hashes
within distance ``t`` agree exactly on some chunk when ``t <= 15`` (pigeonhole); with ``radius=1`` the
initiator adds every chunk value one bit away (17 keys per chunk, 272 per hash) and any pair within
``t <= 31`` shares a key. A members-mode PSI (``accord.exchange.psi``, set ``pdq-chunks``) tells both
sides the keys they share; each side's candidates are its own hashes holding a shared key.

Round 2 (distance, on candidates only). For each candidate slot (a shared key, one of A's hashes holding
it, one of B's), a fresh count-mode PSI over the 256 keys ``b<position>:<bit>`` of each hash: the count
is the number of positions where the bits agree, so ``256 - count`` is the Hamming distance and nothing
else (count mode hides which positions agree). Each side then keeps the slots within its threshold.

What it reveals, beyond plain PSI's sizes: to both sides, which 16-bit chunk values (at which position)
the other holds among their own keys, and how many of the other's hashes hold each shared key (to
enumerate slots); for each candidate slot, the exact Hamming distance, also for slots that turn out
not to match. It never reveals a whole hash. With large sets almost every 16-bit value at every position
is held (65,536 values), so round 1 then discloses a lot of chunk values and finds many candidates: use
it for sets of a few thousand hashes, not for whole banks. docs/federation.md ("Deconfliction").

Between two nodes (``PdqInitiator``, ``PdqResponder``) the rounds take five messages: round 1's offer and
reply; ``Candidates`` (A to B: round 1's finish, A's number of holders of each shared key, and one
count-mode offer per (shared key, A's holder) under a fresh secret); ``Distances`` (B to A: B's numbers
of holders, and for each slot a reply to A's offer under a fresh secret of B's, so A learns each slot's
distance); ``Finishes`` (A to B: a finish per slot, so B learns the same distances). Shared keys are
named by their position in round 1's reply (``psi.Result.positions``), never spelled out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from accord.errors import Conflict, Invalid, PayloadTooLarge
from accord.exchange.psi import DEFAULT_LIMIT, Finish, Initiator, Mode, Offer, Reply, Responder

__all__ = [
    "BITS",
    "CHUNKS",
    "MAX_SLOTS",
    "MAX_THRESHOLD",
    "Candidates",
    "Distances",
    "Finishes",
    "PdqInitiator",
    "PdqResponder",
    "PdqResult",
    "bit_keys",
    "chunk_keys",
    "distance",
    "radius_for",
    "slots",
]

BITS = 256
CHUNKS = 16
MAX_THRESHOLD = 31
"""The largest distance round 1 is sure to find a candidate for (``radius`` 1)."""
MAX_SLOTS = 10_000
"""Most round-2 slots one session runs (each about 33 KB on the wire and 770 X25519 multiplications)."""


def _check(value: str, where: str) -> int:
    if not isinstance(value, str) or len(value) != 64:
        raise Invalid.at(where, "a PDQ hash is 64 hex digits")
    try:
        return int(value, 16)
    except ValueError:
        raise Invalid.at(where, "a PDQ hash is 64 hex digits") from None


def chunk_keys(hashes: Sequence[str], radius: int = 0) -> dict[str, list[int]]:
    """Round 1's keys: each key (``c<i>:<4 hex digits>``, chunk ``i`` counted from the first hex digit)
    mapped to the indices of the hashes that hold it. ``radius`` 0 or 1: with 1, also every value one bit
    away from each chunk (the initiator's side, for thresholds up to 31)."""
    if radius not in (0, 1):
        raise Invalid.at("/radius", "radius must be 0 or 1")
    keys: dict[str, list[int]] = {}
    for n, h in enumerate(hashes):
        value = _check(h, f"/{n}")
        for i in range(CHUNKS):
            chunk = (value >> (BITS - 16 * (i + 1))) & 0xFFFF
            near = [chunk] + ([chunk ^ (1 << b) for b in range(16)] if radius else [])
            for c in near:
                holders = keys.setdefault(f"c{i}:{c:04x}", [])
                if not holders or holders[-1] != n:
                    holders.append(n)
    return keys


def slots(
    shared: Iterable[str], initiator_counts: Mapping[str, int], responder_counts: Mapping[str, int]
) -> list[tuple[str, int, int]]:
    """Round 2's work list, the same on both sides: for each shared key (sorted), each position in the
    initiator's list of holders against each position in the responder's (each side sends the other
    its ``{key: len(holders)}`` for the shared keys). A side maps its own position to its hash index with
    ``chunk_keys(...)[key][position]``; the peer's position stays opaque to it."""
    return [
        (key, a, b)
        for key in sorted(shared)
        for a in range(initiator_counts.get(key, 0))
        for b in range(responder_counts.get(key, 0))
    ]


def bit_keys(value: str) -> list[str]:
    """Round 2's 256 keys of one hash: ``b<position>:<bit>``, position 0 the most significant bit."""
    bits = _check(value, "")
    return [f"b{p}:{(bits >> (BITS - 1 - p)) & 1}" for p in range(BITS)]


def distance(count: int) -> int:
    """The Hamming distance from round 2's count of agreeing positions."""
    if not 0 <= count <= BITS:
        raise Invalid.at("/count", f"a bit-key count is between 0 and {BITS}")
    return BITS - count


def radius_for(threshold: int) -> int:
    """The initiator's chunk radius that finds every pair within ``threshold``: 0 up to 15, 1 up to 31."""
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 0 <= threshold <= MAX_THRESHOLD:
        raise Invalid.at("/threshold", f"a PDQ deconfliction threshold is between 0 and {MAX_THRESHOLD}")
    return 0 if threshold < CHUNKS else 1


# --- messages after round 1's reply -------------------------------------------------------------------


def _fields(doc: object, keys: set[str], what: str) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping) or set(doc) != keys:
        raise Invalid.at("", f"a PDQ {what} is an object with exactly {sorted(keys)}")
    if not isinstance(doc["session"], str):
        raise Invalid.at("/session", "session must be a string")
    return doc


def _list(doc: Mapping[str, Any], name: str, limit: int) -> list[Any]:
    value = doc[name]
    if not isinstance(value, list):
        raise Invalid.at(f"/{name}", f"{name} must be a list")
    if len(value) > limit:
        raise PayloadTooLarge.at(f"/{name}", f"{len(value)} elements is more than the limit of {limit}")
    return value


def _counts(doc: Mapping[str, Any], limit: int) -> list[int]:
    counts = _list(doc, "counts", limit)
    for n, c in enumerate(counts):
        if not isinstance(c, int) or isinstance(c, bool) or not 1 <= c <= limit:
            raise Invalid.at(f"/counts/{n}", f"a number of holders is between 1 and {limit}")
    return counts


@dataclass(frozen=True)
class Candidates:
    """A to B after round 1's reply: round 1's finish; A's number of holders of each shared key, in the
    order of the keys' positions in the reply; a count-mode offer of bit keys per (shared key, holder)."""

    session: str
    finish: Finish
    counts: list[int]
    offers: list[Offer]

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "finish": self.finish.to_json(),
            "offers": [o.to_json() for o in self.offers],
            "session": self.session,
        }

    @classmethod
    def from_json(cls, doc: object, *, max_slots: int = MAX_SLOTS) -> Candidates:
        d = _fields(doc, {"counts", "finish", "offers", "session"}, "candidates message")
        offers = [Offer.from_json(o, limit=BITS) for o in _list(d, "offers", max_slots)]
        return cls(d["session"], Finish.from_json(d["finish"]), _counts(d, max_slots), offers)


@dataclass(frozen=True)
class Distances:
    """B to A: B's number of holders of each shared key (same order), and a reply per slot."""

    session: str
    counts: list[int]
    replies: list[Reply]

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts, "replies": [r.to_json() for r in self.replies], "session": self.session}

    @classmethod
    def from_json(cls, doc: object, *, max_slots: int = MAX_SLOTS) -> Distances:
        d = _fields(doc, {"counts", "replies", "session"}, "distances message")
        replies = [Reply.from_json(r, limit=BITS) for r in _list(d, "replies", max_slots)]
        return cls(d["session"], _counts(d, max_slots), replies)


@dataclass(frozen=True)
class Finishes:
    """A to B: a finish message per slot, so that B learns the same distances."""

    session: str
    finishes: list[Finish]

    def to_json(self) -> dict[str, Any]:
        return {"finishes": [f.to_json() for f in self.finishes], "session": self.session}

    @classmethod
    def from_json(cls, doc: object, *, max_slots: int = MAX_SLOTS) -> Finishes:
        d = _fields(doc, {"finishes", "session"}, "finishes message")
        return cls(d["session"], [Finish.from_json(f, limit=BITS) for f in _list(d, "finishes", max_slots)])


@dataclass(frozen=True)
class PdqResult:
    """What one side learned: its own hashes with a near duplicate at the peer (``None`` in count mode),
    their number, the peer's number of round-1 keys (``peer_size``) and the number of slots compared."""

    count: int
    members: frozenset[str] | None
    peer_size: int
    slots: int


def _result(hashes: Sequence[str], near: set[int], mode: Mode, peer_size: int, n_slots: int) -> PdqResult:
    members = frozenset(hashes[i] for i in near) if mode == "members" else None
    return PdqResult(len(near), members, peer_size, n_slots)


def _own(hashes: Iterable[str]) -> list[str]:
    own = sorted({h.lower() if isinstance(h, str) else h for h in hashes})
    for n, h in enumerate(own):
        _check(h, f"/{n}")
    return own


class PdqInitiator:
    """Side A: ``offer()``, ``candidates(reply)``, ``distances(msg)`` (its result), ``finishes()``."""

    def __init__(
        self,
        hashes: Iterable[str],
        *,
        threshold: int,
        mode: Mode = "members",
        limit: int = DEFAULT_LIMIT,
        max_slots: int = MAX_SLOTS,
    ) -> None:
        self.hashes, self.threshold, self.mode, self.max_slots = _own(hashes), threshold, mode, max_slots
        self._keys = chunk_keys(self.hashes, radius_for(threshold))
        self._round1 = Initiator(self._keys, kind="pdq-chunks", mode="members", limit=limit)
        self.session = self._round1.session
        self._bits: list[tuple[int, Initiator]] = []
        self._counts: list[int] = []
        self._finishes: list[Finish] | None = None

    def offer(self) -> Offer:
        return self._round1.offer()

    def candidates(self, reply: Reply) -> Candidates:
        shared = self._round1.receive(reply)
        assert shared.positions is not None
        self.peer_size = shared.peer_size
        for key, _ in sorted(shared.positions.items(), key=lambda kv: kv[1]):
            holders = self._keys[key]
            self._counts.append(len(holders))
            self._bits += [(i, Initiator(bit_keys(self.hashes[i]), kind="pdq-bits", mode="count")) for i in holders]
        if len(self._bits) > self.max_slots:
            raise PayloadTooLarge.at("", f"{len(self._bits)} candidates is more than the limit of {self.max_slots}")
        offers = [b.offer() for _, b in self._bits]
        return Candidates(self.session, self._round1.finish(), self._counts, offers)

    def distances(self, message: Distances) -> PdqResult:
        if message.session != self.session:
            raise Invalid.at("/session", "the message answers another session")
        if len(message.counts) != len(self._counts):
            raise Invalid.at("/counts", f"{len(message.counts)} numbers answer {len(self._counts)} shared keys")
        expected = sum(a * b for a, b in zip(self._counts, message.counts, strict=True))
        if len(message.replies) != expected:
            raise Invalid.at("/replies", f"{len(message.replies)} replies answer {expected} slots")
        near: set[int] = set()
        finishes: list[Finish] = []
        at, offer = 0, 0
        for n_a, n_b in zip(self._counts, message.counts, strict=True):
            for index, bits in self._bits[offer : offer + n_a]:
                results = bits.receive_all(message.replies[at : at + n_b])
                finishes += bits.finish_all()
                if any(distance(r.count) <= self.threshold for r in results):
                    near.add(index)
                at += n_b
            offer += n_a
        self._finishes = finishes
        return _result(self.hashes, near, self.mode, self.peer_size, len(finishes))

    def finishes(self) -> Finishes:
        if self._finishes is None:
            raise Conflict("this PDQ session has no distances yet")
        return Finishes(self.session, self._finishes)


class PdqResponder:
    """Side B: ``reply(offer)``, ``distances(candidates)``, ``receive(finishes)`` (its result). Between two
    messages its whole state is ``state()`` (JSON, no secret: each is dropped once its reply is made), from
    which ``resume`` rebuilds it, so a node can keep a session in its database."""

    def __init__(
        self,
        hashes: Iterable[str],
        *,
        threshold: int,
        mode: Mode = "members",
        limit: int = DEFAULT_LIMIT,
        max_slots: int = MAX_SLOTS,
    ) -> None:
        radius_for(threshold)
        self.hashes, self.threshold, self.mode, self.max_slots = _own(hashes), threshold, mode, max_slots
        self.limit = limit
        self._round1: Responder | None = None
        self._slots: list[tuple[int, Responder]] = []
        self.peer_size = 0
        self.session = ""
        self.step = "offer"
        """The message this side expects next: ``offer``, ``candidates``, ``finishes``, then ``done``."""

    def _advance(self, expected: str, following: str) -> None:
        if self.step != expected:
            raise Conflict(f"this PDQ session expects {self.step}, not {expected}: a session runs once")
        self.step = following

    def reply(self, offer: Offer) -> Reply:
        if offer.kind != "pdq-chunks" or offer.mode != "members":
            raise Invalid.at("/set", "a PDQ deconfliction offer compares pdq-chunks in members mode")
        self._round1 = Responder(chunk_keys(self.hashes), kind="pdq-chunks", mode="members", limit=self.limit)
        reply = self._round1.reply(offer)
        self._advance("offer", "candidates")
        self.session, self.peer_size = offer.session, len(offer.points) // 32
        return reply

    def distances(self, message: Candidates) -> Distances:
        if message.session != self.session:
            raise Invalid.at("/session", "the message belongs to another session")
        self._advance("candidates", "finishes")
        assert self._round1 is not None
        shared, self._round1 = self._round1.receive(message.finish), None
        assert shared.positions is not None
        keys = chunk_keys(self.hashes)
        ordered = [key for key, _ in sorted(shared.positions.items(), key=lambda kv: kv[1])]
        if len(message.counts) != len(ordered):
            raise Invalid.at("/counts", f"{len(message.counts)} numbers answer {len(ordered)} shared keys")
        if len(message.offers) != sum(message.counts):
            raise Invalid.at("/offers", f"{len(message.offers)} offers for {sum(message.counts)} holders")
        counts = [len(keys[k]) for k in ordered]
        total = sum(a * b for a, b in zip(message.counts, counts, strict=True))
        if total > self.max_slots:
            raise PayloadTooLarge.at("", f"{total} candidate slots is more than the limit of {self.max_slots}")
        replies: list[Reply] = []
        offer = 0
        for key, n_a in zip(ordered, message.counts, strict=True):
            for bits_offer in message.offers[offer : offer + n_a]:
                if (bits_offer.kind, bits_offer.mode, len(bits_offer.points)) != ("pdq-bits", "count", BITS * 32):
                    raise Invalid.at("/offers", f"a bit-key offer holds {BITS} pdq-bits points in count mode")
                for index in keys[key]:
                    r = Responder(bit_keys(self.hashes[index]), kind="pdq-bits", mode="count")
                    replies.append(r.reply(bits_offer))
                    self._slots.append((index, r))
            offer += n_a
        return Distances(self.session, counts, replies)

    def receive(self, message: Finishes) -> PdqResult:
        if self.step != "finishes":
            raise Conflict(f"this PDQ session expects {self.step}, not finishes: a session runs once")
        if message.session != self.session:
            raise Invalid.at("/session", "the message belongs to another session")
        if len(message.finishes) != len(self._slots):
            raise Invalid.at("/finishes", f"{len(message.finishes)} finish messages answer {len(self._slots)} slots")
        self._advance("finishes", "done")
        near = {
            index
            for (index, r), f in zip(self._slots, message.finishes, strict=True)
            if distance(r.receive(f).count) <= self.threshold
        }
        result = _result(self.hashes, near, self.mode, self.peer_size, len(self._slots))
        self._slots = []
        return result

    def state(self) -> dict[str, Any]:
        """Between messages: the own hashes, threshold, mode and either round 1's responder (before the
        candidates) or each slot's (before the finishes); no secret."""
        return {
            "hashes": self.hashes,
            "limit": self.limit,
            "max_slots": self.max_slots,
            "mode": self.mode,
            "peer_size": self.peer_size,
            "round1": self._round1.state() if self._round1 is not None else None,
            "session": self.session,
            "slots": [[i, r.state()] for i, r in self._slots],
            "step": self.step,
            "threshold": self.threshold,
        }

    @classmethod
    def resume(cls, state: Mapping[str, Any]) -> PdqResponder:
        party = cls(
            state["hashes"],
            threshold=int(state["threshold"]),
            mode=state["mode"],
            limit=int(state["limit"]),
            max_slots=int(state["max_slots"]),
        )
        party.session, party.peer_size, party.step = state["session"], int(state["peer_size"]), state["step"]
        party._round1 = Responder.resume(state["round1"]) if state["round1"] is not None else None
        party._slots = [(int(i), Responder.resume(s)) for i, s in state["slots"]]
        return party
