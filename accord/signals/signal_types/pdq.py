"""PDQ perceptual hashes (256 bits as 64 hex digits), matched within a bank's Hamming-distance threshold."""

from __future__ import annotations

from collections.abc import Sequence

from accord.plugins.hookspecs import hookimpl
from accord.signals.signal_type import HexDigest, Matching, SignalType

__all__ = ["Pdq", "accord_signal_types"]


class Pdq(HexDigest):
    digits = 64
    matching = Matching.distance
    max_distance = 256

    @classmethod
    def get_name(cls) -> str:
        return "pdq"

    @classmethod
    def get_examples(cls) -> list[str]:
        return ["f" * 64, "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"]


@hookimpl
def accord_signal_types() -> Sequence[type[SignalType]]:
    return [Pdq]
