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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from accord.errors import Invalid

__all__ = ["BITS", "CHUNKS", "bit_keys", "chunk_keys", "distance", "slots"]

BITS = 256
CHUNKS = 16


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
