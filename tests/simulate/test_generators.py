"""The value generators and noise functions behind the world, and the package's dependency boundary."""

from __future__ import annotations

import ipaddress
import random
import subprocess
import sys
from pathlib import Path

import phonenumbers
import pytest

from accord.model import Identifier
from accord.simulate import Scale, noise
from accord.simulate import identifiers as gen
from accord.simulate.countries import COUNTRIES, Country


@pytest.mark.parametrize("country", COUNTRIES, ids=lambda c: c.code)
def test_phone_numbers_are_valid_and_every_spelling_normalises_to_one_key(country: Country) -> None:
    factory = gen.PhoneFactory()
    rng = random.Random(country.code)
    numbers = [factory.new(rng, country.phone_region) for _ in range(20)]
    assert len({n.e164 for n in numbers}) == len(numbers)
    for n in numbers:
        assert phonenumbers.is_valid_number(phonenumbers.parse(n.e164))
        key = f"phone:{n.e164}"
        assert Identifier(kind="phone", value=n.e164).key == key
        assert Identifier(kind="phone", value=n.spaced).key == key
        assert Identifier(kind="phone", value=n.national, region=country.phone_region).key == key


@pytest.mark.parametrize("country", [c for c in COUNTRIES if c.iban], ids=lambda c: c.code)
def test_ibans_have_correct_check_digits(country: Country) -> None:
    assert country.iban
    rng = random.Random(country.code)
    for _ in range(20):
        value = gen.iban(rng, country.code, country.iban)
        assert int("".join(str(int(c, 36)) for c in value[4:] + value[:4])) % 97 == 1
        key = Identifier(kind="payment", value=gen.iban_spaced(value), instrument="iban").key
        assert (
            key
            == f"payment:iban/{value}"
            == gen.identifier_key({"kind": "payment", "value": value, "instrument": "iban"})
        )


def test_bech32_matches_the_bip173_vector() -> None:
    assert gen.p2wpkh(0x751E76E8199196D454941C45D1B3A323F1433BD6) == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


def test_ip_addresses_come_only_from_ranges_that_name_no_subscriber() -> None:
    rng = random.Random(3)
    allowed = [ipaddress.ip_network(n) for n in ("100.64.0.0/10", "198.18.0.0/15", "2001:db8::/32")]
    for _ in range(500):
        compressed, exploded = gen.ipv6(rng)
        for value in (gen.ipv4(rng), compressed):
            address = ipaddress.ip_address(value)
            assert any(address in net for net in allowed), value
            assert str(address) == value
        assert ipaddress.ip_address(exploded).compressed == compressed != exploded


def test_noise_never_returns_its_input() -> None:
    rng = random.Random(9)
    for _ in range(2000):
        base = noise.handle(rng)
        assert noise.handle_variant(rng, base) != base
        assert noise.handle_variant(rng, base, cyrillic=True) != base
        assert noise.misreport(rng, base) != base
        assert noise.typo(rng, base) != base
        local = noise.email_local(rng, base)
        assert noise.email_variant(rng, local) != local


def test_world_size_grows_with_the_report_count() -> None:
    small, large = Scale.for_reports(2_000), Scale.for_reports(1_000_000)
    assert small.networks == 3 and large.networks == 500
    assert large.people == 125_000 and small.people == 250
    assert large.platforms > small.platforms and large.countries > small.countries


def test_the_package_imports_no_framework_store_or_service() -> None:
    code = (
        "import sys, accord.simulate\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'sqlalchemy', 'fastapi', 'starlette', 'typer'}\n"
        "       or m.startswith(('accord.store', 'accord.services', 'accord.api', 'accord.cli'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
