"""Identifiers seen in reports, normalised on the way in so that the same account, address or number
found by two organisations compares equal.

Each kind has one small normaliser; ``Identifier.key`` is ``kind:normalised`` and is what search and
(later) deconfliction compare.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from enum import StrEnum
from functools import lru_cache
from typing import Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import phonenumbers
from pydantic import Field, model_validator

from accord.model.base import Inbound, UtcDatetime
from accord.model.wallets import normalise_wallet

__all__ = ["Identifier", "IdentifierKind", "canonical_url", "e164", "normalise"]


class IdentifierKind(StrEnum):
    account = "account"
    email = "email"
    phone = "phone"
    ip = "ip"
    device = "device"
    payment = "payment"
    url = "url"


class Identifier(Inbound):
    """One typed identifier. ``value`` is what the submitter saw; ``normalised`` is derived."""

    kind: IdentifierKind
    value: str = Field(min_length=1, max_length=2048)
    service: str | None = Field(default=None, max_length=200, description="platform for accounts")
    handle: str | None = Field(default=None, max_length=500, description="display handle for accounts")
    region: str | None = Field(default=None, pattern="^[A-Z]{2}$", description="default region for phone numbers")
    port: int | None = Field(default=None, ge=0, le=65535)
    seen_at: UtcDatetime | None = None
    instrument: Literal["iban", "card-token", "wallet"] | None = None
    chain: str | None = Field(default=None, max_length=50, description="blockchain for wallet addresses")
    normalised: str = ""

    @model_validator(mode="after")
    def _normalise(self) -> Identifier:
        object.__setattr__(self, "normalised", normalise(self))
        return self

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.normalised}"


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Parameters that say how a visitor arrived, never which page: dropped so that shared links compare equal.
_TRACKING = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|igshid|_ga|_gl)$", re.I
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(ident: Identifier) -> str:
    """The canonical form of ``ident.value``; raises ValueError (a field error) when it is not valid."""
    v = ident.value
    match ident.kind:
        case IdentifierKind.email:
            v = unicodedata.normalize("NFKC", v).casefold()
            if not _EMAIL.match(v):
                raise ValueError(f"not an e-mail address: {ident.value!r}")
            return v
        case IdentifierKind.phone:
            return e164(v, ident.region)
        case IdentifierKind.ip:
            return _ip(v)
        case IdentifierKind.account:
            if not ident.service:
                raise ValueError("an account needs its service")
            return f"{ident.service.casefold()}/{unicodedata.normalize('NFKC', v)}"
        case IdentifierKind.device:
            return re.sub(r"[\s:-]", "", v).lower()
        case IdentifierKind.payment:
            return _payment(ident)
        case IdentifierKind.url:
            return canonical_url(v)
    raise ValueError(f"unknown identifier kind {ident.kind}")  # pragma: no cover - enum is closed


@lru_cache(maxsize=1 << 16)
def _ip(value: str) -> str:
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        raise ValueError(f"not an IP address: {value!r}") from None


@lru_cache(maxsize=1 << 16)
def e164(value: str, region: str | None) -> str:
    """Why cached: parsing and validating a number costs ~100 µs and the same suspects' numbers recur
    across thousands of reports; the function is pure, so a memo changes nothing but the time."""
    try:
        num = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(num):
        raise ValueError("not a valid phone number for its region (give E.164 or a region)")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _payment(ident: Identifier) -> str:
    if ident.instrument is None:
        raise ValueError("a payment identifier needs its instrument (iban, card-token, wallet)")
    v = ident.value
    if ident.instrument == "iban":
        v = re.sub(r"\s", "", v).upper()
        if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", v):
            raise ValueError("not an IBAN")
        digits = "".join(str(int(c, 36)) for c in v[4:] + v[:4])
        if int(digits) % 97 != 1:
            raise ValueError("IBAN check digits do not match")
        return f"iban/{v}"
    if ident.instrument == "wallet":
        if not ident.chain:
            raise ValueError("a wallet address needs its chain")
        # Checked where the chain defines a checksum (base58check, bech32/bech32m, EIP-55 mixed case);
        # hex and bech32 forms are lower-cased, base58 keeps its case (it is significant there).
        return f"wallet/{ident.chain.casefold()}/{normalise_wallet(ident.chain, v)}"
    return f"card-token/{v}"


@lru_cache(maxsize=1 << 16)
def canonical_url(raw: str) -> str:
    """Scheme and host in lower case (IDNA for non-ASCII hosts), default port and fragment dropped, tracking
    parameters removed, percent-encoding made uniform (RFC 3986 section 6.2.2) and dot segments resolved
    (section 5.2.4). Query order is kept: it can carry meaning."""
    parts = urlsplit(raw.strip())
    if parts.scheme.lower() not in ("http", "https", "ftp") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) or ftp URL: {raw!r}")
    scheme = parts.scheme.lower()
    try:
        if ":" in parts.hostname:  # an IPv6 literal keeps its brackets
            host = f"[{ipaddress.IPv6Address(parts.hostname).compressed}]"
        else:
            host = parts.hostname.encode("idna").decode("ascii").lower()
        port = parts.port
    except (UnicodeError, ValueError):
        raise ValueError(f"bad host or port in URL: {raw!r}") from None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = _normalise_escapes(_remove_dot_segments(parts.path or "/"))
    query = urlencode([(k, val) for k, val in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((scheme, netloc, path, query, ""))


def _remove_dot_segments(path: str) -> str:
    """``/a/./b/../c`` → ``/a/c`` (RFC 3986 section 5.2.4, for an absolute path); a ``..`` above the root
    stays at the root."""
    out: list[str] = []
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    return "/" + "/".join(out)


_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normalise_escapes(path: str) -> str:
    """Decode escapes of unreserved characters only (``%7E`` → ``~``) and upper-case the rest: decoding
    ``%2F`` would turn one path segment into two and make different URLs compare equal."""
    out = []
    for piece in _ESCAPE.split(path):
        if _ESCAPE.fullmatch(piece):
            ch = chr(int(piece[1:], 16))
            out.append(ch if ch in _UNRESERVED else piece.upper())
        else:
            out.append(quote(piece, safe="/:@!$&'()*+,;=-._~"))
    return "".join(out)
