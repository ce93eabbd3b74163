"""The FollowTheMoney entity stream: round trip, FtM's own schema checks, a partner-shaped file, and
the bad inputs every format must meet."""

from __future__ import annotations

import io
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from followthemoney import model
from followthemoney.cli.cli import cli as ftm_cli
from followthemoney.exc import InvalidData
from followthemoney.types import registry
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.errors import Invalid
from accord.intake.exporters import ftm as exporter_module
from accord.intake.exporters.ftm import REPORT_TAG, FtmExporter, check, new_entity, put
from accord.intake.formats import ExportContext, ImportOptions, Item
from accord.intake.importers import ftm as importer_module
from accord.intake.importers.ftm import FTM
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from tests.intake.strategies import report_doc, stored

CTX = ExportContext(org_id="org_x", org_name="Test Hotline", generated_at=datetime(2026, 11, 25, tzinfo=UTC))
EXAMPLE = Path(__file__).parent.parent / "data" / "formats" / "ftm" / "partner-entities.ftm.json"

# What the shared strategy leaves out and FtM handles differently: wallets, IBANs, card tokens and
# devices (no or other FtM homes), phones given with a region, MIME types FtM rewrites or drops,
# sub-second times, time zones, and an external id FtM's NFC cleaning would change.
_extra_identifier = st.sampled_from(
    [
        {
            "kind": "payment",
            "instrument": "wallet",
            "chain": "ethereum",
            "value": "0x52908400098527886E0F7030069857D2E4169EE7",
        },
        # a valid 74-character segwit v1 address (BIP-350), longer than FtM's 64-character cryptoAddress
        {
            "kind": "payment",
            "instrument": "wallet",
            "chain": "bitcoin",
            "value": "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        },
        {"kind": "payment", "instrument": "iban", "value": "NL91 ABNA 0417 1643 00"},
        {"kind": "payment", "instrument": "iban", "value": "DE89370400440532013000"},
        {"kind": "payment", "instrument": "card-token", "value": "tok_0001"},
        {"kind": "device", "value": "AA:BB:CC:00:11:22"},
        {"kind": "phone", "value": "020 1234567", "region": "NL"},
        {"kind": "account", "service": "platform-01", "value": "user", "handle": "two  spaces"},
        {"kind": "url", "value": "HTTPS://Files.Example.net/a?utm_source=x"},
    ]
)
_mime = st.sampled_from(
    ["image/jpeg", "image/jpg", "video/mp4", "audio/ogg", "application/octet-stream", "application/x-zip"]
)


def _enrich(
    doc: dict[str, Any], extra: list[dict[str, Any]], mimes: list[str], micro: int, tz: str | None, ext: str
) -> dict[str, Any]:
    doc = dict(doc)
    if extra:
        doc["subjects"] = [*doc["subjects"], {"role": "suspect", "identifiers": extra}]
    doc["media"] = [{**m, "mime": mime} for m, mime in zip(doc["media"], mimes, strict=False)] + doc["media"][
        len(mimes) :
    ]
    doc["received_at"] = doc["received_at"].replace("Z", f".{micro:06d}Z") if micro else doc["received_at"]
    if tz:
        doc["location"] = {**doc["location"], "timezone": tz}
    doc["external_id"] = ext or doc["external_id"]
    return doc


reports = st.builds(
    _enrich,
    report_doc,
    st.lists(_extra_identifier, max_size=5),
    st.lists(_mime, max_size=3),
    st.sampled_from([0, 0, 123456]),
    st.sampled_from([None, "Europe/Amsterdam"]),
    st.sampled_from(["", "ext-cafe\u0301"]),  # decomposed é: FtM would store it composed
).map(lambda d: parse_obj(ReportIn, d))


def export(rins: list[ReportIn]) -> bytes:
    out = io.BytesIO()
    assert FtmExporter().write([stored(r, i) for i, r in enumerate(rins)], out, CTX) == len(rins)
    return out.getvalue()


def read(data: bytes, **kw: Any) -> list[Item]:
    return list(FTM.read(io.BufferedReader(io.BytesIO(data)), ImportOptions(name="f.ftm.json", **kw)))


def lines(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines()]


def dump(entities: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in entities)


@settings(max_examples=80, deadline=None)
@given(st.lists(reports, min_size=1, max_size=4))
def test_export_then_import_gives_back_the_same_reports(rins: list[ReportIn]) -> None:
    items = read(export(rins))
    assert [i.faults for i in items] == [{}] * len(rins)
    assert [i.report for i in items] == rins


@settings(max_examples=40, deadline=None)
@given(st.lists(reports, min_size=1, max_size=3))
def test_every_exported_entity_passes_followthemoney_validation(rins: list[ReportIn]) -> None:
    data = export(rins)
    entities = lines(data)
    ids = [e["id"] for e in entities]
    assert len(set(ids)) == len(ids)
    for e in entities:
        schema = model.get(e["schema"])
        assert schema is not None and not schema.abstract
        assert schema.validate(e) is None
        assert all(e["properties"].get(p) for p in schema.required), e
        for name, values in e["properties"].items():
            prop = schema.get(name)
            assert prop is not None and not prop.stub, name
            if prop.type == registry.entity:
                assert set(values) <= set(ids), f"{e['id']}.{name} points outside the file"
        # FtM re-cleaning an untrusted copy changes and drops nothing: every value is already canonical
        assert model.get_proxy(e, cleaned=False).to_dict() == e
    assert export(rins) == data  # deterministic ids and order: a re-export is byte for byte the same


@settings(max_examples=40, deadline=None)
@given(reports)
def test_the_ftm_view_alone_carries_the_same_identifiers(rin: ReportIn) -> None:
    """Read as third-party data (the report tag removed), our entities give the subjects' identifiers
    back by FtM's own properties, except those FtM has no home for (device ids, card tokens)."""
    entities = lines(export([rin]))
    entities[0]["properties"]["keywords"].remove(REPORT_TAG)
    [item] = read(dump(entities))
    carried = [
        {
            i.key
            for i in s.identifiers
            if not (
                i.kind == "device" or i.instrument == "card-token" or (i.value.startswith("bc1") and len(i.value) > 64)
            )
        }
        for s in rin.subjects
    ]
    expected = [keys for keys in carried if keys]
    if not expected:
        assert item.report is None
        return
    assert item.report is not None, item.faults
    assert [{i.key for i in s.identifiers} for s in item.report.subjects] == expected
    handles = [" ".join(i.handle.split()) for s in rin.subjects for i in s.identifiers if i.handle]
    assert sorted(i.handle for s in item.report.subjects for i in s.identifiers if i.handle) == sorted(handles)
    assert item.report.received_at == rin.received_at.replace(microsecond=0)


def test_building_through_the_library_refuses_what_ftm_refuses() -> None:
    with pytest.raises(InvalidData):
        put(new_entity("Event", "x"), "bogus", "value")
    with pytest.raises(InvalidData):
        check(new_entity("LegalEntity", "x"))  # a LegalEntity needs a name
    nameless = new_entity("UserAccount", "y")
    assert put(nameless, "username", " ") is None  # an empty value is refused, not stored
    assert put(nameless, "username", "a  b") == "a  b" and check(nameless) is nameless


def test_partner_file_gives_the_exact_reports() -> None:
    items = read(EXAMPLE.read_bytes(), source="law-enforcement")
    person = {
        "role": "unknown",
        "identifiers": [
            {"kind": "email", "value": "person.one@example.org"},
            {"kind": "phone", "value": "+31201234567"},
            {"kind": "account", "service": "platform.example.net", "value": "user_4821", "handle": "@example_4821"},
            {"kind": "account", "service": "chat.example.org", "value": "4821-alt"},
            {"kind": "ip", "value": "198.18.4.21"},
            {
                "kind": "payment",
                "instrument": "wallet",
                "chain": "ethereum",
                "value": "0x52908400098527886E0F7030069857D2E4169EE7",
            },
        ],
    }
    recipient = {
        "role": "unknown",
        "identifiers": [
            {
                "kind": "payment",
                "instrument": "wallet",
                "chain": "ethereum",
                "value": "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
            }
        ],
    }
    first = {
        "external_id": "ex-person-1",
        "source": "law-enforcement",
        "received_at": "2026-03-02T14:05:00Z",  # the payment, the latest date in the group
        "incident_type": "other",
        "subjects": [person, recipient],
    }
    second = {
        "external_id": "ex-account-3",
        "source": "law-enforcement",
        "received_at": "2026-01-15T00:00:00Z",
        "incident_type": "other",
        "subjects": [
            {
                "role": "unknown",
                "identifiers": [{"kind": "account", "service": "forum.example.net", "value": "orphan_77"}],
            }
        ],
    }
    assert items == [
        Item(1, parse_obj(ReportIn, first), ref="ex-person-1"),
        Item(8, parse_obj(ReportIn, second), ref="ex-account-3"),
    ]
    assert [i.report.source for i in read(EXAMPLE.read_bytes()) if i.report] == ["partner", "partner"]


def test_sniff_claims_entity_streams_only() -> None:
    assert FTM.sniff(export([_simple()])[:65536], "x.ftm.json")
    assert FTM.sniff(b"\xef\xbb\xbf" + EXAMPLE.read_bytes(), "partner.json")
    assert FTM.sniff(b'{"schema": "Person", "properties": {"name": ["' + b"x" * 70000, "big.json")
    assert not FTM.sniff(
        b'{"source": "hotline", "incident_type": "other", "received_at": "2026-01-01T00:00:00Z"}\n', "r.ndjson"
    )
    assert not FTM.sniff(b'{"type": "bundle", "id": "bundle--1", "objects": []}', "b.json")
    assert not FTM.sniff(b'{"@context": {}, "@graph": [{"schema": 1}]}', "c.jsonld")
    assert not FTM.sniff(b"id,schema,properties\n", "x.csv")


def _simple(n: int = 0) -> ReportIn:
    return parse_obj(
        ReportIn,
        {
            "external_id": f"ext-{n}",
            "source": "hotline",
            "received_at": "2026-01-01T00:00:00Z",
            "incident_type": "grooming",
            "subjects": [
                {"role": "suspect", "identifiers": [{"kind": "account", "service": "platform-01", "value": f"u{n}"}]}
            ],
            "media": [{"md5": "0" * 31 + "1"}],
        },
    )


def _three() -> tuple[list[ReportIn], list[bytes]]:
    rins = [_simple(n) for n in range(3)]
    return rins, export(rins).splitlines(keepends=True)


def _counts(items: list[Item]) -> tuple[int, int]:
    return sum(i.report is not None for i in items), sum(i.report is None for i in items)


def test_a_line_that_is_not_json_rejects_the_report_it_is_in() -> None:
    rins, out = _three()
    assert len(out) == 12  # per report: Event, subject, account, media
    items = read(b"".join([*out[:5], b"not json\n", *out[5:]]))
    assert _counts(items) == (2, 1)  # accepted + rejected == reports
    assert [i.report for i in items] == [rins[0], None, rins[2]]
    assert "not JSON" in items[1].faults["line 6"] and items[1].line == 5


def test_an_entity_with_an_unknown_schema_rejects_its_report() -> None:
    _, out = _three()
    bad = orjson.dumps({"id": "x1", "schema": "Spaceship", "properties": {}}) + b"\n"
    items = read(b"".join([*out[:2], bad, *out[2:]]))
    assert _counts(items) == (2, 1) and items[0].report is None
    assert "unknown or abstract FtM schema 'Spaceship'" in items[0].faults["line 3"]


def test_a_property_not_in_the_schema_rejects_its_report() -> None:
    rins, out = _three()
    subject = orjson.loads(out[5])
    assert subject["schema"] == "LegalEntity"
    subject["properties"]["username"] = ["not-a-legal-entity-property"]
    items = read(b"".join([*out[:5], orjson.dumps(subject) + b"\n", *out[6:]]))
    assert [i.report for i in items] == [rins[0], None, rins[2]]
    assert "'username' is not a property of LegalEntity" in items[1].faults["line 6"]


def test_an_invalid_value_and_a_missing_part_are_faults() -> None:
    _, out = _three()
    subject = orjson.loads(out[5])
    subject["properties"]["email"] = ["not an address"]
    items = read(b"".join([*out[:5], orjson.dumps(subject) + b"\n", *out[6:]]))
    assert "not a valid email for email" in items[1].faults["line 6"]
    items = read(b"".join([*out[:5], *out[6:]]))  # the subject's line removed
    assert _counts(items) == (2, 1)
    assert "are missing" in items[1].faults["line 5"]


def test_an_entity_not_linked_to_the_report_is_refused() -> None:
    rins, out = _three()
    stray = orjson.dumps({"id": "x2", "schema": "Person", "properties": {"name": ["Someone Else"]}}) + b"\n"
    items = read(b"".join([*out, stray]))
    assert [i.report for i in items] == [rins[0], rins[1], None]
    assert "not linked to report Event" in items[2].faults["line 13"]


def test_a_truncated_last_line_rejects_only_the_last_report() -> None:
    rins, out = _three()
    items = read(b"".join(out)[:-40])
    assert [i.report for i in items] == [rins[0], rins[1], None]
    assert "truncated" in items[2].faults["line 12"]


def test_wrong_encoding_is_refused_with_the_file_named() -> None:
    with pytest.raises(Invalid, match=r"f\.ftm\.json: not UTF-8"):
        read(EXAMPLE.read_text().encode("utf-16"))
    with pytest.raises(Invalid, match=r"f\.ftm\.json:1: not UTF-8"):
        read(b'{"id": "x", "schema": "Person", "properties": {"name": ["\xe9"]}}\n' + b"x" * 100)


def test_a_line_over_the_limit_is_a_fault_without_being_held() -> None:
    rins, out = _three()
    items = read(b"".join([*out[:5], b"x" * 5000 + b"\n", *out[5:]]), max_line_bytes=2000)
    assert [i.report for i in items] == [rins[0], None, rins[2]]
    assert "longer than 2,000 bytes" in items[1].faults["line 6"]


def test_third_party_faults_each_count_once() -> None:
    data = EXAMPLE.read_bytes().splitlines(keepends=True)
    nodate = orjson.dumps(
        {"id": "ex-person-9", "schema": "Person", "properties": {"name": ["Nine"], "email": ["nine@example.org"]}}
    )
    unknown = orjson.dumps({"id": "ex-x", "schema": "Spaceship", "properties": {}})
    noservice = orjson.dumps(
        {"id": "ex-acc-9", "schema": "UserAccount", "properties": {"username": ["u9"], "createdAt": ["2026-01-01"]}}
    )
    items = read(b"".join([*data, b"not json\n", unknown + b"\n", nodate + b"\n", noservice + b"\n", b'{"id": "trunc']))
    assert [(i.line, i.report is not None) for i in items] == [
        (1, True), (8, True), (9, False), (10, False), (11, False), (12, False), (13, False)
    ]  # fmt: skip
    assert "not JSON" in items[2].faults[""] and "Spaceship" in items[3].faults[""]
    assert (
        items[4].faults == {"/received_at": items[4].faults["/received_at"]}
        and "ex-person-9" in items[4].faults["/received_at"]
    )
    assert items[5].ref == "ex-acc-9" and "service" in next(iter(items[5].faults.values()))
    assert "truncated" in items[6].faults[""]


def test_third_party_entities_are_bounded_and_fragments_merged() -> None:
    data = EXAMPLE.read_bytes()
    with pytest.raises(Invalid, match=r"f\.ftm\.json:\d+: third-party FtM entities .* more than 1,000 bytes"):
        read(data, max_document_bytes=1000)
    fragment = orjson.dumps(
        {
            "id": "ex-account-3",
            "schema": "UserAccount",
            "properties": {"email": ["orphan@example.net"], "modifiedAt": ["2027"]},
        }
    )
    items = read(data + fragment + b"\n")
    assert items[1].report is not None
    assert items[1].report.received_at == datetime(2026, 1, 15, tzinfo=UTC)  # a bare year says too little
    assert [i.value for i in items[1].report.subjects[0].identifiers] == ["orphan_77", "orphan@example.net"]


def test_an_accord_report_after_third_party_entities_keeps_file_order() -> None:
    rins, out = _three()
    items = read(EXAMPLE.read_bytes() + b"".join(out))
    assert [i.line for i in items] == [1, 8, 9, 13, 17]
    assert [i.report for i in items[2:]] == rins


def test_registered_through_the_hooks() -> None:
    assert importer_module.accord_importers() == [FTM]
    assert [e.name for e in exporter_module.accord_exporters()] == ["ftm"]


@settings(max_examples=15, deadline=None)
@given(st.lists(reports, min_size=1, max_size=3))
def test_the_ftm_tools_read_and_pass_on_our_export(rins: list[ReportIn]) -> None:
    """`ftm validate` (re-parses every value untrusted) then `ftm aggregate`: what comes out still
    imports as the same reports."""
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp, "a.ftm.json"), Path(tmp, "b.ftm.json")
        a.write_bytes(export(rins))
        for command in ("validate", "aggregate"):
            result = CliRunner().invoke(ftm_cli, [command, "-i", str(a), "-o", str(b)], catch_exceptions=False)
            assert result.exit_code == 0, result.output
            b.replace(a)
        assert [i.report for i in read(a.read_bytes())] == rins
