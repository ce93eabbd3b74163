"""Untrusted image bytes to one RGB picture, whatever the file's mode, orientation or size claims.

Why a module of its own: a perceptual hash is only as good as the pixels it is given. ``Image.convert("RGB")``
alone gets several modes wrong for hashing: 16-bit and float pixels are clipped instead of scaled (a 16-bit
scan turns white), and alpha is dropped, so the colour stored under transparent pixels (often black, or an
encoder's leftovers) is hashed instead of what a viewer shows. Every hasher in Accord decodes through
:func:`decode_rgb`, so the same picture gives the same hash however a platform stored it.

Alpha is composited on white: white is what browsers and viewers show behind a transparent image on a
default page, so the hash follows the picture a person saw and reported; the colour under fully transparent
pixels is invisible and arbitrary, and hashing it would make the same picture hash differently per encoder.

Size: a decompression bomb (a small file that declares a huge canvas) is refused from its header, before
any pixel is decoded, by ``max_pixels``. Pillow's own ``Image.MAX_IMAGE_PIXELS`` check stays on as a
backstop; its warning is turned into the same error instead of being printed.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from accord.errors import Invalid

__all__ = ["DEFAULT_MAX_PIXELS", "FORMATS", "decode_rgb", "to_rgb"]

# 50 megapixels (an 8,000 x 6,000 camera frame fits, 150 MB once decoded to RGB); below Pillow's own
# limit (89.5 MP), so our check always speaks first.
DEFAULT_MAX_PIXELS = 50_000_000

# Formats a platform sends as pictures. Anything else (EPS, which runs Ghostscript; PSD; fonts) is refused
# before a decoder plugin sees the bytes. MPO is how Pillow names many phones' JPEGs.
FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")

_POINTER = "/image"
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}


def decode_rgb(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, pointer: str = _POINTER) -> Image.Image:
    """The first frame of ``data`` as an upright RGB image; :class:`Invalid` at ``pointer`` for anything else.

    Refused: bytes that are not an image of :data:`FORMATS`, a canvas over ``max_pixels``, a truncated or
    corrupt file. Nothing is decoded past the header of a refused bomb.
    """
    if max_pixels <= 0:
        raise ValueError("max_pixels must be positive")
    if not data:
        raise Invalid.at(pointer, "empty file, not an image")
    with warnings.catch_warnings():
        # Pillow's backstop: its warning (over MAX_IMAGE_PIXELS) becomes the error it gives at twice that
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[f for f in FORMATS if f in Image.OPEN])
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise Invalid.at(pointer, _bomb_message(None, max_pixels)) from None
        except UnidentifiedImageError:
            raise Invalid.at(pointer, f"not an image of a supported format ({', '.join(FORMATS)})") from None
        except Exception as exc:  # a plugin's own parse error on hostile input (SyntaxError, struct.error, ...)
            raise Invalid.at(pointer, f"not a readable image ({_reason(exc)})") from None
        with image:
            width, height = image.size
            if width <= 0 or height <= 0:
                raise Invalid.at(pointer, f"image declares an empty canvas ({width}x{height})")
            if width * height > max_pixels:
                raise Invalid.at(pointer, _bomb_message((width, height), max_pixels))
            try:
                image.load()
                upright = ImageOps.exif_transpose(image)
            except (Image.DecompressionBombWarning, Image.DecompressionBombError):
                raise Invalid.at(pointer, _bomb_message((width, height), max_pixels)) from None
            except Exception as exc:  # truncated data, a corrupt stream, bad EXIF
                raise Invalid.at(pointer, f"image data is truncated or corrupt ({_reason(exc)})") from None
            return to_rgb(upright)


def to_rgb(image: Image.Image) -> Image.Image:
    """``image`` in mode RGB: alpha over white, high-bit-depth pixels scaled to 8 bits, the rest converted."""
    mode = image.mode
    if mode == "RGB":
        return image.copy()
    if mode == "P" and "transparency" in image.info:
        return _over_white(image.convert("RGBA"))
    if mode in _ALPHA_MODES:
        # premultiplied La has no direct route to RGBA in Pillow; LA (straight alpha) does
        return _over_white((image.convert("LA") if mode == "La" else image).convert("RGBA"))
    if mode.startswith("I") or mode == "F":
        return Image.fromarray(_to_uint8(np.asarray(image)), "L").convert("RGB")
    # 1, L, P, CMYK (Adobe-inverted JPEGs are un-inverted by Pillow's decoder), YCbCr, LAB, HSV, RGBX
    return image.convert("RGB")


def _over_white(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Integer or float grey levels to 0..255.

    Pillow keeps 8-bit values in wide modes when it converts (``L`` to ``I;16`` stays 0..255), while a
    16-bit file spans 0..65535 and a float image usually 0..1. Each known range is scaled as such; anything
    else is stretched from its own minimum to maximum, which PDQ (DCT signs against the median) is
    indifferent to.
    """
    v = values.astype(np.float64)
    finite = v[np.isfinite(v)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if low >= 0 and high <= 255 and (values.dtype.kind != "f" or high > 1):
        scaled = v
    elif values.dtype.kind == "f" and low >= 0 and high <= 1:
        scaled = v * 255.0
    elif low >= 0 and high <= 65535 and values.dtype.kind != "f":
        scaled = v / 257.0
    elif high > low:
        scaled = (v - low) * (255.0 / (high - low))
    else:
        scaled = np.zeros_like(v)
    result: np.ndarray = np.clip(np.nan_to_num(np.rint(scaled)), 0, 255).astype(np.uint8)
    return result


def _bomb_message(size: tuple[int, int] | None, max_pixels: int) -> str:
    declared = f"declares {size[0]}x{size[1]} = {size[0] * size[1]:,} pixels" if size else "declares a huge canvas"
    return f"image {declared}, over the limit of {max_pixels:,} pixels (a decompression bomb?)"


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
