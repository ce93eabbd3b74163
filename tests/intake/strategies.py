"""Hypothesis strategies for reports as a submitter sends them, and stored reports built from them
without a database, for importer and exporter tests. Neutral codes and synthetic values only."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

from accord.ids import ActorId, OrgId, ReportId
from accord.intake.prepare import prepare
from accord.model.parse import parse_obj
from accord.model.report import Report, ReportIn
from accord.vocab import load

VOCAB = load()
CATEGORIES = sorted(c for c in VOCAB.categories.terms if not VOCAB.categories.terms[c].attrs.get("retired"))
URGENCY = sorted(VOCAB.urgency.terms)
MARKINGS = sorted(VOCAB.markings.terms)
SOURCES = sorted(VOCAB.sources.terms)
COUNTRIES = ["DE", "FR", "NL", "BR", "PH", "US", "GB", "IN"]

_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=3, max_size=12)
_times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 11, 1), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=0)
)


def _hexstr(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789abcdef", min_size=n, max_size=n)


account = st.builds(
    lambda svc, user, handle: {"kind": "account", "service": f"platform-{svc:02d}", "value": user, "handle": handle},
    st.integers(1, 12),
    _token,
    st.one_of(st.none(), _token),
)
email = _token.map(lambda t: {"kind": "email", "value": f"{t}@example.org"})
phone = st.integers(1000000, 9999999).map(lambda n: {"kind": "phone", "value": f"+31 20 {n}"})
ip = st.builds(
    lambda a, b, port, seen: {
        "kind": "ip",
        "value": f"198.18.{a}.{b}",
        **({"port": port} if port is not None else {}),
        **({"seen_at": seen.isoformat().replace("+00:00", "Z")} if seen is not None else {}),
    },
    st.integers(0, 255),
    st.integers(1, 254),
    st.one_of(st.none(), st.integers(1, 65535)),
    st.one_of(st.none(), _times),
)
url = _token.map(lambda t: {"kind": "url", "value": f"https://files.example.net/{t}"})
wallet = _hexstr(40).map(lambda h: {"kind": "payment", "instrument": "wallet", "chain": "ethereum", "value": "0x" + h})
identifier = st.one_of(account, email, phone, ip, url)
card = _token.map(lambda t: {"kind": "payment", "instrument": "card-token", "value": f"tok-{t}"})
transfer = st.builds(
    lambda at, src, dst, cents, cur, ref: {
        "at": at.isoformat().replace("+00:00", "Z"),
        "from": src,
        "to": dst,
        "amount": cents / 100,
        "currency": cur,
        **({"reference": ref} if ref else {}),
    },
    _times,
    st.one_of(card, wallet),
    st.one_of(card, wallet),
    st.integers(1, 10**9),
    st.sampled_from(["EUR", "USD", "BTC"]),
    st.one_of(st.none(), _token),
)


def _media(md5: str | None, sha256: str | None, pdq: str | None, quality: int, size: int | None) -> dict[str, object]:
    doc: dict[str, object] = {"md5": md5, "sha256": sha256, "pdq": pdq, "pdq_quality": quality if pdq else None}
    if not (md5 or sha256 or pdq):
        doc["md5"] = "0" * 31 + "1"
    doc["size"] = size
    return {k: v for k, v in doc.items() if v is not None}


media = st.builds(
    _media,
    st.one_of(st.none(), _hexstr(32)),
    st.one_of(st.none(), _hexstr(64)),
    st.one_of(st.none(), _hexstr(64)),
    st.integers(0, 100),
    st.one_of(st.none(), st.integers(1, 10**9)),
)

subject = st.builds(
    lambda role, idents: {"role": role, "identifiers": idents},
    st.sampled_from(["suspect", "unknown"]),
    st.lists(identifier, min_size=1, max_size=4),
)

report_doc = st.builds(
    lambda ext, source, at, cat, urg, marking, country, subjects, media_: {
        "external_id": ext,
        "source": source,
        "received_at": at.isoformat().replace("+00:00", "Z"),
        "incident_type": cat,
        "urgency": urg,
        "marking": marking,
        "location": {"country": country} if country else {},
        "subjects": subjects,
        "media": media_,
    },
    _token.map(lambda t: f"ext-{t}"),
    st.sampled_from(SOURCES),
    _times,
    st.sampled_from(CATEGORIES),
    st.lists(st.sampled_from(URGENCY), unique=True, max_size=3),
    st.sampled_from(MARKINGS),
    st.one_of(st.none(), st.sampled_from(COUNTRIES)),
    st.lists(subject, max_size=3),
    st.lists(media, max_size=3),
)
"""A submission document (dict) as a platform would send it: no victims, no narrative (those are
sealed and never exported, so they cannot round-trip)."""

report_in = report_doc.map(lambda d: parse_obj(ReportIn, d))

# The native format also carries the payments a report holds (the other formats have no place for them yet).
native_report_in = st.builds(
    lambda d, transfers: parse_obj(ReportIn, {**d, **({"transfers": transfers} if transfers else {})}),
    report_doc,
    st.lists(transfer, max_size=2),
)


def stored(rin: ReportIn, n: int = 1, org_id: str = "org_01JTESTORG0000000000000000") -> Report:
    """The stored form of a submission, as the intake service would build it, without a database."""
    return prepare(rin, VOCAB).as_report(
        ReportId(f"rpt_01JTEST{n:019d}"),
        OrgId(org_id),
        ActorId("act_01JTESTACTOR000000000000000"),
        datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
    )
