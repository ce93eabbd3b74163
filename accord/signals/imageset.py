"""A benign image set, drawn deterministically from a seed, and the edits a re-shared picture goes through.

Why generated pictures: calibrating a matching threshold needs thousands of unrelated images and known
edited copies of each; drawing them from a seed makes every run reproducible, ships no data set, and
keeps the calibration material provably benign (gradients, value noise, shapes, random letters, and the
public sample photographs that ship with scikit-image when it is installed).

Each picture is drawn from its own random stream ``(seed, index)``, so image ``k`` is the same whatever
else was drawn before it.
"""

from __future__ import annotations

import importlib.util
import io
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from accord.signals.images import to_rgb

__all__ = ["KINDS", "PHOTOS", "TRANSFORMS", "BenignImage", "benign_images", "sample_photos", "transform"]

KINDS = ("gradient", "noise", "shapes", "text")

# scikit-image's bundled sample photographs (public domain or CC0, see skimage/data/README.txt). Left out:
# motorcycle_right (the stereo twin of motorcycle_left), synthetic charts and masks, and anything fetched
# over the network.
PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "chelsea.png",
    "clock_motion.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "microaneurysms.png",
    "moon.png",
    "motorcycle_left.png",
    "page.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
)

TRANSFORMS = (
    "resize_half",
    "resize_double",
    "crop",
    "jpeg",
    "rotate90",
    "rotate180",
    "mirror",
    "watermark",
    "colour_shift",
    "border",
)


@dataclass(frozen=True, slots=True)
class BenignImage:
    index: int
    kind: str  # one of KINDS, or "photo:<file>"
    image: Image.Image


def benign_images(seed: int, *, photos: bool = True) -> Iterator[BenignImage]:
    """An endless stream: the sample photos first (when present and ``photos``), then the KINDS in turn."""
    index = 0
    if photos:
        for name, image in sample_photos():
            yield BenignImage(index, f"photo:{name}", image)
            index += 1
    while True:
        kind = KINDS[index % len(KINDS)]
        rng = np.random.default_rng((seed, index))
        yield BenignImage(index, kind, _DRAW[kind](rng))
        index += 1


def sample_photos() -> list[tuple[str, Image.Image]]:
    """scikit-image's bundled photographs as RGB, read from its package folder; empty when it is absent."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    found = []
    for name in PHOTOS:
        path = folder / name
        if path.is_file():
            with Image.open(path) as image:
                found.append((name, to_rgb(image)))
    return found


def transform(image: Image.Image, name: str, rng: np.random.Generator) -> Image.Image:
    """``image`` after the edit ``name`` (one of TRANSFORMS), its random choices drawn from ``rng``."""
    return _EDIT[name](image, rng)


def _size(rng: np.random.Generator) -> tuple[int, int]:
    return int(rng.integers(200, 321)), int(rng.integers(200, 321))


def _colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in rng.integers(low, high, 3))
    return r, g, b


def _gradient(rng: np.random.Generator) -> Image.Image:
    """A linear two-colour ramp at a random angle under soft-edged discs of radial shading.

    A bare ramp hashes like every other ramp of its angle and has too little detail for PDQ's quality
    bar, so discs of their own gradients are laid over it.
    """
    w, h = _size(rng)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (x * np.cos(angle) + y * np.sin(angle)) / np.hypot(w, h) + 0.5
    a, b = rng.integers(0, 256, (2, 3))
    pixels = a[None, None, :] + (b - a)[None, None, :] * ramp[..., None]
    for _ in range(int(rng.integers(8, 17))):
        cx, cy, radius = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.05, 0.25) * min(w, h)
        distance = np.hypot(x - cx, y - cy)
        weight = (1 / (1 + np.exp((distance - radius) / rng.uniform(1, 4))))[..., None]
        inner, outer = rng.integers(0, 256, (2, 3))
        shade = inner + (outer - inner) * np.clip(distance / radius, 0, 1)[..., None]
        pixels = pixels * (1 - weight) + shade * weight
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _noise(rng: np.random.Generator) -> Image.Image:
    """Value noise: random grids of a few octaves, each smoothly upsampled, summed with falling weights."""
    w, h = _size(rng)
    total = np.zeros((h, w, 3))
    for octave, weight in ((3, 1.0), (6, 0.6), (12, 0.4), (24, 0.25), (48, 0.15)):
        grid = Image.fromarray((rng.random((octave, octave, 3)) * 255).astype(np.uint8), "RGB")
        total += weight * np.asarray(grid.resize((w, h), Image.Resampling.BICUBIC), dtype=np.float64)
    total = (total - total.min()) * (255.0 / max(float(np.ptp(total)), 1e-9))
    return Image.fromarray(total.astype(np.uint8), "RGB")


def _shapes(rng: np.random.Generator) -> Image.Image:
    w, h = _size(rng)
    image = Image.new("RGB", (w, h), _colour(rng))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(5, 16))):
        x0, x1 = sorted(int(v) for v in rng.integers(-w // 4, w + w // 4, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(-h // 4, h + h // 4, 2))
        shape = int(rng.integers(0, 4))
        if shape == 0:
            draw.ellipse((x0, y0, x1 + 1, y1 + 1), fill=_colour(rng))
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=_colour(rng))
        elif shape == 2:
            points = [(int(px), int(py)) for px, py in zip(rng.integers(0, w, 5), rng.integers(0, h, 5), strict=True)]
            draw.polygon(points, fill=_colour(rng))
        else:
            draw.line((x0, y0, x1, y1), fill=_colour(rng), width=int(rng.integers(2, 12)))
    return image


def _words(rng: np.random.Generator, count: int) -> str:
    letters = string.ascii_letters + string.digits
    return " ".join("".join(rng.choice(list(letters), int(rng.integers(2, 9)))) for _ in range(count))


def _text(rng: np.random.Generator) -> Image.Image:
    """Random letters in Pillow's bundled font, at random sizes, places and colours."""
    w, h = _size(rng)
    image = Image.new("RGB", (w, h), _colour(rng, 128, 256))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        font = ImageFont.load_default(size=int(rng.integers(12, 48)))
        xy = (int(rng.integers(-20, w - 20)), int(rng.integers(-10, h - 10)))
        draw.text(xy, _words(rng, int(rng.integers(1, 4))), fill=_colour(rng, 0, 128), font=font)
    return image


_DRAW: dict[str, Callable[[np.random.Generator], Image.Image]] = {
    "gradient": _gradient,
    "noise": _noise,
    "shapes": _shapes,
    "text": _text,
}


def _resize(image: Image.Image, factor: float) -> Image.Image:
    w, h = image.size
    return image.resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.BICUBIC)


def _crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Cut 5-20 % of the width and of the height, split at random between the two opposite sides."""
    w, h = image.size
    cut_w, cut_h = round(w * rng.uniform(0.05, 0.20)), round(h * rng.uniform(0.05, 0.20))
    left, top = int(rng.integers(0, cut_w + 1)), int(rng.integers(0, cut_h + 1))
    return image.crop((left, top, w - (cut_w - left), h - (cut_h - top)))


def _jpeg(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=int(rng.integers(30, 91)))
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return decoded.convert("RGB")


def _watermark(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A half-transparent caption across a band of the picture, as a re-poster's mark."""
    w, h = image.size
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(10, h // 10))
    shade = int(rng.choice([0, 255]))
    xy = (int(rng.integers(0, max(1, w // 3))), int(rng.integers(0, max(1, h - h // 8))))
    draw.text(xy, f"@{_words(rng, 1)} {int(rng.integers(1000, 10000))}", fill=(shade, shade, shade, 160), font=font)
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def _colour_shift(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Per-channel gain and offset, as a filter or white-balance change."""
    pixels = np.asarray(image, dtype=np.float64)
    shifted = pixels * rng.uniform(0.8, 1.2, 3) + rng.uniform(-25, 25, 3)
    return Image.fromarray(np.clip(shifted, 0, 255).astype(np.uint8), "RGB")


def _border(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A solid frame 5-15 % of the size on each side (letterboxing, a meme frame)."""
    w, h = image.size
    pad_w, pad_h = round(w * rng.uniform(0.05, 0.15)), round(h * rng.uniform(0.05, 0.15))
    framed = Image.new("RGB", (w + 2 * pad_w, h + 2 * pad_h), _colour(rng))
    framed.paste(image, (pad_w, pad_h))
    return framed


_EDIT: dict[str, Callable[[Image.Image, np.random.Generator], Image.Image]] = {
    "resize_half": lambda image, _rng: _resize(image, 0.5),
    "resize_double": lambda image, _rng: _resize(image, 2.0),
    "crop": _crop,
    "jpeg": _jpeg,
    "rotate90": lambda image, _rng: image.transpose(Image.Transpose.ROTATE_90),
    "rotate180": lambda image, _rng: image.transpose(Image.Transpose.ROTATE_180),
    "mirror": lambda image, _rng: image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "watermark": _watermark,
    "colour_shift": _colour_shift,
    "border": _border,
}
