"""Wallet-address checksums (``accord/model/wallets.py``).

Published vectors are copied from BIP-173, BIP-350 and EIP-55 (their test-vector sections). Base58
addresses are well-known ones; each carries a 4-byte double-SHA-256 checksum, so a mis-recalled one
could not pass. Testnet and Litecoin addresses are constructed here (marked so): a known payload is
encoded with the small encoders below, then decoded, and single-character mutations must fail.
"""

from __future__ import annotations

import hashlib

import pytest

from accord.model import wallets
from accord.model.wallets import bech32_decode, keccak256, normalise_wallet

# --- Keccak-256 ----------------------------------------------------------------------------------


def test_keccak256_known_digests() -> None:
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"


@pytest.mark.parametrize("n", [0, 1, 135, 136, 137, 271, 272, 273, 1000])
def test_sponge_with_sha3_padding_matches_hashlib(n: int) -> None:
    # Same permutation, FIPS-202 padding: hashlib is an oracle for multi-block absorbing and the
    # padding boundaries (rate is 136 bytes), which two short digests do not reach.
    data = (bytes(range(256)) * 4)[:n]
    assert wallets._sponge(data, 0x06) == hashlib.sha3_256(data).digest()
    assert keccak256(data) != hashlib.sha3_256(data).digest()


# --- EIP-55 --------------------------------------------------------------------------------------

EIP55_ALL_CAPS = ["0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D"]
EIP55_ALL_LOWER = ["0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26"]
EIP55_NORMAL = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]
EVM_CHAINS = ["ethereum", "eth", "polygon", "bsc", "arbitrum", "optimism", "base", "avalanche"]


@pytest.mark.parametrize("address", EIP55_ALL_CAPS + EIP55_ALL_LOWER + EIP55_NORMAL)
def test_eip55_vectors_are_accepted_and_lower_cased(address: str) -> None:
    assert normalise_wallet("ethereum", address) == address.lower()


@pytest.mark.parametrize("address", EIP55_ALL_CAPS + EIP55_NORMAL)
def test_eip55_checksum_reproduces_the_vectors(address: str) -> None:
    # The all-caps vectors are checksummed forms whose checksum happens to upper-case every letter.
    assert "0x" + wallets._eip55(address[2:].lower()) == address


@pytest.mark.parametrize("address", EIP55_ALL_CAPS + EIP55_NORMAL)
def test_eip55_one_flipped_case_is_refused(address: str) -> None:
    letters = [i for i, ch in enumerate(address) if i >= 2 and ch.isalpha()]
    for i in letters:
        mutated = address[:i] + address[i].swapcase() + address[i + 1 :]
        with pytest.raises(ValueError, match="EIP-55"):
            normalise_wallet("ethereum", mutated)


def test_single_case_hex_carries_no_checksum() -> None:
    body = EIP55_NORMAL[0][2:]
    assert normalise_wallet("eth", "0x" + body.upper()) == "0x" + body.lower()
    assert normalise_wallet("eth", "0x" + body.lower()) == "0x" + body.lower()


@pytest.mark.parametrize("chain", [*EVM_CHAINS, "Ethereum", " POLYGON "])
def test_every_evm_chain_checks_eip55(chain: str) -> None:
    good = EIP55_NORMAL[1]
    assert normalise_wallet(chain, good) == good.lower()
    with pytest.raises(ValueError):
        normalise_wallet(chain, good[:3] + good[3].swapcase() + good[4:])


@pytest.mark.parametrize(
    "address",
    [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",  # 39 digits
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd",  # 41 digits
        "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # no 0x
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",  # not hex
        "",
    ],
)
def test_malformed_evm_addresses_are_refused(address: str) -> None:
    with pytest.raises(ValueError, match="40 hex digits"):
        normalise_wallet("ethereum", address)


# --- Bech32 / Bech32m strings (BIP-173, BIP-350) -------------------------------------------------

BECH32_VALID = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]
BECH32M_VALID = [
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
]
BECH32_INVALID = [
    "\x201nwldj5",  # HRP character out of range
    "\x7f1axkwrx",  # HRP character out of range
    "\x801eym55h",  # HRP character out of range
    "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",  # too long
    "pzry9x0s0muk",  # no separator character
    "1pzry9x0s0muk",  # empty HRP
    "x1b4n0q5v",  # invalid data character
    "li1dgmt3",  # too short checksum
    "de1lg7wt\xff",  # invalid character in checksum
    "A1G7SGD8",  # checksum calculated with uppercase form of HRP
    "10a06t8",  # empty HRP
    "1qzzfhee",  # empty HRP
]
BECH32M_INVALID = [
    "\x201xj0phk",  # HRP character out of range
    "\x7f1g6xzxy",  # HRP character out of range
    "\x801vctc34",  # HRP character out of range
    "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",  # too long
    "qyrz8wqd2c9m",  # no separator character
    "1qyrz8wqd2c9m",  # empty HRP
    "y1b0jsk6g",  # invalid data character
    "lt1igcx5c0",  # invalid data character
    "in1muywd",  # too short checksum
    "mm1crxm3i",  # invalid character in checksum
    "au1s5cgom",  # invalid character in checksum
    "M1VUXWEZ",  # checksum calculated with uppercase form of HRP
    "16plkw9",  # empty HRP
    "1p2gdwpf",  # empty HRP
]


@pytest.mark.parametrize(
    ("text", "spec"), [(s, "bech32") for s in BECH32_VALID] + [(s, "bech32m") for s in BECH32M_VALID]
)
def test_bech32_and_bech32m_strings(text: str, spec: str) -> None:
    # BIP-350: no string is valid as both, so each list is also an invalid list for the other.
    assert bech32_decode(text)[2] == spec


@pytest.mark.parametrize("text", BECH32_VALID + BECH32M_VALID)
def test_bech32_string_with_one_data_character_flipped_is_refused(text: str) -> None:
    sep = text.rfind("1")
    mutated = text[: sep + 1] + chr(ord(text[sep + 1]) ^ 1) + text[sep + 2 :]  # as the BIP-173 reference tests do
    with pytest.raises(ValueError):
        bech32_decode(mutated)


@pytest.mark.parametrize("text", BECH32_INVALID + BECH32M_INVALID)
def test_invalid_bech32_strings(text: str) -> None:
    with pytest.raises(ValueError):
        bech32_decode(text)


# --- Segwit addresses ----------------------------------------------------------------------------


def _script_pubkey(version: int, program: bytes) -> str:
    return (bytes([version + 0x50 if version else 0, len(program)]) + program).hex()


# BIP-350 valid addresses with their scriptPubKeys; the v0 ones are BIP-173's too.
SEGWIT_VALID = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
    ),
    (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    (
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
]

# BIP-173's v1+ examples were Bech32; BIP-350 replaced that with Bech32m, so they are now invalid.
BIP173_V1_PLUS_NOW_INVALID = [
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
    "BC1SW50QA3JX3S",
    "bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj",
]

SEGWIT_INVALID = [
    # BIP-173
    "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty",  # invalid human-readable part
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",  # invalid checksum
    "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2",  # invalid witness version
    "bc1rw5uspcuh",  # invalid program length
    "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",  # invalid program length
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",  # invalid program length for witness version 0
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",  # mixed case
    "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",  # zero padding of more than 4 bits
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv",  # non-zero padding in 8-to-5 conversion
    "bc1gmk9yu",  # empty data section
    # BIP-350
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",  # invalid human-readable part
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # Bech32 instead of Bech32m
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",  # Bech32 instead of Bech32m
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",  # Bech32 instead of Bech32m
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # Bech32m instead of Bech32
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",  # Bech32m instead of Bech32
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",  # invalid character in checksum
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",  # invalid witness version
    "bc1pw5dgrnzv",  # invalid program length (1 byte)
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",  # program length 41 bytes
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",  # mixed case
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",  # zero padding of more than 4 bits
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",  # non-zero padding in 8-to-5 conversion
    *BIP173_V1_PLUS_NOW_INVALID,
]


def _chain_for(address: str) -> str:
    return "bitcoin-testnet" if address.lower().startswith("tb1") else "bitcoin"


@pytest.mark.parametrize(("address", "script"), SEGWIT_VALID)
def test_valid_segwit_addresses(address: str, script: str) -> None:
    hrp = "tb" if _chain_for(address) == "bitcoin-testnet" else "bc"
    assert _script_pubkey(*wallets._segwit_program(address, frozenset({hrp}))) == script
    assert normalise_wallet(_chain_for(address), address) == address.lower()


@pytest.mark.parametrize("address", SEGWIT_INVALID)
@pytest.mark.parametrize("chain", ["bitcoin", "bitcoin-testnet", "litecoin"])
def test_invalid_segwit_addresses(address: str, chain: str) -> None:
    with pytest.raises(ValueError):
        normalise_wallet(chain, address)


@pytest.mark.parametrize(("address", "_script"), SEGWIT_VALID)
def test_segwit_address_on_the_other_network_is_refused(address: str, _script: str) -> None:
    other = "bitcoin" if _chain_for(address) == "bitcoin-testnet" else "bitcoin-testnet"
    for chain in (other, "litecoin"):
        with pytest.raises(ValueError, match="another network"):
            normalise_wallet(chain, address)


def test_segwit_mixed_case_is_refused() -> None:
    with pytest.raises(ValueError, match="case"):
        normalise_wallet("bitcoin", "Bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")


@pytest.mark.parametrize("address", [a for a, _ in SEGWIT_VALID])
def test_every_single_substitution_in_a_segwit_address_is_refused(address: str) -> None:
    # Bech32(m) detects any single substituted character, so this is exhaustive, not a sample.
    chain, lower = _chain_for(address), address.lower()
    sep = lower.rfind("1")
    for i in range(sep + 1, len(lower)):
        for ch in wallets._B32.replace(lower[i], ""):
            with pytest.raises(ValueError):
                normalise_wallet(chain, lower[:i] + ch + lower[i + 1 :])


# --- Constructed segwit and base58 addresses -------------------------------------------------------


def _segwit_encode(hrp: str, version: int, program: bytes, spec: str) -> str:
    # Test-only encoder; _polymod itself is pinned by the published vectors above.
    acc = bits = 0
    data = [version]
    for byte in program:
        acc, bits = acc << 8 | byte, bits + 8
        while bits >= 5:
            bits -= 5
            data.append(acc >> bits & 31)
    if bits:
        data.append(acc << (5 - bits) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = wallets._polymod(expanded + data + [0] * 6) ^ (1 if spec == "bech32" else 0x2BC830A3)
    return hrp + "1" + "".join(wallets._B32[d] for d in data + [pm >> 5 * (5 - i) & 31 for i in range(6)])


def _b58check(version: int, payload: bytes) -> str:
    raw = bytes([version]) + payload
    raw += hashlib.sha256(hashlib.sha256(raw).digest()).digest()[:4]
    n, out = int.from_bytes(raw, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = wallets._B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


PAYLOAD20 = bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6")  # BIP-173's example key hash
PAYLOAD32 = hashlib.sha256(b"accord").digest()


def test_constructed_litecoin_segwit_addresses() -> None:
    for version, program, spec in [(0, PAYLOAD20, "bech32"), (0, PAYLOAD32, "bech32"), (1, PAYLOAD32, "bech32m")]:
        address = _segwit_encode("ltc", version, program, spec)
        assert normalise_wallet("LTC", address.upper()) == address
        assert wallets._segwit_program(address, frozenset({"ltc"})) == (version, program)
        with pytest.raises(ValueError):
            normalise_wallet("bitcoin", address)


@pytest.mark.parametrize(("version", "program"), [(0, PAYLOAD20), (1, PAYLOAD32), (16, PAYLOAD20)])
def test_constructed_wrong_checksum_constant_is_refused(version: int, program: bytes) -> None:
    right, wrong = ("bech32", "bech32m") if version == 0 else ("bech32m", "bech32")
    assert normalise_wallet("btc", _segwit_encode("bc", version, program, right))
    with pytest.raises(ValueError, match="wrong checksum"):
        normalise_wallet("btc", _segwit_encode("bc", version, program, wrong))


def test_constructed_wrong_hrp_is_refused() -> None:
    with pytest.raises(ValueError, match="another network"):
        normalise_wallet("bitcoin", _segwit_encode("tb", 0, PAYLOAD20, "bech32"))


KNOWN_BASE58 = [
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",  # genesis coinbase, P2PKH
    "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",  # P2PKH example from the Bitcoin wiki
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",  # P2SH example from the Bitcoin wiki
]


@pytest.mark.parametrize("address", KNOWN_BASE58)
def test_known_base58_addresses(address: str) -> None:
    assert normalise_wallet("bitcoin", f"  {address}\n") == address
    assert normalise_wallet("BTC", address) == address


def test_known_base58_round_trips_through_the_test_encoder() -> None:
    # Ties the constructed cases below to the real addresses: same encoder, same bytes.
    assert _b58check(0x00, bytes.fromhex("62e907b15cbf27d5425399ebf6f0fb50ebb88f18")) == KNOWN_BASE58[0]


@pytest.mark.parametrize("address", KNOWN_BASE58)
def test_every_single_substitution_in_a_base58_address_is_refused(address: str) -> None:
    for i in range(len(address)):
        for ch in wallets._B58.replace(address[i], ""):
            with pytest.raises(ValueError):
                normalise_wallet("bitcoin", address[:i] + ch + address[i + 1 :])


@pytest.mark.parametrize(
    "address",
    [
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",  # last character changed
        "1a1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",  # case flipped: base58 is case-sensitive
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN",  # truncated
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa1",  # extended
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0",  # '0' is not base58
        "",
    ],
)
def test_mutated_base58_addresses_are_refused(address: str) -> None:
    with pytest.raises(ValueError):
        normalise_wallet("bitcoin", address)


# Constructed: version byte and chain for each accepted base58 kind.
BASE58_KINDS = [
    (0x00, "bitcoin"),
    (0x05, "bitcoin"),
    (0x6F, "bitcoin-testnet"),
    (0xC4, "bitcoin-testnet"),
    (0x30, "litecoin"),
    (0x32, "litecoin"),
    (0x05, "litecoin"),
]


@pytest.mark.parametrize(("version", "chain"), BASE58_KINDS)
def test_constructed_base58_versions(version: int, chain: str) -> None:
    address = _b58check(version, PAYLOAD20)
    assert normalise_wallet(chain, address) == address
    for other in {"bitcoin", "bitcoin-testnet", "litecoin"} - {c for v, c in BASE58_KINDS if v == version}:
        with pytest.raises(ValueError, match="another chain"):
            normalise_wallet(other, address)
    i = len(address) // 2
    mutated = address[:i] + ("2" if address[i] != "2" else "3") + address[i + 1 :]
    with pytest.raises(ValueError, match="checksum"):
        normalise_wallet(chain, mutated)


def test_base58_address_that_starts_like_a_segwit_prefix() -> None:
    # Constructed: a Litecoin P2PKH address beginning "LTC1" is base58, not a Bech32 "ltc1" address.
    # Take the high bytes of "LTC1222..." as the payload; the checksum only moves the last characters.
    n = 0
    for ch in "LTC1" + "2" * 30:
        n = n * 58 + wallets._B58.index(ch)
    raw = n.to_bytes(25, "big")
    address = _b58check(raw[0], raw[1:21])
    assert raw[0] == 0x30 and address.startswith("LTC1")
    assert normalise_wallet("litecoin", address) == address


# --- Other chains --------------------------------------------------------------------------------


@pytest.mark.parametrize("chain", ["monero", "tron", "Solana", "", "dogecoin"])
def test_chains_without_a_known_checksum_pass_through(chain: str) -> None:
    assert normalise_wallet(chain, "  TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t \t") == "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    assert normalise_wallet(chain, "0xNotHexAtAll") == "0xNotHexAtAll"
