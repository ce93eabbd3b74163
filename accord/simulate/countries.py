"""The countries a synthetic world may draw from: ISO code, phone region, one representative time zone
and, where the country uses IBANs, the shape of its BBAN.

Why a fixed table: phone metadata and IBAN layouts differ per country, and each entry here is checked
by the tests to produce numbers that ``phonenumbers`` and the IBAN check in ``accord.model`` accept.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COUNTRIES", "Country"]


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    timezone: str
    iban: str | None = None
    """BBAN layout as runs of ``<count><class>``: ``n`` digits, ``a`` upper-case letters."""
    cyrillic: bool = False
    """Whether handles from here are often also written in Cyrillic (a transliteration source of noise)."""

    @property
    def phone_region(self) -> str:
        return self.code


COUNTRIES: tuple[Country, ...] = (
    Country("GB", "Europe/London", "4a14n"),
    Country("DE", "Europe/Berlin", "18n"),
    Country("FR", "Europe/Paris", "23n"),
    Country("NL", "Europe/Amsterdam", "4a10n"),
    Country("US", "America/New_York"),
    Country("ES", "Europe/Madrid", "20n"),
    Country("IT", "Europe/Rome", "1a22n"),
    Country("PL", "Europe/Warsaw", "24n"),
    Country("UA", "Europe/Kyiv", "25n", cyrillic=True),
    Country("RO", "Europe/Bucharest", "4a16n"),
    Country("BE", "Europe/Brussels", "12n"),
    Country("IE", "Europe/Dublin", "4a14n"),
    Country("SE", "Europe/Stockholm", "20n"),
    Country("RU", "Europe/Moscow", cyrillic=True),
    Country("CA", "America/Toronto"),
    Country("BR", "America/Sao_Paulo", "23n1a1n"),
    Country("MX", "America/Mexico_City"),
    Country("PH", "Asia/Manila"),
    Country("IN", "Asia/Kolkata"),
    Country("TH", "Asia/Bangkok"),
    Country("AU", "Australia/Sydney"),
    Country("NG", "Africa/Lagos"),
    Country("KE", "Africa/Nairobi"),
    Country("ZA", "Africa/Johannesburg"),
    Country("AT", "Europe/Vienna", "16n"),
    Country("PT", "Europe/Lisbon", "21n"),
    Country("CZ", "Europe/Prague", "20n"),
    Country("GR", "Europe/Athens", "23n"),
)
