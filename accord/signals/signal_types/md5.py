"""MD5 of a file's bytes: exact matching only (what platforms and hotlines still exchange most)."""

from __future__ import annotations

from collections.abc import Sequence

from accord.plugins.hookspecs import hookimpl
from accord.signals.signal_type import HexDigest, SignalType

__all__ = ["Md5", "accord_signal_types"]


class Md5(HexDigest):
    digits = 32

    @classmethod
    def get_name(cls) -> str:
        return "md5"

    @classmethod
    def get_examples(cls) -> list[str]:
        return ["d41d8cd98f00b204e9800998ecf8427e", "0CC175B9C0F1B6A831C399E269772661"]


@hookimpl
def accord_signal_types() -> Sequence[type[SignalType]]:
    return [Md5]
