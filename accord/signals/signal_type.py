"""The signal-type contract: what a bank may hold and how its entries are compared.

A signal type is a plugin (hook ``accord_signal_types``), the built-in ones included, like
python-threatexchange's ``signal_type/``. Its name is the storage and wire key of every bank and entry of
that type ("pdq", "md5", ...), and is also the prefix of the report keys it matches (``pdq:<hex>``,
``url:<canonical URL>``): never rename one once released.

Why a class per type and not a table of regexes: each type owns its canonical form (hex case, URL
normalisation), its examples for the conformance tests, and how a value is looked up (a URL is looked
up under each of its host+path prefixes; a PDQ hash by distance).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from enum import StrEnum

from accord.errors import Invalid

__all__ = ["HexDigest", "Matching", "SignalType"]


class Matching(StrEnum):
    exact = "exact"  # equal canonical forms (md5, sha256, url)
    distance = "distance"  # within the bank's threshold (pdq: Hamming distance over 256 bits)
    frames = "frames"  # a list of PDQ frames compared as vPDQ does (frame distance, then match percentages)


class SignalType(ABC):
    matching: Matching = Matching.exact
    max_distance: int = 0
    """The largest threshold a bank of this type may set (0 for exact types)."""
    max_length: int = 2048
    """The longest value accepted (an entry's value column holds 2,100 characters; vPDQ keeps its frames
    apart and allows whole frame lists)."""

    @classmethod
    @abstractmethod
    def get_name(cls) -> str:
        """The stable wire and storage key."""

    @classmethod
    @abstractmethod
    def validate(cls, text: str) -> str:
        """The canonical form of ``text``; ``Invalid`` (at pointer "") when it is not one of these."""

    @classmethod
    @abstractmethod
    def get_examples(cls) -> list[str]:
        """Valid values, as a submitter might write them (not necessarily canonical)."""

    @classmethod
    def get_invalid_examples(cls) -> list[str]:
        """Values the type must refuse (the conformance tests check they are refused)."""
        return ["", " "]

    @classmethod
    def lookup_keys(cls, canonical: str) -> tuple[str, ...]:
        """The entry values an exact query of ``canonical`` matches; a URL widens this to its prefixes."""
        return (canonical,)


class HexDigest(SignalType):
    """A fixed-length hex digest, stored lower case (md5, sha256, and pdq's text form)."""

    digits: int = 0

    @classmethod
    def validate(cls, text: str) -> str:
        value = text.strip().lower()
        if not re.fullmatch(f"[0-9a-f]{{{cls.digits}}}", value):
            raise Invalid.at("", f"a {cls.get_name()} hash is {cls.digits} hex digits, got {_shown(text)}")
        return value

    @classmethod
    def get_invalid_examples(cls) -> list[str]:
        return [*super().get_invalid_examples(), "0" * (cls.digits - 1), "g" * cls.digits, "0" * (cls.digits + 1)]


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
