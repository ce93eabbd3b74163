"""SHA-256 of a file's bytes: exact matching only."""

from __future__ import annotations

from collections.abc import Sequence

from accord.plugins.hookspecs import hookimpl
from accord.signals.signal_type import HexDigest, SignalType

__all__ = ["Sha256", "accord_signal_types"]


class Sha256(HexDigest):
    digits = 64

    @classmethod
    def get_name(cls) -> str:
        return "sha256"

    @classmethod
    def get_examples(cls) -> list[str]:
        return [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB",
        ]


@hookimpl
def accord_signal_types() -> Sequence[type[SignalType]]:
    return [Sha256]
