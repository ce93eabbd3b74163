"""URLs, matched on their canonical form, or by host+path prefix (``accord.signals.urls``)."""

from __future__ import annotations

from collections.abc import Sequence

from accord.plugins.hookspecs import hookimpl
from accord.signals import urls
from accord.signals.signal_type import SignalType

__all__ = ["Url", "accord_signal_types"]


class Url(SignalType):
    @classmethod
    def get_name(cls) -> str:
        return "url"

    @classmethod
    def validate(cls, text: str) -> str:
        return urls.canonical(text)

    @classmethod
    def get_examples(cls) -> list[str]:
        return ["HTTPS://Example.ORG:443/a/./b?utm_source=x&id=7#top", "example.org/files/", "http://bücher.example/"]

    @classmethod
    def get_invalid_examples(cls) -> list[str]:
        return [*super().get_invalid_examples(), "mailto:someone@example.org", "https://", "example.org/a?q=1"]

    @classmethod
    def lookup_keys(cls, canonical: str) -> tuple[str, ...]:
        return urls.candidates(canonical)


@hookimpl
def accord_signal_types() -> Sequence[type[SignalType]]:
    return [Url]
