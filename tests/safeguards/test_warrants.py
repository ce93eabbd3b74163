"""Whether a warrant allows an opening (``accord/safeguards/warrants.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accord.errors import UnsealRefused
from accord.ids import ActorId, OrgId, ReportId
from accord.model.warrant import Warrant, WarrantId, WarrantScope
from accord.safeguards.warrants import check, covers_field

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)


def warrant(report_ids: list[str] = ["rpt_1"], keys: list[str] = [], fields: list[str] = ["/narrative"]) -> Warrant:  # noqa: B006
    return Warrant(
        id=WarrantId("wrt_1"),
        org_id=OrgId("org_1"),
        issuing_authority="court",
        reference="W-1",
        scope=WarrantScope(report_ids=[ReportId(r) for r in report_ids], identifier_keys=keys, fields=fields),
        valid_from=START,
        valid_until=END,
        document_sha256="ab" * 32,
        recorded_by=ActorId("act_1"),
        recorded_at=START,
    )


@pytest.mark.parametrize(
    ("scope", "field", "covered"),
    [
        (["/narrative"], "/narrative", True),
        (["/subjects"], "/subjects/1", True),
        (["/subjects"], "/subjects", True),
        (["/subject"], "/subjects/1", False),
        (["/subjects/1"], "/subjects/2", False),
        (["/subjects/1"], "/subjects", False),
        ([], "/narrative", False),
    ],
)
def test_covers_field(scope: list[str], field: str, covered: bool) -> None:
    assert covers_field(scope, field) is covered


def test_in_force_window_is_half_open() -> None:
    w = warrant()
    check(w, START, "rpt_1", [], ["/narrative"])
    check(w, END - timedelta(microseconds=1), "rpt_1", [], ["/narrative"])
    with pytest.raises(UnsealRefused) as info:
        check(w, END, "rpt_1", [], ["/narrative"])
    assert info.value.reason == "warrant-expired" and info.value.status == 403
    with pytest.raises(UnsealRefused) as info:
        check(w, START - timedelta(seconds=1), "rpt_1", [], ["/narrative"])
    assert info.value.reason == "warrant-not-yet-valid"


def test_report_by_id_or_by_identifier() -> None:
    now = START + timedelta(days=1)
    check(warrant(), now, "rpt_1", [], ["/narrative"])
    by_key = warrant([], ["email:a@example.org"])
    check(by_key, now, "rpt_2", ["phone:+1", "email:a@example.org"], ["/narrative"])
    with pytest.raises(UnsealRefused) as info:
        check(by_key, now, "rpt_2", ["phone:+1"], ["/narrative"])
    assert info.value.reason == "scope-report" and "rpt_2" in info.value.detail


def test_every_field_must_be_covered() -> None:
    with pytest.raises(UnsealRefused) as info:
        check(warrant(), START, "rpt_1", [], ["/narrative", "/subjects/1"])
    assert info.value.reason == "scope-field" and "/subjects/1" in info.value.detail
