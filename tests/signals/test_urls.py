"""URL canonical forms and host+path prefix candidates."""

from __future__ import annotations

import pytest

from accord.errors import Invalid
from accord.signals.urls import candidates, canonical


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("HTTPS://Example.ORG:443/a/./b/../c?utm_source=x&id=7&fbclid=1&gclid=2#top", "https://example.org/a/c?id=7"),
        ("http://example.org:8080/%7euser/%2f", "http://example.org:8080/~user/%2F"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://example.org/../../x", "http://example.org/x"),
        ("Example.ORG/a/./b/", "example.org/a/b/"),
        ("example.org", "example.org/"),
    ],
)
def test_canonical(raw: str, want: str) -> None:
    assert canonical(raw) == want


@pytest.mark.parametrize("bad", ["", "mailto:a@example.org", "https://", "example.org/a?q=1", "user@example.org/a"])
def test_refused(bad: str) -> None:
    with pytest.raises(Invalid):
        canonical(bad)


def test_prefix_candidates_stop_at_segment_boundaries() -> None:
    got = candidates(canonical("https://example.org/a/b/c?x=1"))
    assert got[0] == "https://example.org/a/b/c?x=1"
    assert set(got[1:]) == {
        "example.org/",
        "example.org/a",
        "example.org/a/",
        "example.org/a/b",
        "example.org/a/b/",
        "example.org/a/b/c",
    }
    assert "example.org/ab" not in candidates(canonical("https://example.org/abc"))
