"""Noise on names people choose: handles and e-mail local parts, respelt the ways that defeat exact
matching (typos, transliteration, look-alike letters, case, separators and digits).

Every function here returns a spelling that differs from its input, because a "variant" equal to the
original would silently make the world easier to resolve than it claims to be.

Handles are built from neutral consonant-vowel syllables, so no generated name means anything.
"""

from __future__ import annotations

import random
import re

__all__ = [
    "email_local",
    "email_variant",
    "handle",
    "handle_variant",
    "misreport",
    "stem",
    "to_cyrillic",
    "typo",
]

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
# Escapes rather than literal letters: the Cyrillic and Latin forms look the same, which is the point.
_CYRILLIC = str.maketrans(
    "abdefgiklmnoprstuvz",
    "\u0430\u0431\u0434\u0435\u0444\u0433\u0438\u043a\u043b\u043c\u043d\u043e\u043f\u0440\u0441\u0442\u0443\u0432\u0437",
)
_LOOKALIKE = dict(zip("aeopis", "\u0430\u0435\u043e\u0440\u0456\u0455", strict=True))
_RESPELL = (("ks", "x"), ("k", "c"), ("v", "w"), ("i", "y"), ("u", "oo"), ("s", "z"), ("f", "ph"))
_NEIGHBOURS = {
    "a": "sq", "b": "vn", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "i": "uo", "k": "jl", "l": "k",
    "m": "n", "n": "bm", "o": "ip", "p": "o", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "z": "x",
}  # fmt: skip
_SEPARATORS = ("_", ".", "")
_SYLLABLES = tuple(c + v for c in _CONSONANTS for v in _VOWELS)
_NOT_EMAIL = re.compile(r"[^a-z0-9._]")


def stem(rng: random.Random) -> str:
    """A pronounceable neutral token of two to four syllables."""
    return "".join(rng.choices(_SYLLABLES, k=2 + int(rng.random() * 3)))


def handle(rng: random.Random) -> str:
    """A base handle: one or two stems, maybe a separator, maybe digits."""
    first = stem(rng)
    r = rng.random()
    if r < 0.35:
        return first + str(rng.randint(1, 9999))
    if r < 0.65:
        return first + rng.choice(_SEPARATORS) + stem(rng)
    if r < 0.8:
        return first + rng.choice(_SEPARATORS) + stem(rng) + str(rng.randint(1, 99))
    return first


def to_cyrillic(value: str) -> str:
    """Letter-by-letter Cyrillic spelling of a Latin handle (digits and separators kept)."""
    return value.translate(_CYRILLIC)


def _lookalike(rng: random.Random, value: str) -> str:
    spots = [i for i, c in enumerate(value) if c in _LOOKALIKE]
    if not spots:
        return value.upper()
    chars = list(value)
    for i in rng.sample(spots, min(len(spots), rng.randint(1, 2))):
        chars[i] = _LOOKALIKE[chars[i]]
    return "".join(chars)


def _respell(rng: random.Random, value: str) -> str:
    options = [(a, b) for a, b in _RESPELL if a in value]
    if not options:
        return value + str(rng.randint(0, 9))
    a, b = rng.choice(options)
    return value.replace(a, b, 1)


def _case(rng: random.Random, value: str) -> str:
    r = rng.random()
    if r < 0.45:
        out = value[:1].upper() + value[1:]
    elif r < 0.7:
        out = value.upper()
    else:
        out = "".join(c.upper() if rng.random() < 0.4 else c for c in value)
    return out if out != value else value.upper() if value.upper() != value else value + "x"


def _separators(rng: random.Random, value: str) -> str:
    for sep in ("_", "."):
        if sep in value:
            return value.replace(sep, rng.choice([s for s in _SEPARATORS if s != sep]), 1)
    tail = len(value) - len(value.rstrip("0123456789"))
    if tail:
        return value[:-tail] if rng.random() < 0.5 else value[:-tail] + str(rng.randint(1, 99))
    return value + rng.choice(("_", "")) + str(rng.randint(1, 99))


def typo(rng: random.Random, value: str) -> str:
    """One keyboard slip: swap, drop, double or hit a neighbouring key."""
    for _ in range(8):
        chars = list(value)
        i = rng.randrange(len(chars))
        r = rng.random()
        if r < 0.3 and len(chars) > 1:
            j = i + 1 if i + 1 < len(chars) else i - 1
            chars[i], chars[j] = chars[j], chars[i]
        elif r < 0.5 and len(chars) > 3:
            del chars[i]
        elif r < 0.7:
            chars.insert(i, chars[i])
        else:
            near = _NEIGHBOURS.get(chars[i].lower())
            chars[i] = rng.choice(near) if near else rng.choice(_CONSONANTS)
        out = "".join(chars)
        if out != value:
            return out
    return value + "x"


def handle_variant(rng: random.Random, value: str, cyrillic: bool = False) -> str:
    """How the same person spells their handle on another platform: never equal to ``value``."""
    r = rng.random()
    if cyrillic and r < 0.3:
        out = to_cyrillic(value)
    elif r < 0.3:
        out = _case(rng, value)
    elif r < 0.5:
        out = _separators(rng, value)
    elif r < 0.7:
        out = _respell(rng, value)
    elif r < 0.82:
        out = to_cyrillic(value)
    elif r < 0.92:
        out = _lookalike(rng, value)
    else:
        out = typo(rng, value)
    return out if out != value else value + str(rng.randint(1, 9))


def misreport(rng: random.Random, value: str) -> str:
    """How a member of the public or a hotline analyst transcribes a handle they saw."""
    r = rng.random()
    if r < 0.5:
        out = typo(rng, value)
    elif r < 0.8:
        out = _case(rng, value)
    else:
        out = _separators(rng, value)
    return out if out != value else value + "1"


def email_local(rng: random.Random, base: str) -> str:
    """An e-mail local part derived from a handle, ASCII only."""
    ascii_base = _NOT_EMAIL.sub("", base.lower()).strip("._") or stem(rng)
    r = rng.random()
    if r < 0.5:
        return ascii_base
    if r < 0.8:
        return ascii_base + str(rng.randint(1, 999))
    return stem(rng) + "." + ascii_base


def email_variant(rng: random.Random, local: str) -> str:
    """A different address of the same person: dots moved or a ``+tag`` added (these stay distinct keys)."""
    if rng.random() < 0.5 and len(local) > 2:
        plain = local.replace(".", "")
        i = rng.randrange(1, len(plain))
        out = plain[:i] + "." + plain[i:]
        if out != local:
            return out
    return f"{local}+{rng.choice(('a', 'b', 'k', 'm', 'x'))}{rng.randint(1, 99)}"
