"""The benign image set is reproducible from its seed, and each edit does what its name says."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from accord.signals.imageset import KINDS, PHOTOS, TRANSFORMS, benign_images, sample_photos, transform


def _first(seed: int, n: int, photos: bool = False) -> list[Image.Image]:
    return [b.image for _, b in zip(range(n), benign_images(seed, photos=photos), strict=False)]


def test_the_seed_decides_every_pixel() -> None:
    a, b, c = _first(1, 8), _first(1, 8), _first(2, 8)
    assert all((np.asarray(x) == np.asarray(y)).all() for x, y in zip(a, b, strict=True))
    assert not any(x.size == y.size and (np.asarray(x) == np.asarray(y)).all() for x, y in zip(a, c, strict=True))


def test_kinds_take_turns_after_the_photos() -> None:
    photos = sample_photos()
    assert [name for name, _ in photos] == list(PHOTOS)  # scikit-image is a dev dependency
    stream = benign_images(0)
    kinds = [next(stream).kind for _ in range(len(photos) + 8)]
    assert kinds[: len(photos)] == [f"photo:{name}" for name in PHOTOS]
    assert set(kinds[len(photos) :]) == set(KINDS)
    assert all(image.mode == "RGB" for _, image in photos)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_edits(name: str) -> None:
    image = _first(5, 1)[0]
    w, h = image.size
    edited = transform(image, name, np.random.default_rng(0))
    assert edited.mode == "RGB"
    ew, eh = edited.size
    if name == "resize_half":
        assert (ew, eh) == (round(w / 2), round(h / 2))
    elif name == "resize_double":
        assert (ew, eh) == (2 * w, 2 * h)
    elif name == "crop":
        assert 0.80 * w - 1 <= ew <= 0.95 * w + 1 and 0.80 * h - 1 <= eh <= 0.95 * h + 1
    elif name == "border":
        assert 1.10 * w - 1 <= ew <= 1.30 * w + 1 and 1.10 * h - 1 <= eh <= 1.30 * h + 1
    elif name == "rotate90":
        assert (ew, eh) == (h, w)
    else:
        assert (ew, eh) == (w, h)
    if name in {"rotate180", "mirror"}:
        flipped = np.asarray(image)[::-1, ::-1] if name == "rotate180" else np.asarray(image)[:, ::-1]
        assert (np.asarray(edited) == flipped).all()
    if name in {"jpeg", "watermark", "colour_shift"}:
        assert not (np.asarray(edited) == np.asarray(image)).all()
