"""Normalisation of identifiers per kind (``accord/model/identifier.py``)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from accord.model.identifier import Identifier, IdentifierKind, canonical_url


def norm(kind: str, value: str, **extra: Any) -> str:
    return Identifier(kind=IdentifierKind(kind), value=value, **extra).normalised


def bad(kind: str, value: str, **extra: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        Identifier(kind=IdentifierKind(kind), value=value, **extra)
    return info.value


# --- phone ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("+49 30 901820", None, "+4930901820"),
        ("+4930901820", None, "+4930901820"),
        ("030 901820", "DE", "+4930901820"),
        ("030-901820", "DE", "+4930901820"),
        ("0049 30 901820", "DE", "+4930901820"),
        ("+49 30 901820", "NL", "+4930901820"),  # an explicit country code wins over the region
        ("020 7946 0018", "GB", "+442079460018"),
        ("+31 20 123 4567", None, "+31201234567"),
    ],
)
def test_phone_to_e164(value: str, region: str | None, expected: str) -> None:
    ident = Identifier(kind=IdentifierKind.phone, value=value, region=region)
    assert ident.normalised == expected
    assert ident.key == f"phone:{expected}"
    assert ident.value == value  # what the submitter saw is kept


def test_phone_same_number_two_spellings_compare_equal() -> None:
    assert norm("phone", "030 901820", region="DE") == norm("phone", "+49 (30) 901-820")


@pytest.mark.parametrize(
    ("value", "region"),
    [
        ("abc", None),  # unparsable
        ("+49 1", None),  # too short
        ("030 901820", None),  # national format without a region
        ("+999 1234567", None),  # no such country code
    ],
)
def test_phone_unparsable(value: str, region: str | None) -> None:
    err = bad("phone", value, region=region)
    assert "not a phone number" in str(err)


@pytest.mark.parametrize("value", ["+1 000 000 0000", "+49 00 000000", "+44 99 9999 9999", "+1 123 456 7890"])
def test_phone_parsable_but_invalid(value: str) -> None:
    err = bad("phone", value)
    assert "not a valid phone number" in str(err)


def test_phone_region_must_be_two_upper_case_letters() -> None:
    bad("phone", "030 901820", region="de")


# --- e-mail --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Subject.A@Example.org", "subject.a@example.org"),
        ("  x@EXAMPLE.ORG  ", "x@example.org"),  # surrounding space is stripped
        ("STRASSE@example.org", "strasse@example.org"),
        ("straße@example.org", "strasse@example.org"),  # casefold, not lower
        ("\uff55\uff53\uff45\uff52@example.org", "user@example.org"),  # full-width letters (NFKC)
    ],
)
def test_email_casefold(value: str, expected: str) -> None:
    assert norm("email", value) == expected


@pytest.mark.parametrize(
    "value", ["plain", "@example.org", "a@", "a@b", "a b@example.org", "a@b@example.org", "a@.org"]
)
def test_email_invalid(value: str) -> None:
    err = bad("email", value)
    assert "not an e-mail address" in str(err)


# --- IP ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::1", "::1"),
        ("FE80:0:0:0:0:0:0:AB", "fe80::ab"),
    ],
)
def test_ip_canonical(value: str, expected: str) -> None:
    assert norm("ip", value) == expected


@pytest.mark.parametrize("value", ["300.1.1.1", "1.2.3", "192.0.2.1/24", "2001:db8::1::2", "example.org", "01.2.3.4"])
def test_ip_invalid(value: str) -> None:
    err = bad("ip", value)
    assert "not an IP address" in str(err)


# --- account -------------------------------------------------------------------------------------


def test_account_requires_service() -> None:
    err = bad("account", "u-100")
    assert "service" in str(err)
    bad("account", "u-100", service="")


def test_account_casefolds_the_service_but_keeps_the_value_case() -> None:
    ident = Identifier(kind=IdentifierKind.account, value="U-100", service="Platform-01", handle="user_a")
    assert ident.normalised == "platform-01/U-100"
    assert ident.key == "account:platform-01/U-100"
    assert norm("account", "U-100", service="PLATFORM-01") == ident.normalised
    assert norm("account", "u-100", service="platform-01") != ident.normalised


def test_account_value_is_nfkc_normalised() -> None:
    assert norm("account", "\uff55-100", service="p") == "p/u-100"


# --- device --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["AA:BB:CC:DD:EE:FF", "aa-bb-cc-dd-ee-ff", "AABB CCDD EEFF", "aabbccddeeff", "Aa:bB-cc dd:EE-ff"]
)
def test_device_strips_separators_and_lowercases(value: str) -> None:
    assert norm("device", value) == "aabbccddeeff"


# --- payment -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "de89370400440532013000"])
def test_iban_valid(value: str) -> None:
    assert norm("payment", value, instrument="iban") == "iban/DE89370400440532013000"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("DE88370400440532013000", "check digits"),  # one check digit off
        ("DE89370400440532013001", "check digits"),  # one account digit off
        ("DE89", "not an IBAN"),
        ("1234370400440532013000", "not an IBAN"),
        ("DE89-3704-0044-0532-0130-00", "not an IBAN"),
    ],
)
def test_iban_invalid(value: str, message: str) -> None:
    assert message in str(bad("payment", value, instrument="iban"))


def test_payment_requires_instrument() -> None:
    assert "instrument" in str(bad("payment", "DE89370400440532013000"))


def test_wallet_needs_chain() -> None:
    assert "chain" in str(bad("payment", "0xAbC", instrument="wallet"))


def test_wallet_lowercases_hex_addresses_and_casefolds_the_chain() -> None:
    addr = "0x52908400098527886E0F7030069857D2E4169EE7"
    assert norm("payment", addr, instrument="wallet", chain="Ethereum") == f"wallet/ethereum/{addr.lower()}"
    assert norm("payment", addr.lower(), instrument="wallet", chain="ethereum") == f"wallet/ethereum/{addr.lower()}"


def test_wallet_keeps_base58_case() -> None:
    addr = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
    assert norm("payment", addr, instrument="wallet", chain="BTC") == f"wallet/btc/{addr}"


def test_card_token_kept_as_is() -> None:
    assert norm("payment", "tok_AbC123", instrument="card-token") == "card-token/tok_AbC123"


def test_unknown_instrument_rejected() -> None:
    bad("payment", "x", instrument="cash")


# --- URL -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://Example.ORG/Path", "https://example.org/Path"),  # path case is kept
        ("http://example.org", "http://example.org/"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("https://example.org:80/a", "https://example.org:80/a"),  # not the default for https
        ("http://example.org:8080/a", "http://example.org:8080/a"),
        ("http://example.org/a#section-2", "http://example.org/a"),
        ("http://example.org/a?x=1&utm_source=s&utm_medium=m&y=2", "http://example.org/a?x=1&y=2"),
        ("http://example.org/a?fbclid=1&gclid=2&q=3", "http://example.org/a?q=3"),
        ("http://example.org/a?b=2&a=1", "http://example.org/a?b=2&a=1"),  # order is kept
        ("http://example.org/%7euser", "http://example.org/~user"),  # unreserved decoded
        ("http://example.org/a%e2%82%ac", "http://example.org/a%E2%82%AC"),  # hex upper case
        ("http://example.org/a b", "http://example.org/a%20b"),
        ("http://user:pw@example.org/", "http://example.org/"),
        ("http://Bücher.example/x", "http://xn--bcher-kva.example/x"),
        ("http://BÜCHER.example/x", "http://xn--bcher-kva.example/x"),
    ],
)
def test_url_canonical(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected
    assert norm("url", raw) == expected


def test_url_percent_encoding_is_uniform() -> None:
    forms = ["http://example.org/a%7Eb", "http://example.org/a%7eb", "http://example.org/a~b"]
    assert len({canonical_url(f) for f in forms}) == 1
    forms = ["http://example.org/%E2%82%AC", "http://example.org/%e2%82%ac", "http://example.org/€"]
    assert len({canonical_url(f) for f in forms}) == 1


def test_url_encoded_slash_is_not_a_path_separator() -> None:
    # RFC 3986 6.2.2.2: only unreserved characters may be decoded; %2F is data, "/" is structure
    assert canonical_url("http://example.org/a%2Fb") != canonical_url("http://example.org/a/b")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://[2001:DB8::1]/x", "http://[2001:db8::1]/x"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ],
)
def test_url_ipv6_host_keeps_its_brackets(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected
    assert canonical_url(expected) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "mailto:x@example.org",
        "file:///etc/hosts",
        "data:text/plain,x",
        "example.org/a",
        "//example.org/a",
        "/relative/path",
        "http://",
        "http://example.org:99999/",
        "http://example.org:port/",
    ],
)
def test_url_rejected(raw: str) -> None:
    with pytest.raises(ValueError):
        canonical_url(raw)
    with pytest.raises(ValidationError):
        Identifier(kind=IdentifierKind.url, value=raw)


def test_value_length_and_unknown_fields() -> None:
    bad("device", "")
    with pytest.raises(ValidationError):
        Identifier(kind=IdentifierKind.device, value="x", colour="red")  # type: ignore[call-arg]


# --- properties ----------------------------------------------------------------------------------

_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_hosts = st.lists(_label, min_size=1, max_size=3).map(lambda parts: ".".join([*parts, "example"]))
_local = st.from_regex(r"[A-Za-z0-9._%+-]{1,20}", fullmatch=True)


@settings(deadline=None)
@given(local=_local, host=_hosts, upper=st.booleans())
def test_email_normalisation_is_idempotent(local: str, host: str, upper: bool) -> None:
    raw = f"{local}@{host.upper() if upper else host}"
    once = norm("email", raw)
    assert norm("email", once) == once
    assert once == once.casefold()


@settings(deadline=None)
@given(addr=st.ip_addresses())
def test_ip_normalisation_is_idempotent_and_matches_every_spelling(
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    once = norm("ip", addr.exploded.upper())
    assert once == addr.compressed
    assert norm("ip", once) == once


@settings(deadline=None)
@given(
    scheme=st.sampled_from(["http", "HTTP", "https", "HttpS"]),
    host=_hosts,
    port=st.one_of(st.none(), st.integers(min_value=1, max_value=65535)),
    path=st.text(max_size=20),
    query=st.lists(st.tuples(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), st.text(max_size=8)), max_size=4),
    fragment=st.text(max_size=8),
)
def test_url_normalisation_is_idempotent(
    scheme: str, host: str, port: int | None, path: str, query: list[tuple[str, str]], fragment: str
) -> None:
    netloc = host.upper() + (f":{port}" if port is not None else "")
    raw = f"{scheme}://{netloc}/{quote(path)}?{urlencode(query)}#{quote(fragment)}"
    once = canonical_url(raw)
    assert canonical_url(once) == once
    parts = urlsplit(once)
    assert parts.fragment == "" and "#" not in once
    kept = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True)]
    assert kept == [k for k, _ in query if not k.startswith("utm_")]
    assert once.startswith(scheme.lower() + "://" + host)


def test_wallet_checksums_are_checked_where_the_chain_defines_one() -> None:
    eip55 = "0x52908400098527886E0F7030069857D2E4169EE7"
    broken = eip55[:-1] + "e"  # one case flip breaks the EIP-55 checksum
    assert "checksum" in str(bad("payment", broken, instrument="wallet", chain="ethereum")).lower()
    assert (
        "checksum"
        in str(bad("payment", "1BoatSLRHtKNngkdXEeobR76b53LETtpyU", instrument="wallet", chain="btc")).lower()
    )
    segwit = "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"  # BIP-173, upper case is valid and is lower-cased
    assert norm("payment", segwit, instrument="wallet", chain="bitcoin") == f"wallet/bitcoin/{segwit.lower()}"
    assert norm("payment", "addr-on-a-chain-without-checksum", instrument="wallet", chain="other") == (
        "wallet/other/addr-on-a-chain-without-checksum"
    )
