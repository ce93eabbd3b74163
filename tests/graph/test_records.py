from __future__ import annotations

from pathlib import Path

import pytest

from accord.errors import Invalid
from accord.graph.records import RecordSet, email_local, fold_handle, read_world, records_from_report
from accord.simulate import generate


def test_fold_transliterates_cyrillic_and_maps_lookalikes() -> None:
    assert fold_handle("\u043a\u0430\u0431\u043e_\u0440\u0438") == "kabori"  # all Cyrillic: er is r
    assert fold_handle("k\u0430b\u043ep\u0456") == "kabopi"  # mixed scripts: look-alikes, er would be p
    assert fold_handle("Ka.Bo_Ri") == fold_handle("kaBoRi") == "kabori"


def test_email_local_drops_tag_and_dots() -> None:
    assert email_local("ka.bo+x1@example.com") == "kabo"


def test_subjects_become_records_and_unknown_formats_are_counted() -> None:
    out = RecordSet()
    subjects = [
        {"role": "suspect", "identifiers": [
            {"kind": "account", "value": "KaBo", "service": "platform-01"},
            {"kind": "email", "value": "Ka.Bo@Example.com"},
            {"kind": "phone", "value": "not a number", "region": "NL"},
            {"kind": "telepathy", "value": "x"},
            {"kind": "ip", "value": "100.64.0.1", "seen_at": "2025-01-07T00:00:00Z"},
        ]},
        {"role": "victim", "identifiers": [{"kind": "account", "value": "v-1", "service": "platform-01"}]},
        {"role": "suspect", "identifiers": [{"kind": "telepathy", "value": "y"}]},
    ]  # fmt: skip
    made = records_from_report("r1", "org-1", "2025-01-06T00:00:00Z", subjects, out)
    assert made == 1 and out.unparsed == 3 and out.empty == 1
    (r,) = out.records
    assert (r.record_id, r.service, r.handle_fold, r.email, r.email_local) == (
        "r1/0",
        "platform-01",
        "kabo",
        "ka.bo@example.com",
        "kabo",
    )
    assert r.phone is None and r.ip == "100.64.0.1" and r.ip_time == r.time + 86400


def test_bad_time_is_invalid() -> None:
    with pytest.raises(Invalid, match="received_at"):
        records_from_report("r1", "o", "yesterday", [], RecordSet())


def test_world_records_carry_their_true_person(tmp_path: Path) -> None:
    generate(5, 300, tmp_path)
    rs = read_world(tmp_path)
    assert len(rs.records) >= 300 and set(rs.truth) == {r.record_id for r in rs.records}
    assert all(p.startswith("p-") for p in rs.truth.values())
    assert len(read_world(tmp_path, limit=10).records) == 10


def test_missing_world_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="no such file"):
        read_world(tmp_path)
