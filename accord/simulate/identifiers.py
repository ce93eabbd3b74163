"""Generators for identifier values that pass the checks in ``accord.model.identifier``: valid mobile
numbers, IBANs with correct check digits, wallet addresses, device ids and IP addresses.

Each generator returns the canonical value plus the spellings a submitter might send for it; all
spellings of one value normalise to the same ``Identifier.key``, so they test the normalisers rather
than add true noise (that lives in ``noise``).

IP addresses come only from ranges that can never name a real subscriber: shared address space
(100.64.0.0/10, carrier-grade NAT), the benchmarking block 198.18.0.0/15 and the IPv6 documentation
prefix 2001:db8::/32.
"""

from __future__ import annotations

import ipaddress
import random
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType

from accord.model.identifier import Identifier

__all__ = [
    "Phone",
    "PhoneFactory",
    "android_id",
    "bitcoin_address",
    "card_token",
    "ethereum_address",
    "iban",
    "iban_spaced",
    "identifier_key",
    "ipv4",
    "ipv6",
    "p2wpkh",
    "uuid_device",
]

_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_RUN = re.compile(r"(\d+)([an])")


@dataclass(frozen=True, slots=True)
class Phone:
    region: str
    e164: str
    spaced: str
    """International form with arbitrary grouping, as people type it."""
    national: str
    """National form; only meaningful together with ``region``."""


class PhoneFactory:
    """Mobile numbers per region, derived from the library's example number by varying its last digits
    and keeping only those ``is_valid_number`` accepts; never the same number twice."""

    def __init__(self) -> None:
        self._examples: dict[str, tuple[int, str, str]] = {}
        self._used: set[str] = set()

    def new(self, rng: random.Random, region: str) -> Phone:
        cc, nn, trunk = self._example(region)
        vary = min(6, len(nn) - 3)
        head = nn[:-vary]
        for _ in range(200):
            tail = "".join(rng.choices(_DIGITS, k=vary))
            national_number = head + tail
            e164 = f"+{cc}{national_number}"
            if e164 in self._used:
                continue
            num = phonenumbers.PhoneNumber(country_code=cc, national_number=int(national_number))
            if not phonenumbers.is_valid_number(num):
                continue
            self._used.add(e164)
            spaced = f"+{cc} {national_number[:3]} {national_number[3:6]} {national_number[6:]}"
            national = f"{trunk}{national_number[:-7]} {national_number[-7:-4]} {national_number[-4:]}".lstrip()
            return Phone(region, e164, spaced, national)
        raise RuntimeError(f"could not find a free valid mobile number for {region}")  # pragma: no cover

    def _example(self, region: str) -> tuple[int, str, str]:
        found = self._examples.get(region)
        if found is None:
            ex = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
            meta = PhoneMetadata.metadata_for_region(region)
            if ex is None or ex.country_code is None or ex.national_number is None or meta is None:
                raise ValueError(f"no example mobile number for region {region}")
            found = (ex.country_code, str(ex.national_number), meta.national_prefix or "")
            self._examples[region] = found
        return found


def iban(rng: random.Random, country: str, layout: str) -> str:
    """A random IBAN for ``country`` whose BBAN follows ``layout`` and whose check digits are right."""
    parts: list[str] = []
    for count, cls in _RUN.findall(layout):
        alphabet = _DIGITS if cls == "n" else _UPPER
        parts.append("".join(rng.choices(alphabet, k=int(count))))
    bban = "".join(parts)
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(digits) % 97
    return f"{country}{check:02d}{bban}"


def iban_spaced(value: str) -> str:
    """The printed form, in groups of four."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def ethereum_address(rng: random.Random) -> str:
    return f"0x{rng.getrandbits(160):040x}"


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _BECH32_GEN[i]
    return chk


def bitcoin_address(rng: random.Random) -> str:
    """A segwit v0 key-hash address (bech32, BIP 173) with a correct checksum, for a random 20-byte program."""
    return p2wpkh(rng.getrandbits(160))


def p2wpkh(program: int) -> str:
    """The bech32 address for a 160-bit witness program (version 0)."""
    data = [0] + [(program >> (5 * i)) & 31 for i in range(31, -1, -1)]
    hrp = [ord(c) >> 5 for c in "bc"] + [0] + [ord(c) & 31 for c in "bc"]
    polymod = _bech32_polymod(hrp + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return "bc1" + "".join(_BECH32[d] for d in data + checksum)


def card_token(rng: random.Random) -> str:
    return f"tok_{rng.getrandbits(96):024x}"


def android_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def uuid_device(rng: random.Random) -> str:
    """An advertising-id style device id, upper case with dashes as mobile SDKs print it."""
    h = f"{rng.getrandbits(128):032X}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_CGNAT = int(ipaddress.IPv4Address("100.64.0.0"))
_BENCH = int(ipaddress.IPv4Address("198.18.0.0"))
_DOC6 = int(ipaddress.IPv6Address("2001:db8::"))


def ipv4(rng: random.Random) -> str:
    if rng.random() < 0.85:
        value = _CGNAT + 1 + rng.randrange((1 << 22) - 2)
    else:
        value = _BENCH + 1 + rng.randrange((1 << 17) - 2)
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def ipv6(rng: random.Random) -> tuple[str, str]:
    """An address in 2001:db8::/32 (a /64 per subscriber, random interface id): compressed and exploded."""
    address = ipaddress.IPv6Address(_DOC6 + (rng.getrandbits(32) << 64) + rng.getrandbits(64))
    return address.compressed, address.exploded


_DEVICE_SEPARATORS = re.compile(r"[\s:-]")
_SPACES = re.compile(r"\s")


def identifier_key(ident: dict[str, Any]) -> str:
    """``Identifier.key`` for an identifier this package generated, without building the model.

    Why a second implementation: building a pydantic ``Identifier`` for each of a million generated
    values costs more than the whole report stream. It follows ``accord.model.identifier.normalise``
    for the forms generated here only, and the tests hold the two equal on every generated identifier.
    """
    kind = ident["kind"]
    value: str = ident["value"]
    if kind == "account":
        return f"account:{ident['service'].casefold()}/{unicodedata.normalize('NFKC', value)}"
    if kind == "email":
        return f"email:{unicodedata.normalize('NFKC', value).casefold()}"
    if kind == "phone":
        return f"phone:{value}" if value.startswith("+") and value[1:].isdigit() else _model_key(ident)
    if kind == "ip":
        return f"ip:{ipaddress.ip_address(value).compressed}"
    if kind == "device":
        return f"device:{_DEVICE_SEPARATORS.sub('', value).lower()}"
    if kind == "payment":
        instrument = ident["instrument"]
        if instrument == "iban":
            return f"payment:iban/{_SPACES.sub('', value).upper()}"
        if instrument == "wallet":
            address = value.lower() if value.lower().startswith("0x") else value
            return f"payment:wallet/{ident['chain'].casefold()}/{address}"
        return f"payment:card-token/{value}"
    return _model_key(ident)


def _model_key(ident: dict[str, Any]) -> str:
    return Identifier.model_validate(ident).key
