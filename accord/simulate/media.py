"""Media as hash families: one base 256-bit PDQ hash and copies of it at small Hamming distances, the
way re-encoding, resizing or cropping moves a perceptual hash while changing every cryptographic one.

Nothing here is derived from any image: the base hash is random bits, so a family is only a planted
"these files are the same picture" fact for media matching to find.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MediaFamily", "new_family"]

_MIMES = ("image/jpeg", "image/jpeg", "image/jpeg", "image/png", "image/webp")


@dataclass(slots=True)
class MediaFamily:
    id: str
    network: int
    """Index of the network that circulates it, or -1."""
    pdq: int
    files: list[dict[str, Any]] = field(default_factory=list)
    """Hash-only media records, ready to be placed in a report as they are."""
    distances: list[int] = field(default_factory=list)
    """Hamming distance of each file's PDQ hash from the base."""


def _flip(rng: random.Random, value: int, bits: int) -> int:
    mask = 0
    while mask.bit_count() < bits:
        mask |= 1 << rng.getrandbits(8)
    return value ^ mask


def new_family(rng: random.Random, family_id: str, network: int, size: int) -> MediaFamily:
    """The base file and ``size - 1`` transformed copies, each 2 to 20 bits away from the base."""
    base = rng.getrandbits(256)
    family = MediaFamily(family_id, network, base)
    random_ = rng.random
    for n in range(size):
        distance = 0 if n == 0 else 2 + int(random_() * 19)
        pdq = base if distance == 0 else _flip(rng, base, distance)
        family.files.append(
            {
                "md5": f"{rng.getrandbits(128):032x}",
                "sha256": f"{rng.getrandbits(256):064x}",
                "pdq": f"{pdq:064x}",
                "pdq_quality": 55 + int(random_() * 46),
                "size": 18_000 + int(random_() * 3_982_000),
                "mime": _MIMES[int(random_() * len(_MIMES))],
            }
        )
        family.distances.append(distance)
    return family
