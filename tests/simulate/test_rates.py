"""Rates in a 20,000-report stream: urgency, senders, markings, categories and the arrival rhythm."""

from __future__ import annotations

import collections
from datetime import date
from typing import Any

import pytest

from accord.simulate import build_world, stream_reports
from accord.simulate.reports import CATEGORY_MIX
from accord.vocab import load

N = 20_000


@pytest.fixture(scope="module")
def stream() -> list[dict[str, Any]]:
    return [s.report for s in stream_reports(build_world(5, N))]


def test_urgency_indicators_have_realistic_rates(stream: list[dict[str, Any]]) -> None:
    counts = collections.Counter(code for r in stream for code in r["urgency"])
    rate = {code: counts[code] / N for code in load().urgency.codes()}
    assert 0.005 <= rate["imminent-danger"] <= 0.018
    assert 0.015 <= rate["live-contact"] <= 0.06
    assert rate["imminent-danger"] < rate["live-contact"] < rate["recent"]
    assert 0.35 <= rate["recent"] <= 0.55
    assert all(rate[c] > 0 for c in rate), "every indicator occurs"
    bands = [r for r in stream if sum(c.startswith("age-band") for c in r["urgency"]) > 1]
    assert not bands, "at most one age band per report"


def test_senders_markings_and_categories_are_skewed_like_real_intake(stream: list[dict[str, Any]]) -> None:
    sources = collections.Counter(r["source"] for r in stream)
    assert sources["platform"] / N > 0.7
    assert sources["hotline"] / N > 0.1 and sources["public"] / N > 0.02
    markings = collections.Counter(r["marking"] for r in stream)
    assert markings["AMBER"] / N > 0.7 and markings["GREEN"] and markings["RED"]
    assert set(markings) <= set(load().markings.codes())
    categories = collections.Counter(r["incident_type"] for r in stream)
    assert set(categories) <= set(load().categories.codes())
    assert set(categories) == {c for mix in CATEGORY_MIX.values() for c, _ in mix}
    top, second = categories.most_common(2)
    assert top[0] == "csam" and top[1] > 2 * second[1]


def test_arrivals_follow_a_daily_and_weekly_rhythm(stream: list[dict[str, Any]]) -> None:
    hours = collections.Counter(int(r["received_at"][11:13]) for r in stream)
    assert hours[20] > 2.5 * hours[4]
    weekdays = collections.Counter(date.fromisoformat(r["received_at"][:10]).weekday() for r in stream)
    assert weekdays[0] > weekdays[5]
