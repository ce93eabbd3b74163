"""URL signals: the canonical form banks store and compare, and host+path prefixes.

A URL entry is either a whole URL (``https://example.org/a/b?id=7``: matched on its canonical form, query
included) or a prefix without a scheme (``example.org/a/``: matches every URL, either scheme, whose host
is that host and whose path starts with that path at a segment boundary). The canonical form is the one
identifiers get (``accord.model.identifier.canonical_url``), so a report's URL identifier key and a bank
entry compare equal.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from accord.errors import Invalid
from accord.model.identifier import canonical_url

__all__ = ["candidates", "canonical", "prefix"]


def canonical(text: str) -> str:
    """A whole URL's canonical form, or a prefix's (``host/path``) when ``text`` has no scheme."""
    raw = text.strip()
    if not raw:
        raise Invalid.at("", "a URL or a host/path prefix is needed")
    if "://" not in raw:
        return prefix(raw)
    try:
        return canonical_url(raw)
    except ValueError as exc:
        raise Invalid.at("", str(exc)) from None


def prefix(text: str) -> str:
    """``Example.ORG/a/./b`` → ``example.org/a/b``: host and path of the canonical form, no scheme or query."""
    head = text.strip().split("/", 1)[0]
    try:
        if "@" in head:  # user info would be dropped silently, leaving a prefix of the whole host
            raise ValueError(head)
        url = canonical_url(f"http://{text.strip()}")
    except ValueError:
        raise Invalid.at("", f"not a host/path prefix: {text[:80]!r}") from None
    parts = urlsplit(url)
    if parts.query:
        raise Invalid.at("", "a prefix holds a host and a path, no query (give the whole URL with its scheme)")
    return parts.netloc + parts.path


def candidates(url: str) -> tuple[str, ...]:
    """The entry values a canonical URL matches: itself, and its host with each leading run of path
    segments, with and without the trailing slash (``example.org/``, ``example.org/a``, ``example.org/a/``...)."""
    parts = urlsplit(url)
    out = [url]
    segments = parts.path.split("/")[1:]
    path = ""
    out.append(parts.netloc + "/")
    for i, seg in enumerate(segments):
        if not seg and i == len(segments) - 1:
            break
        path += "/" + seg
        out.append(parts.netloc + path)
        if i < len(segments) - 1:
            out.append(parts.netloc + path + "/")
    return tuple(dict.fromkeys(out))
