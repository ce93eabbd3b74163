"""Checksums of wallet addresses, so that a mistyped address is refused at intake instead of silently
becoming a second, unrelated identifier that never matches the real one.

``normalise_wallet(chain, address)`` returns the canonical form or raises ``ValueError``. Covered:
Bitcoin and Litecoin (base58check, BIP-173 bech32 for witness v0, BIP-350 bech32m for v1+) and
Ethereum-style chains (EIP-55 mixed-case checksum). Chains without a known checksum pass through.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

__all__ = ["bech32_decode", "keccak256", "normalise_wallet"]

# --- Keccak-256 ----------------------------------------------------------------------------------
# Ethereum uses the original Keccak padding (0x01), not FIPS-202 SHA3's (0x06), so hashlib.sha3_256
# gives different digests; a compact keccak-f[1600] avoids a dependency for 40-character inputs.

_MASK = (1 << 64) - 1


def _rc_bit(t: int) -> int:
    # The round constants come from an LFSR (x^8 + x^6 + x^5 + x^4 + 1); deriving them avoids
    # transcribing 24 magic numbers.
    r = 1
    for _ in range(t % 255):
        r <<= 1
        if r & 0x100:
            r ^= 0x171
    return r & 1


_RC = [sum(_rc_bit(j + 7 * i) << ((1 << j) - 1) for j in range(7)) for i in range(24)]


def _rotations() -> list[int]:
    # Rho offsets: lane (x, y) walks (1, 0) -> (y, 2x + 3y); offset t is the (t+1)-th triangular number.
    rot, x, y = [0] * 25, 1, 0
    for t in range(24):
        rot[x + 5 * y] = (t + 1) * (t + 2) // 2 % 64
        x, y = y, (2 * x + 3 * y) % 5
    return rot


_ROT = _rotations()


def _keccak_f(a: list[int]) -> list[int]:
    for rc in _RC:
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ ((c[(x + 1) % 5] << 1 | c[(x + 1) % 5] >> 63) & _MASK) for x in range(5)]
        b = [0] * 25
        for i in range(25):  # theta, then rho and pi: lane (x, y) moves to (y, 2x + 3y)
            x, y, v, n = i % 5, i // 5, a[i] ^ d[i % 5], _ROT[i]
            b[y + 5 * ((2 * x + 3 * y) % 5)] = (v << n | v >> (64 - n)) & _MASK
        a = [b[i] ^ (~b[(i + 1) % 5 + i - i % 5] & b[(i + 2) % 5 + i - i % 5]) for i in range(25)]  # chi
        a[0] ^= rc  # iota
    return a


def _sponge(data: bytes, delimiter: int) -> bytes:
    # Rate 136 bytes (capacity 512) for a 256-bit digest; ``delimiter`` selects Keccak (0x01) or SHA3 (0x06).
    rate = 136
    padded = bytearray(data) + bytes([delimiter]) + bytes(-(len(data) + 1) % rate)
    padded[-1] |= 0x80
    state = [0] * 25
    for off in range(0, len(padded), rate):
        for i in range(rate // 8):
            state[i] ^= int.from_bytes(padded[off + 8 * i : off + 8 * i + 8], "little")
        state = _keccak_f(state)
    return b"".join(lane.to_bytes(8, "little") for lane in state[:4])


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as Ethereum uses it (original padding, not SHA3-256)."""
    return _sponge(data, 0x01)


# --- Base58check ---------------------------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58check_version(address: str) -> int:
    n = 0
    for ch in address:
        digit = _B58.find(ch)
        if digit < 0:
            raise ValueError(f"not a base58 address (character {ch!r} is not allowed)")
        n = n * 58 + digit
    # Each leading '1' stands for a zero byte that the integer form loses.
    raw = bytes(len(address) - len(address.lstrip("1"))) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    if len(raw) != 25:  # version byte, 20-byte hash, 4-byte checksum
        raise ValueError("base58 address has the wrong length")
    if hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] != raw[21:]:
        raise ValueError("base58check checksum does not match (check for a mistyped character)")
    return raw[0]


# --- Bech32 / Bech32m ----------------------------------------------------------------------------

_B32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONST = 0x2BC830A3
Bech32Spec = Literal["bech32", "bech32m"]


def _polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def bech32_decode(text: str) -> tuple[str, list[int], Bech32Spec]:
    """Split a Bech32 or Bech32m string into (hrp, 5-bit data without checksum, which checksum)."""
    if any(not 33 <= ord(ch) <= 126 for ch in text):
        raise ValueError("bech32 string has a character out of range")
    if text.lower() != text and text.upper() != text:
        raise ValueError("bech32 string mixes upper and lower case")
    text = text.lower()
    sep = text.rfind("1")
    if sep < 1 or sep + 7 > len(text) or len(text) > 90:
        raise ValueError("bech32 string has no prefix, a short checksum, or is too long")
    if any(ch not in _B32 for ch in text[sep + 1 :]):
        raise ValueError("bech32 string has a character outside its alphabet")
    hrp, data = text[:sep], [_B32.find(ch) for ch in text[sep + 1 :]]
    check = _polymod([ord(ch) >> 5 for ch in hrp] + [0] + [ord(ch) & 31 for ch in hrp] + data)
    if check == 1:
        return hrp, data[:-6], "bech32"
    if check == _BECH32M_CONST:
        return hrp, data[:-6], "bech32m"
    raise ValueError("bech32 checksum does not match (check for a mistyped character)")


def _segwit_program(address: str, hrps: frozenset[str]) -> tuple[int, bytes]:
    """Witness version and program of a segwit address, with the BIP-173/BIP-350 checks."""
    hrp, data, spec = bech32_decode(address)
    if hrp not in hrps:
        raise ValueError(f"segwit address is for another network (prefix {hrp!r})")
    if not data or data[0] > 16:
        raise ValueError("segwit address has no valid witness version")
    acc = bits = 0
    program = bytearray()
    for v in data[1:]:  # regroup 5-bit symbols into bytes
        acc, bits = (acc << 5 | v) & 0xFFF, bits + 5
        if bits >= 8:
            bits -= 8
            program.append(acc >> bits & 0xFF)
    if bits >= 5 or acc & ((1 << bits) - 1):  # BIP-173: at most 4 bits of padding, all zero
        raise ValueError("segwit address has invalid padding")
    version = data[0]
    if not 2 <= len(program) <= 40 or (version == 0 and len(program) not in (20, 32)):
        raise ValueError("segwit address has an invalid program length")
    # BIP-350: v0 keeps Bech32, v1+ must use Bech32m; accepting both would weaken the checksum to ~29 bits.
    if (version == 0) != (spec == "bech32"):
        raise ValueError(f"segwit v{version} address uses the wrong checksum ({spec})")
    return version, bytes(program)


# --- Chains --------------------------------------------------------------------------------------

# (base58 version bytes, segwit prefixes) per UTXO chain.
_UTXO: dict[str, tuple[frozenset[int], frozenset[str]]] = {
    "bitcoin": (frozenset({0x00, 0x05}), frozenset({"bc"})),
    "bitcoin-testnet": (frozenset({0x6F, 0xC4}), frozenset({"tb"})),
    "litecoin": (frozenset({0x30, 0x32, 0x05}), frozenset({"ltc"})),
}
_ALIASES = {"btc": "bitcoin", "ltc": "litecoin"}
_SEGWIT_HRPS = frozenset().union(*(hrps for _, hrps in _UTXO.values()))
_EVM = frozenset({"ethereum", "eth", "polygon", "bsc", "arbitrum", "optimism", "base", "avalanche"})
_HEX40 = re.compile(r"[0-9a-fA-F]{40}")


def _eip55(lower_hex: str) -> str:
    # Letter i is upper-case when nibble i of keccak256(ascii lower-case hex) is 8 or more.
    digest = keccak256(lower_hex.encode("ascii")).hex()
    return "".join(ch.upper() if int(h, 16) >= 8 else ch for ch, h in zip(lower_hex, digest[:40], strict=True))


def _evm_address(address: str) -> str:
    body = address[2:]
    if not address.startswith("0x") or not _HEX40.fullmatch(body):
        raise ValueError("an EVM address is 0x followed by 40 hex digits")
    # Single-case addresses carry no checksum (EIP-55 accepts them); mixed case is the checksum.
    if body not in (body.lower(), body.upper()) and body != _eip55(body.lower()):
        raise ValueError("EIP-55 checksum does not match (check the case of each letter)")
    return "0x" + body.lower()


def _utxo_address(address: str, versions: frozenset[int], hrps: frozenset[str]) -> str:
    sep = address.rfind("1")
    if sep > 0 and address[:sep].lower() in _SEGWIT_HRPS:
        try:
            _segwit_program(address, hrps)
            return address.lower()
        except ValueError:
            # A base58 address may begin like a prefix (Litecoin "LTC1..."); give it its chance.
            try:
                if _base58check_version(address) in versions:
                    return address
            except ValueError:
                pass
            raise
    if _base58check_version(address) not in versions:
        raise ValueError("base58 address has a version byte for another chain or network")
    return address


def normalise_wallet(chain: str, address: str) -> str:
    """Canonical form of ``address`` on ``chain``; ``ValueError`` if the chain's checksum fails.

    Bech32 and EVM hex forms are case-insensitive and come back lower-cased; base58 is case-sensitive
    and comes back as given. Chains with no known checksum get the address back stripped of spaces.
    """
    name = chain.strip().casefold()
    name = _ALIASES.get(name, name)
    address = address.strip()
    if name in _EVM:
        return _evm_address(address)
    if name in _UTXO:
        return _utxo_address(address, *_UTXO[name])
    return address
