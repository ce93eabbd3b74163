"""PDQ: hashes agree with ThreatExchange's hasher bit for bit; hex parsing refuses what is not 64 hex digits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes

from accord.errors import Invalid
from accord.signals.imageset import benign_images
from accord.signals.pdq import DIHEDRAL, hamming, parse_pdq, pdq_dihedral, pdq_image, pdq_pixels


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("index", range(4))
def test_the_hash_is_threatexchanges(index: int) -> None:
    picture = next(b.image for b in benign_images(3, photos=False) if b.index == index)
    data = _png(picture)
    ours = pdq_image(data)
    theirs_hex, theirs_quality = pdq_from_bytes(data)
    assert ours.hex == theirs_hex and ours.quality == theirs_quality
    assert len(ours.hex) == 64 and ours.hex == ours.hex.lower()


def test_dihedral_variants_find_rotations_and_mirrors() -> None:
    square = np.asarray(next(benign_images(5, photos=False)).image.resize((256, 256)))
    variants, quality = pdq_dihedral(square)
    assert len(variants) == len(DIHEDRAL) == 8 and quality == pdq_pixels(square).quality
    assert variants[0] == pdq_pixels(square).hex
    for edited in (np.rot90(square), np.rot90(square, 2), np.rot90(square, 3), square[:, ::-1], square[::-1]):
        plain = pdq_pixels(np.ascontiguousarray(edited)).hex
        assert hamming(plain, variants[0]) > 60  # a rotation is far from the original ...
        # ... and found among its variants; not always at 0, as PDQ's box filter is not symmetric in x and y
        assert min(hamming(plain, v) for v in variants) <= 31


def test_parse_pdq_normalises_case_and_blanks() -> None:
    assert parse_pdq("  " + "AB" * 32 + "\n") == "ab" * 32


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ab" * 31, "64 hex characters, got 62"),
        ("ab" * 33, "64 hex characters, got 66"),
        ("", "64 hex characters, got 0"),
        ("ab" * 31 + "zz", "hex only (0-9, a-f), found 'z'"),
        ("ab" * 31 + "-1", "hex only (0-9, a-f), found '-'"),
    ],
)
def test_parse_pdq_refuses_what_is_not_a_pdq_hash(text: str, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_pdq(text, "/hashes/3")
    assert caught.value.errors == {"/hashes/3": caught.value.errors["/hashes/3"]}
    assert words in caught.value.errors["/hashes/3"]


def test_hamming() -> None:
    zero = "0" * 64
    assert hamming(zero, zero) == 0
    assert hamming(zero, "f" * 64) == 256
    assert hamming(zero, "0" * 63 + "7") == 3
    with pytest.raises(ValueError, match="different lengths"):
        hamming(zero, "00")
