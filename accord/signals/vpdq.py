"""vPDQ: a video as a list of PDQ-hashed frames, read from what platforms send, and Meta's brute-force match.

Why frame lists and not one hash: vPDQ matches clips inside longer videos, so a video's signal is the
list itself. Platforms send it in one of three layouts, all accepted by :func:`parse_frames`:

- the ``vpdq`` tool's file, one frame a line: ``frame_number,quality,pdq_hex,timestamp`` (the Python
  binding's README prints ``frame_number,pdq_hex,quality,timestamp``; the hex field is found either way);
- ThreatExchange's compact signal line ``pdq_hex,quality,timestamp`` (frames numbered in order);
- JSON: a list of those compact strings (ThreatExchange's ``signal_str``) or of objects with
  ``pdq_hex`` (or ``hash``), ``quality``, ``timestamp`` and optionally ``frame_number``.

:func:`match_frames` is ThreatExchange's ``match_VPDQ_hash_brute``: both lists are deduplicated by hash
and stripped of frames under the quality tolerance, then the share of each list's frames having a frame
of the other within the distance tolerance (inclusive) is reported, in percent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accord.errors import Invalid
from accord.signals.pdq import PDQ_HEX_LENGTH, parse_pdq, words

__all__ = [
    "DISTANCE_TOLERANCE",
    "QUALITY_TOLERANCE",
    "VpdqFrame",
    "VpdqMatch",
    "format_frames",
    "match_frames",
    "parse_frames",
    "vpdq_video",
]

# ThreatExchange's defaults (vpdq_util.VPDQ_QUALITY_THRESHOLD, VPDQ_DISTANCE_THRESHOLD)
QUALITY_TOLERANCE = 50
DISTANCE_TOLERANCE = 31

# query rows compared at once: bounds the distance matrix to about 32 MB for long target videos
_BLOCK = 1024


@dataclass(frozen=True, slots=True)
class VpdqFrame:
    frame_number: int
    pdq_hex: str
    quality: int
    timestamp: float


@dataclass(frozen=True, slots=True)
class VpdqMatch:
    """Percent of the query's (filtered, deduplicated) frames found in the compared video, and the reverse."""

    query_match_percent: float
    compared_match_percent: float


def parse_frames(text: str, pointer: str = "/frames") -> list[VpdqFrame]:
    """A frame list in any layout above; :class:`Invalid` naming the line (or JSON item) at fault."""
    stripped = text.strip()
    if not stripped:
        raise Invalid.at(pointer, "empty frame list")
    if stripped[0] in "[{":
        return _parse_json(stripped, pointer)
    frames: list[VpdqFrame] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            frames.append(_parse_fields(line.split(","), len(frames)))
        except _Bad as exc:
            raise Invalid.at(f"{pointer}/line/{number}", f"line {number}: {exc}") from None
    if not frames:
        raise Invalid.at(pointer, "no frames in the frame list")
    return frames


def format_frames(frames: Sequence[VpdqFrame]) -> str:
    """The ``vpdq`` tool's file layout (``frame_number,quality,pdq_hex,timestamp``), one frame a line."""
    return "".join(f"{f.frame_number},{f.quality},{f.pdq_hex},{f.timestamp:.3f}\n" for f in frames)


def match_frames(
    query: Sequence[VpdqFrame],
    compared: Sequence[VpdqFrame],
    *,
    distance_tolerance: int = DISTANCE_TOLERANCE,
    quality_tolerance: int = QUALITY_TOLERANCE,
) -> VpdqMatch:
    """How much of each video is found in the other (0 when no frame of a list passes the quality filter)."""
    if not 0 <= distance_tolerance <= 256:
        raise Invalid.at("/distance_tolerance", f"a distance is 0..256, got {distance_tolerance}")
    q = words(_filtered(query, quality_tolerance))
    c = words(_filtered(compared, quality_tolerance))
    if len(q) == 0 or len(c) == 0:
        return VpdqMatch(0.0, 0.0)
    q_found = np.zeros(len(q), dtype=bool)
    c_found = np.zeros(len(c), dtype=bool)
    for start in range(0, len(q), _BLOCK):
        block = q[start : start + _BLOCK]
        near = np.bitwise_count(block[:, None, :] ^ c[None, :, :]).sum(axis=2, dtype=np.int32) <= distance_tolerance
        q_found[start : start + _BLOCK] = near.any(axis=1)
        c_found |= near.any(axis=0)
    return VpdqMatch(100.0 * int(q_found.sum()) / len(q), 100.0 * int(c_found.sum()) / len(c))


def vpdq_video(path: Path, *, seconds_per_hash: float = 1.0) -> list[VpdqFrame]:
    """The frame list of a video file, with Meta's ``vpdq`` package (FFmpeg; ``seconds_per_hash=0``: every frame).

    Imported here, not at module load: it pulls in the FFmpeg libraries, which parsing and matching do not need.
    """
    import vpdq

    if not path.is_file():
        raise Invalid.at("/video", f"{path}: no such file")
    try:
        features = vpdq.computeHash(str(path), seconds_per_hash=seconds_per_hash)
    except Exception as exc:  # the binding raises bare Exception/ValueError for anything FFmpeg cannot read
        raise Invalid.at("/video", f"{path}: not a readable video ({exc})") from None
    return [VpdqFrame(int(f.frame_number), str(f.hex), int(f.quality), float(f.timestamp)) for f in features]


class _Bad(ValueError):
    pass


def _parse_fields(fields: list[str], index: int) -> VpdqFrame:
    fields = [f.strip() for f in fields]
    if len(fields) == 4:
        # vpdq's file has the hash third; its Python README prints it second
        hex_at = 1 if len(fields[1]) == PDQ_HEX_LENGTH else 2
        number_text, hex_text, quality_text, time_text = fields[0], fields[hex_at], fields[3 - hex_at], fields[3]
        frame_number = _int(number_text, "frame number")
    elif len(fields) == 3:
        hex_text, quality_text, time_text = fields
        frame_number = index
    else:
        raise _Bad(f"expected 3 or 4 comma-separated fields, got {len(fields)}")
    return _frame(frame_number, hex_text, quality_text, time_text)


def _frame(frame_number: int, hex_text: Any, quality: Any, timestamp: Any) -> VpdqFrame:
    if not isinstance(hex_text, str):
        raise _Bad("the PDQ hash must be a string")
    try:
        pdq_hex = parse_pdq(hex_text)
    except Invalid as exc:
        raise _Bad(exc.errors["/hash"]) from None
    q = _int(quality, "quality")
    if not 0 <= q <= 100:
        raise _Bad(f"quality is 0..100, got {q}")
    t = _float(timestamp, "timestamp")
    if frame_number < 0:
        raise _Bad(f"frame number is 0 or more, got {frame_number}")
    return VpdqFrame(frame_number, pdq_hex, q, t)


def _parse_json(text: str, pointer: str) -> list[VpdqFrame]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid.at(pointer, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(doc, list):
        raise Invalid.at(pointer, "a JSON frame list must be an array")
    if not doc:
        raise Invalid.at(pointer, "no frames in the frame list")
    frames = []
    for i, item in enumerate(doc):
        try:
            if isinstance(item, str):
                frames.append(_parse_fields(item.split(","), i))
            elif isinstance(item, dict):
                frames.append(
                    _frame(
                        _int(item.get("frame_number", i), "frame_number"),
                        item.get("pdq_hex", item.get("hash")),
                        item.get("quality"),
                        item.get("timestamp"),
                    )
                )
            else:
                raise _Bad("a frame is a string or an object")
        except _Bad as exc:
            raise Invalid.at(f"{pointer}/{i}", f"item {i}: {exc}") from None
    return frames


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _Bad(f"{name} must be an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise _Bad(f"{name} must be an integer, got {value!r}") from None


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Bad(f"{name} must be a number, got {value!r}")
    try:
        result = float(value)
    except ValueError:
        raise _Bad(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(result) or result < 0:
        raise _Bad(f"{name} must be a finite number of seconds, 0 or more, got {value!r}")
    return result


def _filtered(frames: Sequence[VpdqFrame], quality_tolerance: int) -> list[str]:
    # ThreatExchange's order: deduplicate first (the first frame of a hash speaks for it), then filter
    first: dict[str, int] = {}
    for f in frames:
        first.setdefault(f.pdq_hex, f.quality)
    return [h for h, quality in first.items() if quality >= quality_tolerance]
