"""PDQ: Meta's 256-bit perceptual image hash, as 64 lowercase hex characters, and its Hamming distance.

Why hex strings at this boundary: it is the form every exchange uses (ThreatExchange, HMA's CSV, NCMEC
hash lists), so a hash read from a platform and one computed here compare as text. The bit order matches
``threatexchange``'s hasher: the first of ``pdqhash``'s 256 bits is the high bit of the first hex digit.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
import pdqhash

from accord.errors import Invalid
from accord.signals.images import DEFAULT_MAX_PIXELS, decode_rgb

__all__ = [
    "DIHEDRAL",
    "PDQ_HEX_LENGTH",
    "PdqHash",
    "hamming",
    "parse_pdq",
    "pdq_dihedral",
    "pdq_image",
    "pdq_pixels",
    "words",
]

PDQ_HEX_LENGTH = 64

# The order of ``pdqhash.compute_dihedral``'s eight hashes (the dihedral group of the square).
DIHEDRAL = ("original", "rotate90", "rotate180", "rotate270", "flip_x", "flip_y", "flip_plus1", "flip_minus1")

_HEX = re.compile(r"[0-9a-f]{64}")


class PdqHash(NamedTuple):
    """A PDQ hash and its quality (0..100; Meta advises discarding hashes under 50, flat images score low)."""

    hex: str
    quality: int


def pdq_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> PdqHash:
    """The PDQ hash of an image file's bytes (decoded by :func:`accord.signals.images.decode_rgb`)."""
    return pdq_pixels(np.asarray(decode_rgb(data, max_pixels=max_pixels)))


def pdq_pixels(rgb: np.ndarray) -> PdqHash:
    """The PDQ hash of an ``(height, width, 3)`` uint8 RGB array."""
    bits, quality = pdqhash.compute(_contiguous(rgb))
    return PdqHash(_bits_hex(bits), int(quality))


def pdq_dihedral(rgb: np.ndarray) -> tuple[list[str], int]:
    """The hashes of the image's eight rotations and mirrors (order :data:`DIHEDRAL`) and its quality.

    About 1.5 times the cost of one hash: PDQ computes them from one DCT. Querying with all eight finds a
    rotated or mirrored copy, and multiplies the chances of a false match by up to eight.
    """
    hashes, quality = pdqhash.compute_dihedral(_contiguous(rgb))
    return [_bits_hex(bits) for bits in hashes], int(quality)


def parse_pdq(text: str, pointer: str = "/hash") -> str:
    """``text`` as a PDQ hash (64 hex characters, either case, surrounding blanks ignored), lowercased."""
    value = text.strip().lower()
    if len(value) != PDQ_HEX_LENGTH:
        raise Invalid.at(pointer, f"a PDQ hash is {PDQ_HEX_LENGTH} hex characters, got {len(value)}")
    if not _HEX.fullmatch(value):
        bad = next(c for c in value if c not in "0123456789abcdef")
        raise Invalid.at(pointer, f"a PDQ hash is hex only (0-9, a-f), found {bad!r}")
    return value


def hamming(a_hex: str, b_hex: str) -> int:
    """The number of bits that differ between two hashes of equal length given in hex (0..256 for PDQ)."""
    if len(a_hex) != len(b_hex):
        raise ValueError(f"hashes of different lengths ({len(a_hex)} and {len(b_hex)} hex characters)")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def words(hexes: list[str]) -> np.ndarray:
    """Hex hashes as an ``(n, 4)`` uint64 array (big-endian words, as the hex reads): XOR two rows and
    ``np.bitwise_count`` the result for their Hamming distance, many pairs at a time."""
    if not hexes:
        return np.zeros((0, 4), dtype=np.uint64)
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=">u8").astype(np.uint64).reshape(len(hexes), 4)


def _bits_hex(bits: np.ndarray) -> str:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def _contiguous(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (height, width, 3) RGB array, got shape {rgb.shape}")
    return np.ascontiguousarray(rgb, dtype=np.uint8)
