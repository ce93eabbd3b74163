"""vPDQ: a video as a list of PDQ frames (``accord.signals.vpdq``), matched as ThreatExchange's vPDQ does.

Why the canonical form is the frame list in the ``vpdq`` tool's layout: platforms send three layouts
(the tool's file, compact lines, JSON) and the same video must be the same entry whichever came. A bank
stores an entry under the SHA-256 of that canonical text (:func:`digest`) and its frames in a table of
their own; the frames are what the matcher compares.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from accord.errors import Invalid
from accord.plugins.hookspecs import hookimpl
from accord.signals.signal_type import Matching, SignalType
from accord.signals.vpdq import format_frames, parse_frames

__all__ = ["MAX_FRAMES", "Vpdq", "accord_signal_types", "digest"]

MAX_FRAMES = (1 << 20) - 1  # the frame position is 20 bits of the index id (accord.store.banks.FRAME_BITS)


class Vpdq(SignalType):
    matching = Matching.frames
    max_distance = 256  # the bank's threshold is the per-frame PDQ distance
    max_length = 2_000_000

    @classmethod
    def get_name(cls) -> str:
        return "vpdq"

    @classmethod
    def validate(cls, text: str) -> str:
        try:
            frames = parse_frames(text, "")
        except Invalid as exc:  # the contract's pointer is "" (the caller places it); the line is in the text
            raise Invalid.at("", next(iter(exc.errors.values()), exc.detail)) from None
        if len(frames) > MAX_FRAMES:
            raise Invalid.at("", f"a frame list holds at most {MAX_FRAMES:,} frames, got {len(frames):,}")
        return format_frames(frames)

    @classmethod
    def get_examples(cls) -> list[str]:
        a, b = "f" * 64, "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
        return [
            f"0,100,{a},0.000\n1,90,{b},1.000\n",
            f"{a},100,0.0\n{b},90,1.0",
            f'["{a},100,0.0", "{b},90,1.0"]',
        ]

    @classmethod
    def get_invalid_examples(cls) -> list[str]:
        return [*super().get_invalid_examples(), "0,100,abc,0.0", f"{'f' * 64},101,0.0", "[]"]


def digest(canonical: str) -> str:
    """The key a frame list is stored and answered under: SHA-256 of its canonical text."""
    return hashlib.sha256(canonical.encode()).hexdigest()


@hookimpl
def accord_signal_types() -> Sequence[type[SignalType]]:
    return [Vpdq]
