"""The CSV format: round trip through Accord's layout, a hotline spreadsheet read through its own column
mapping, the mapping's own checks, detection, and the bad-input cases every format must meet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from accord import plugins
from accord.errors import Invalid
from accord.intake.exporters.csv import CsvExporter
from accord.intake.formats import ExportContext, ImportOptions, Item
from accord.intake.importers.csv import CSV, default_mapping
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from tests.intake.strategies import report_doc, report_in, stored

DATA = Path(__file__).parent.parent / "data" / "formats" / "csv"
CTX = ExportContext(org_id="org_x", org_name="Test Hotline", generated_at=datetime(2026, 11, 25, tzinfo=UTC))
HEADER = "Ref,Date received,Category,Reported e-mail,Reported phone,Country,MD5\n"
MAPPING: dict[str, Any] = {
    "version": 1,
    "fixed": {"source": "hotline"},
    "columns": {
        "Ref": "external_id",
        "Date received": "received_at",
        "Category": {"field": "incident_type", "values": {"Grooming": "grooming", "Other": "other"}},
        "Country": "location.country",
    },
    "subjects": [{"role": "suspect", "identifiers": {"Reported e-mail": "email", "Reported phone": "phone"}}],
    "media": [{"md5": "MD5"}],
}


def read(data: bytes, name: str = "f.csv", **kw: Any) -> list[Item]:
    return list(CSV.read(io.BufferedReader(io.BytesIO(data)), ImportOptions(name=name, **kw)))


def export(reports: list[ReportIn]) -> bytes:
    out = io.BytesIO()
    assert CsvExporter().write([stored(r, i) for i, r in enumerate(reports)], out, CTX) == len(reports)
    return out.getvalue()


def hotline(*rows: str, mapping: dict[str, Any] | None = None) -> list[Item]:
    return read((HEADER + "".join(r + "\n" for r in rows)).encode(), mapping=mapping or MAPPING)


# --- round trip ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(report_in, min_size=1, max_size=5))
def test_export_then_import_gives_back_the_same_reports(reports: list[ReportIn]) -> None:
    items = read(export(reports))
    assert [i.report for i in items] == reports


_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=20)


@settings(max_examples=100, deadline=None)
@given(report_doc, _text, _text, _text, _text)
def test_any_text_in_free_fields_survives_the_round_trip(doc: dict[str, Any], ext: str, a: str, b: str, c: str) -> None:
    """The cell escapes (; | % and line breaks) and the formula guard are exact inverses."""
    doc = {**doc, "external_id": ext, "location": {"timezone": c}}
    doc["subjects"] = [{"role": "suspect", "identifiers": [{"kind": "account", "service": b, "value": a, "handle": c}]}]
    try:
        rin = parse_obj(ReportIn, doc)
    except Invalid:
        assume(False)  # blank after the model trims it, or too long
    assume(rin.location.timezone)  # an empty optional text is an empty cell, read back as absent (documented)
    assert [i.report for i in read(export([rin]))] == [rin]


def test_formula_cells_are_neutralised_on_export_and_restored_on_import() -> None:
    doc = {
        "external_id": "=1+2",
        "source": "hotline",
        "received_at": "2026-11-03T13:05:00Z",
        "incident_type": "other",
        "location": {"timezone": "-03:00"},
        "subjects": [
            {
                "role": "suspect",
                "identifiers": [
                    {"kind": "account", "service": "@platform", "value": "+a;b|c%41=d\ne", "handle": "'quoted"},
                    {"kind": "phone", "value": "+31 20 123 4567"},
                ],
            }
        ],
    }
    rin = parse_obj(ReportIn, doc)
    data = export([rin])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    for cell in rows[1]:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert rows[1][0] == "'=1+2" and rows[1][7] == "'-03:00"
    assert "account=+a%3Bb%7Cc%2541=d%0Ae; service=@platform; handle='quoted" in rows[1][8]
    assert [i.report for i in read(data)] == [rin]


def test_the_exporter_writes_every_column_of_the_default_mapping() -> None:
    data = export([])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data[3:].decode().rstrip("\r\n").split(",") == list(default_mapping().columns)
    assert plugins.exporter("csv").suffix == ".csv" and plugins.importer("csv") is CSV


# --- example files ------------------------------------------------------------------------------


def test_hotline_spreadsheet_with_its_own_mapping() -> None:
    mapping = yaml.safe_load((DATA / "hotline-mapping.yaml").read_text())
    items = read((DATA / "hotline-export.csv").read_bytes(), "hotline-export.csv", mapping=mapping)
    suspect = "suspect"
    expected = [
        ReportIn(
            external_id="HL-2026-0101",
            source="hotline",
            received_at=datetime(2026, 11, 3, 13, 5, tzinfo=UTC),  # 14:05 CET
            incident_type="grooming",
            marking="AMBER",
            location={"country": "NL"},
            subjects=[
                {
                    "role": suspect,
                    "identifiers": [
                        {"kind": "email", "value": "contact-one@example.org"},
                        {"kind": "phone", "value": "020 123 4567", "region": "NL"},
                    ],
                }
            ],
        ),
        ReportIn(
            external_id="HL-2026-0102",
            source="hotline",
            received_at=datetime(2026, 7, 15, 7, 30, tzinfo=UTC),  # 09:30 CEST
            incident_type="csam",
            urgency=["imminent-danger"],
            location={"country": "DE"},
            media=[
                {
                    "md5": "0123456789abcdef0123456789abcdef",
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                }
            ],
            narrative="Received through the web form.\nReporter asked for feedback.",
        ),
        ReportIn(
            external_id="HL-2026-0103",
            source="hotline",
            received_at=datetime(2026, 10, 28, 22, 59, tzinfo=UTC),  # 23:59 CET (DST ended on the 25th)
            incident_type="extortion",
            subjects=[
                {
                    "role": suspect,
                    "identifiers": [
                        {"kind": "phone", "value": "020 123 4567", "region": "NL"},
                        {"kind": "phone", "value": "+31 20 765 4321", "region": "NL"},
                        {"kind": "account", "value": "user-4471", "service": "platform-03"},
                    ],
                }
            ],
        ),
        ReportIn(
            external_id="HL-2026-0104",
            source="hotline",
            received_at=datetime(2026, 12, 1, 7, 0, tzinfo=UTC),
            incident_type="other",
            location={"country": "BE"},
        ),
    ]
    assert [i.faults for i in items] == [{}] * 4
    assert [i.line for i in items] == [2, 3, 6, 7]  # physical lines: row 3's notes span two, line 5 is empty
    assert [i.report for i in items] == expected


def test_a_hand_written_file_in_accords_layout_needs_no_mapping() -> None:
    data = (DATA / "accord-layout.csv").read_bytes()
    assert CSV.sniff(data, "upload.bin")
    items = read(data)
    assert [i.line for i in items] == [2, 6] and all(i.report for i in items)
    first, second = (i.report for i in items)
    assert first is not None and second is not None
    assert first.urgency == ["live-contact", "recent"] and first.location.timezone == "Europe/Amsterdam"
    assert [[i.key for i in s.identifiers] for s in first.subjects] == [
        ["account:platform-01/100200300", "email:contact-one@example.org"],
        ["phone:+31201234567", "ip:198.18.4.20"],
    ]
    assert first.subjects[1].identifiers[1].seen_at == datetime(2026, 11, 2, 21, 40, tzinfo=UTC)
    assert [(m.md5, m.sha256, m.size, m.mime) for m in first.media] == [
        ("0123456789abcdef0123456789abcdef", None, 48213, "image/jpeg"),
        (None, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", None, None),
    ]
    assert second.external_id == "=ref-0002"
    assert second.subjects[0].identifiers[0].value == "https://files.example.net/a;b?page=2"


# --- mapping features ---------------------------------------------------------------------------


def test_value_maps_match_labels_loosely_and_refuse_unknown_ones() -> None:
    items = hotline(
        "r1,2026-11-03T10:00:00Z, grooming ,,,,",
        "r2,2026-11-03T10:00:00Z,Grooming!,,,,",
    )
    assert items[0].report is not None and items[0].report.incident_type == "grooming"
    assert "'Grooming!' is not a value the column mapping knows" in items[1].faults["column 'Category'"]
    assert len(items[1].faults) == 1  # not also "/incident_type: Field required"


def test_dates_follow_the_mapping_format_and_zone() -> None:
    m = {**MAPPING, "dates": {"format": "%d/%m/%Y", "timezone": "America/Sao_Paulo"}}
    items = hotline("r1,03/11/2026,Other,,,,", "r2,2026-11-03,Other,,,,", mapping=m)
    assert items[0].report is not None and items[0].report.received_at == datetime(2026, 11, 3, 3, tzinfo=UTC)
    assert items[1].faults == {"column 'Date received'": "not a date in the format '%d/%m/%Y': '2026-11-03'"}
    naive = hotline("r3,2026-11-03T10:00:00,Other,,,,")
    assert "has no time zone" in naive[0].faults["column 'Date received'"]


def test_options_source_overrides_the_fixed_one_and_is_needed_without_it() -> None:
    items = read((HEADER + "r1,2026-11-03T10:00:00Z,Other,,,,\n").encode(), mapping=MAPPING, source="public")
    assert items[0].report is not None and items[0].report.source == "public"
    no_source = {k: v for k, v in MAPPING.items() if k != "fixed"}
    with pytest.raises(Invalid, match=r"f\.csv: no source"):
        read(HEADER.encode(), mapping=no_source)


def test_short_rows_extra_cells_and_blank_rows() -> None:
    items = hotline("r1,2026-11-03T10:00:00Z,Other", "", ",,,,,,", "r2,2026-11-03T10:00:00Z,Other,,,,,x,")
    assert [i.line for i in items] == [2, 5]
    assert items[0].report is not None
    assert items[1].faults == {"": "the row has 9 cells, the header 7"}


def test_compact_cell_faults_name_the_column_and_the_pointer() -> None:
    head = ",".join(default_mapping().columns) + "\n"
    row = "r1,hotline,2026-11-03T10:00:00Z,other,,AMBER,,,{},\n"
    items = read((head + row.format("suspect email a@example.org") + row.format("suspect: phone=12")).encode())
    assert items[0].faults == {
        "column 'subjects'": "subject 1: expected 'role: kind=value | kind=value', found 'suspect email a@example.org'"
    }
    assert list(items[1].faults) == ["column 'subjects' /subjects/0/identifiers/0"]


# --- the mapping's own checks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "pointer", "message"),
    [
        ({"version": 2}, "/version", "Input should be 1"),
        ({"columns": {**MAPPING["columns"], "Ref": "externalid"}}, "/columns/Ref/field", "Input should be"),
        ({"columns": {**MAPPING["columns"], "Ref": "received_at"}}, "/columns/Date received/field", "already given by"),
        (
            {"columns": {**MAPPING["columns"], "Category": {"field": "incident_type", "values": {True: "other"}}}},
            "/columns/Category/values/True",
            "quote it",
        ),
        (
            {"columns": {**MAPPING["columns"], "Category": {"field": "incident_type", "values": {"G": "groming"}}}},
            "/columns/Category/values/G",
            "unknown categories code 'groming'",
        ),
        ({"columns": {"Category": "incident_type"}}, "/columns", "no column gives received_at"),
        ({"fixed": {"source": "hotlines"}}, "/fixed/source", "unknown sources code"),
        ({"fixed": {"urgency": "recent"}}, "/fixed/urgency", "urgency takes a list"),
        ({"subjects": [{"identifiers": {"User": "account"}}]}, "/subjects/0/identifiers/User", "needs service"),
        ({"subjects": [{"identifiers": {"User": "bitcoin"}}]}, "/subjects/0/identifiers/User/kind", "Input should"),
        ({"subjects": [{"role": "witness", "identifiers": {"E": "email"}}]}, "/subjects/0/role", "Input should"),
        ({"media": [{"size": "Size"}]}, "/media/0", "at least one of md5"),
        ({"media": [{"crc": "CRC"}]}, "/media/0/crc", "Extra inputs are not permitted"),
        ({"dates": {"timezone": "Europe/Atlantis"}}, "/dates/timezone", "unknown time zone"),
        ({"encoding": "klingon"}, "/encoding", "unknown text encoding"),
        ({"encoding": "utf-16"}, "/encoding", "cannot be read line by line"),
        ({"delimiter": ";;"}, "/delimiter", "at most 1 character"),
    ],
)
def test_a_wrong_mapping_is_refused_naming_its_key(change: dict[str, Any], pointer: str, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        read(HEADER.encode(), mapping={**MAPPING, **change})
    assert list(caught.value.errors) == [f"/mapping{pointer}"]
    assert message in caught.value.errors[f"/mapping{pointer}"]
    assert caught.value.detail.startswith(f"column mapping, at {pointer}: ")


def test_a_named_encoding_is_used() -> None:
    m = {**MAPPING, "encoding": "cp1252", "delimiter": ";"}
    data = "Ref;Date received;Category;Reported e-mail;Reported phone;Country;MD5\nré-1;2026-11-03T10:00Z;Other;;;;\n"
    items = read(data.encode("cp1252"), mapping=m)
    assert items[0].report is not None and items[0].report.external_id == "ré-1"


# --- detection ----------------------------------------------------------------------------------


def test_sniff() -> None:
    ours = export([])
    assert CSV.sniff(ours, "export.bin") and CSV.sniff(ours[3:], "export") and CSV.sniff(b"a;b\n", "Sheet1.CSV")
    assert CSV.sniff(b"a,b\n", "reports.csv.gz")
    assert not CSV.sniff(HEADER.encode(), "reports.txt")  # someone else's layout needs the name or --format
    assert not CSV.sniff(b'{"incident_type": "other"}\n', "reports.csv")
    assert not CSV.sniff(b'[{"incident_type": "other"}]', "reports.json")
    assert not CSV.sniff(b'<?xml version="1.0"?><report/>', "report.csv")


# --- bad input ----------------------------------------------------------------------------------


def test_a_missing_mapped_column_is_named_before_any_row_is_read() -> None:
    data = (HEADER.replace(",Reported phone", "") + "r1,2026-11-03T10:00:00Z,Other,,,\n").encode()
    rows = CSV.read(io.BufferedReader(io.BytesIO(data)), ImportOptions(name="sheet.csv", mapping=MAPPING))
    with pytest.raises(Invalid, match=r"^sheet\.csv:1: the header lacks 'Reported phone'") as caught:
        next(rows)
    assert caught.value.errors == {
        "column 'Reported phone'": "named in the column mapping but not in the file's header"
    }


def test_latin1_bytes_in_a_utf8_file_are_refused_naming_file_and_line() -> None:
    good = "r{},2026-11-03T10:00:00Z,Other,,,,\n"
    with pytest.raises(Invalid, match=r"f\.csv:3: not UTF-8"):  # in the first 64 KiB: before any row
        read((HEADER + good.format(1) + "r2,2026-11-03T10:00:00Z,Caf\xe9,,,,\n").encode("latin-1"), mapping=MAPPING)
    rows = HEADER + "".join(good.format(i) for i in range(3000))  # past the first 64 KiB: found on the way
    seen: list[Item] = []
    with pytest.raises(Invalid, match=r"^f\.csv:3002: not utf-8 text"):
        seen.extend(
            CSV.read(
                io.BufferedReader(io.BytesIO((rows + "r,Caf\xe9\n").encode("latin-1"))),
                ImportOptions(name="f.csv", mapping=MAPPING),
            )
        )
    assert len(seen) == 3000


def test_a_row_with_an_invalid_phone_is_a_fault_and_the_others_are_accepted() -> None:
    items = hotline(
        "r1,2026-11-03T10:00:00Z,Grooming,a@example.org,+31 20 123 4567,NL,0123456789abcdef0123456789abcdef",
        "r2,2026-11-03T10:00:00Z,Grooming,b@example.org,12,NL,",
        "r3,2026-11-03T10:00:00Z,Other,,,,",
    )
    assert [i.line for i in items] == [2, 3, 4]
    assert [i.report is not None for i in items] == [True, False, True]
    assert items[1].faults == {"column 'Reported phone'": "not a phone number: (0) Missing or invalid default region."}
    accepted, rejected = sum(i.report is not None for i in items), sum(bool(i.faults) for i in items)
    assert accepted + rejected == 3


def test_a_quote_left_open_at_the_end_is_a_truncated_file() -> None:
    with pytest.raises(Invalid, match=r"^f\.csv:3: quoted cell not closed at the end of the file"):
        hotline("r1,2026-11-03T10:00:00Z,Other,,,,", 'r2,2026-11-03T10:00:00Z,Other,,,,"unfinished', "more")


def test_empty_and_header_only_files() -> None:
    with pytest.raises(Invalid, match=r"^f\.csv: empty file"):
        read(b"", mapping=MAPPING)
    with pytest.raises(Invalid, match=r"^f\.csv: empty file"):
        read(b"\xef\xbb\xbf\r\n\r\n")
    assert read(HEADER.encode(), mapping=MAPPING) == []
    assert read(export([])) == []


def test_an_over_long_row_is_refused_without_being_held() -> None:
    long = "r2,2026-11-03T10:00:00Z,Other," + "x" * 5000 + ",,,"
    items = hotline("r1,2026-11-03T10:00:00Z,Other,,,,", long, "r3,2026-11-03T10:00:00Z,Other,,,,")
    assert [i.line for i in items] == [2, 3, 4]  # within the default bound: read, and judged by the model
    assert items[1].faults == {"column 'Reported e-mail'": "String should have at most 2048 characters"}
    small = HEADER + "r1,2026-11-03T10:00:00Z,Other,,,,\n" + long + "\nr3,2026-11-03T10:00:00Z,Other,,,,\n"
    items = read(small.encode(), mapping=MAPPING, max_line_bytes=1000)
    assert [i.line for i in items] == [2, 3, 4]
    assert items[1].faults == {"": "row longer than 1,000 bytes"} and items[2].report is not None
    quoted = HEADER + 'r1,2026-11-03T10:00:00Z,Other,"' + "x\n" * 600 + '",,,\n'
    with pytest.raises(Invalid, match=r"^f\.csv:2: row longer than 1,000 bytes"):
        read(quoted.encode(), mapping=MAPPING, max_line_bytes=1000)


def test_a_cell_larger_than_csvs_default_field_limit_is_read() -> None:
    big = "r1,2026-11-03T10:00:00Z,Other,,,,\n".replace("r1", "r" * 250)  # over the model's 200: a fault, not a crash
    assert list(hotline(big.rstrip())[0].faults) == ["column 'Ref'"]
    head = ",".join(default_mapping().columns) + "\n"
    subjects = " | ".join(f"email=user{i}@example.org" for i in range(100))
    cell = "\n".join(f"suspect: {subjects}" for _ in range(60))  # about 170 KB in one cell
    items = read((head + f'r1,hotline,2026-11-03T10:00:00Z,other,,AMBER,,,"{cell}",\n').encode())
    assert items[0].report is not None and len(items[0].report.subjects) == 60
