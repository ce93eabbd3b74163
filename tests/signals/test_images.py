"""Decoding: the same picture in every Pillow mode and file layout hashes like its RGB form; hostile or broken
files are refused with an Invalid at /image and no warning."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from accord.errors import Invalid
from accord.signals.images import decode_rgb, to_rgb
from accord.signals.imageset import benign_images, sample_photos
from accord.signals.pdq import hamming, pdq_image, pdq_pixels


def _picture(kind: str) -> Image.Image:
    if kind == "generated":
        return next(b.image for b in benign_images(7, photos=False) if b.kind == "shapes")
    return dict(sample_photos())["astronaut.png"].resize((256, 256))


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _luma16(rgb: Image.Image) -> np.ndarray:
    return np.asarray(rgb.convert("L"), dtype=np.uint16) * 257


def _wide(rgb: Image.Image, mode: str, dtype: str, scale: float = 1.0) -> Image.Image:
    """The picture's grey levels at 16 bits, in a wide Pillow mode with the given raw layout."""
    values = (_luma16(rgb) * scale).astype(dtype)
    return Image.frombytes(mode, rgb.size, values.tobytes())


BAND = 100  # rows


def _over_black_alpha(rgb: Image.Image) -> Image.Image:
    """The picture with a transparent band hiding stripes (an encoder's leftovers); over white it is white."""
    rgba = rgb.convert("RGBA")
    pixels = np.array(rgba)
    pixels[:BAND, :, :3] = (np.arange(pixels.shape[1]) // 8 % 2 * 255).astype(np.uint8)[None, :, None]
    pixels[:BAND, :, 3] = 0
    return Image.fromarray(pixels, "RGBA")


def _white_band(rgb: Image.Image) -> Image.Image:
    pixels = np.array(rgb)
    pixels[:BAND] = 255
    return Image.fromarray(pixels, "RGB")


def _palette_with_transparency(rgb: Image.Image) -> bytes:
    paletted = _over_black_alpha(rgb).quantize(colors=255, method=Image.Quantize.FASTOCTREE)
    return _encode(paletted, "PNG")


def _bilevel(rgb: Image.Image) -> Image.Image:
    return rgb.convert("L").point(lambda v: 255 if v > 127 else 0).convert("1")


# form name -> (bytes of the picture in that form, whether its reference has the white band)
FORMS: dict[str, Callable[[Image.Image], tuple[bytes, bool]]] = {
    "L": lambda im: (_encode(im.convert("L"), "PNG"), False),
    "P": lambda im: (_encode(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=256), "PNG"), False),
    "P+transparency": lambda im: (_palette_with_transparency(im), True),
    "LA": lambda im: (_encode(_over_black_alpha(im).convert("LA"), "PNG"), True),
    "RGBA": lambda im: (_encode(_over_black_alpha(im), "PNG"), True),
    "RGBA-WEBP": lambda im: (_encode(_over_black_alpha(im), "WEBP", lossless=True), True),
    "CMYK-TIFF": lambda im: (_encode(im.convert("CMYK"), "TIFF"), False),
    "CMYK-JPEG": lambda im: (_encode(im.convert("CMYK"), "JPEG", quality=95), False),
    "I;16-PNG": lambda im: (_encode(_wide(im, "I;16", "<u2"), "PNG"), False),
    "I;16B-TIFF": lambda im: (_encode(_wide(im, "I;16B", ">u2"), "TIFF"), False),
    "I;16-from-L": lambda im: (_encode(im.convert("L").convert("I;16"), "TIFF"), False),
    "I-TIFF": lambda im: (_encode(_wide(im, "I", "<i4"), "TIFF"), False),
    "F-TIFF": lambda im: (_encode(_wide(im, "F", "<f4", 1 / 65535), "TIFF"), False),
    "YCbCr-TIFF": lambda im: (_encode(im.convert("YCbCr"), "TIFF"), False),
    "LAB-TIFF": lambda im: (_encode(im.convert("LAB"), "TIFF"), False),
    "GIF": lambda im: (_encode(im, "GIF"), False),
    "BMP": lambda im: (_encode(im, "BMP"), False),
}


@pytest.mark.parametrize("kind", ["generated", "photo"])
@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_mode_hashes_within_10_of_the_rgb_form(kind: str, form: str) -> None:
    rgb = _picture(kind)
    data, banded = FORMS[form](rgb)
    reference = pdq_pixels(np.asarray(_white_band(rgb) if banded else rgb))
    assert reference.quality >= 50
    decoded = decode_rgb(data)
    assert decoded.mode == "RGB" and decoded.size == rgb.size
    distance = hamming(pdq_pixels(np.asarray(decoded)).hex, reference.hex)
    assert distance <= 10, f"{form} of the {kind} picture is {distance} bits from its RGB form"


def test_one_bit_decodes_to_black_and_white() -> None:
    bilevel = _bilevel(_picture("generated"))  # thresholding loses detail: its own RGB form is the reference
    decoded = np.asarray(decode_rgb(_encode(bilevel, "PNG")))
    assert set(np.unique(decoded).tolist()) == {0, 255}
    assert (decoded == np.asarray(bilevel.convert("RGB"))).all()


def test_alpha_is_composited_on_white_not_dropped() -> None:
    rgba = _over_black_alpha(_picture("generated"))
    decoded = np.asarray(decode_rgb(_encode(rgba, "PNG")))
    assert (decoded[:BAND] == 255).all()
    # dropping alpha shows the hidden stripes instead, and hashes far from what a viewer sees
    dropped = pdq_pixels(np.asarray(rgba.convert("RGB"))).hex
    assert hamming(dropped, pdq_pixels(decoded).hex) > 10


def test_modes_no_file_stores_convert_too() -> None:
    rgb = _picture("generated")
    reference = pdq_pixels(np.asarray(rgb)).hex
    for mode in ("HSV", "RGBX", "RGBa"):
        assert hamming(pdq_pixels(np.asarray(to_rgb(rgb.convert(mode)))).hex, reference) <= 10, mode
    pa = _over_black_alpha(rgb).convert("PA")  # no format writes PA; PNG readers can produce it
    banded = pdq_pixels(np.asarray(_white_band(rgb))).hex
    assert hamming(pdq_pixels(np.asarray(to_rgb(pa))).hex, banded) <= 10
    la = rgb.convert("LA").convert("La")
    assert to_rgb(la).mode == "RGB"


def test_sixteen_bit_is_scaled_not_clipped() -> None:
    ramp = np.tile(np.arange(0, 65536, 256, dtype="<u2"), (8, 1))  # 0..65280 across 256 columns
    decoded = np.asarray(decode_rgb(_encode(Image.frombytes("I;16", (256, 8), ramp.tobytes()), "PNG")))
    assert decoded[0, :, 0].tolist() == [round(v / 257) for v in ramp[0]]


def test_exif_rotated_jpeg_hashes_like_the_upright_one() -> None:
    upright = _picture("photo")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote, sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 clockwise to display
    data = _encode(stored, "JPEG", quality=90, exif=exif.tobytes())
    decoded = decode_rgb(data)
    assert decoded.size == upright.size
    expected = pdq_image(_encode(upright, "JPEG", quality=90)).hex
    assert hamming(pdq_image(data).hex, expected) <= 10
    # without the orientation tag the stored (sideways) picture is far from it
    assert hamming(pdq_image(_encode(stored, "JPEG", quality=90)).hex, expected) > 40


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width x height`` (valid CRCs, almost no pixel data)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"this is plain text, not a picture", "not an image"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "not an image"),  # EPS would run Ghostscript
        (_png_declaring(8_000, 8_000), "over the limit of 50,000,000 pixels"),  # ours: 64 MP
        (_png_declaring(10_000, 10_000), "decompression bomb"),  # Pillow's warning, made an error
        (_png_declaring(100_000, 100_000), "decompression bomb"),  # Pillow's error
        (_png_declaring(0, 10), "not an image"),
    ],
    ids=["empty", "text", "eps", "bomb-ours", "bomb-pillow-warning", "bomb-pillow-error", "zero-width"],
)
def test_bad_input_is_invalid_at_image(data: bytes, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        decode_rgb(data)
    assert list(caught.value.errors) == ["/image"]
    assert words in caught.value.errors["/image"]


def test_truncated_png_is_invalid() -> None:
    data = _encode(_picture("generated"), "PNG")
    with pytest.raises(Invalid, match="truncated or corrupt") as caught:
        decode_rgb(data[: len(data) // 2])
    assert "/image" in caught.value.errors


def test_the_pixel_limit_is_a_parameter() -> None:
    data = _encode(_picture("generated"), "PNG")
    with pytest.raises(Invalid, match="over the limit of 1,000 pixels"):
        decode_rgb(data, max_pixels=1_000)
    assert decode_rgb(data, max_pixels=10_000_000).mode == "RGB"
