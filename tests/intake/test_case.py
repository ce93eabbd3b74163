"""CASE/UCO JSON-LD: round trip, conformance with case_validate (the CASE reference validator), a
partner-shaped investigation, the third-party rules, detection, the bad-input cases, the fast reader
(plain JSON-LD streamed into a spill) held to rdflib's JSON-LD parser, past every bound it keeps, and
its memory flat whatever the document's size."""

from __future__ import annotations

import io
import re
import socket
import tracemalloc
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from rdflib import Literal

from accord.errors import Invalid, PayloadTooLarge
from accord.intake import jsonparts, spill
from accord.intake.exporters import case as case_exporter
from accord.intake.exporters.case import CaseExporter
from accord.intake.formats import ExportContext, Exporter, Importer, ImportOptions, Item
from accord.intake.importers import case as case_importer
from accord.intake.importers.case import CASE, CaseImporter
from accord.intake.jsonld import document, plain, read_graph
from accord.intake.jsonld.literal import lexical
from accord.intake.jsonld.plain import PlainGraph
from accord.intake.jsonld.rdflib_reader import RdfGraph
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from tests.intake.strategies import report_in, stored

DATA = Path(__file__).parent.parent / "data" / "formats" / "case"
CTX = ExportContext(org_id="org_x", org_name="Test Hotline", generated_at=datetime(2026, 11, 25, tzinfo=UTC))
F = TypeVar("F", bound=Callable[..., Any])

# Every field and identifier kind, including those the strategies do not draw (device, payment, region, IPv6).
RICH = {
    "external_id": "ext-rich-1",
    "source": "hotline",
    "received_at": "2026-01-01T10:00:00Z",
    "incident_type": "grooming",
    "urgency": ["recent", "imminent-danger"],
    "marking": "AMBER+STRICT",
    "location": {"country": "NL", "timezone": "Europe/Amsterdam"},
    "subjects": [
        {
            "role": "suspect",
            "identifiers": [
                {"kind": "account", "service": "platform-01", "value": "u1", "handle": "h1"},
                {"kind": "account", "service": "platform-01", "value": "u2"},
                {"kind": "email", "value": "a@example.org"},
                {"kind": "phone", "value": "020 123 4567", "region": "NL"},
                {"kind": "ip", "value": "198.18.0.1", "port": 443, "seen_at": "2026-01-01T09:00:00Z"},
                {"kind": "ip", "value": "198.18.0.2", "port": 0},
                {"kind": "ip", "value": "2001:db8::1"},
                {"kind": "url", "value": "https://files.example.net/x"},
                {"kind": "device", "value": "AA:BB:CC:DD:EE:FF"},
                {"kind": "payment", "instrument": "wallet", "chain": "ethereum", "value": "0x" + "ab" * 20},
                {"kind": "payment", "instrument": "iban", "value": "NL91ABNA0417164300"},
                {"kind": "payment", "instrument": "card-token", "value": "tok_0001"},
            ],
        },
        {"role": "unknown", "identifiers": [{"kind": "email", "value": "b@example.org"}]},
    ],
    "media": [
        {"md5": "0" * 32, "sha256": "1" * 64, "pdq": "2" * 64, "pdq_quality": 90, "size": 12, "mime": "image/jpeg"},
        {"sha256": "3" * 64},
        {"md5": "4" * 32, "pdq_quality": 0, "size": 0},
    ],
}
PLAIN = {"source": "platform", "received_at": "2026-02-01T10:00:00Z", "incident_type": "other"}


def _plain(n: int) -> list[ReportIn]:
    return [parse_obj(ReportIn, {**PLAIN, "external_id": f"p{i}"}) for i in range(n)]


def library_warnings(test: F) -> F:
    """case_utils loads its ontology through importlib.resources' legacy API, and rdflib's JSON-LD
    parser (which case_validate calls on a .jsonld file) builds a deprecated ConjunctiveGraph: both are
    the libraries' own DeprecationWarnings, and nothing on our side avoids them."""
    for text in ("ConjunctiveGraph is deprecated", "is_resource is deprecated", "read_text is deprecated"):
        test = pytest.mark.filterwarnings(f"ignore:{text}:DeprecationWarning")(test)
    return pytest.mark.filterwarnings("ignore:open_text is deprecated:DeprecationWarning")(test)


def export(reports: list[ReportIn], context: ExportContext = CTX, first: int = 0) -> bytes:
    out = io.BytesIO()
    assert CaseExporter().write([stored(r, first + i) for i, r in enumerate(reports)], out, context) == len(reports)
    return out.getvalue()


def read(data: bytes, importer: CaseImporter = CASE, **kw: Any) -> list[Item]:
    return list(importer.read(io.BufferedReader(io.BytesIO(data)), ImportOptions(name="f.jsonld", **kw)))  # type: ignore[arg-type]


RDFLIB = CaseImporter(fast=False)  # always rdflib's JSON-LD parser: the reference for the fast reader


def conforms(tmp_path: Path, *docs: bytes) -> str | None:
    """None when case_validate finds the documents (pooled in one graph) conformant, else its report."""
    from case_utils.case_validate import validate

    paths = []
    for i, doc in enumerate(docs):
        paths.append(str(tmp_path / f"doc{i}.jsonld"))
        Path(paths[-1]).write_bytes(doc)
    result = validate(paths)
    return None if result.conforms else str(result.text)


@settings(max_examples=40, deadline=None)
@given(st.lists(report_in, min_size=1, max_size=4))
def test_export_then_import_gives_back_the_same_reports(reports: list[ReportIn]) -> None:
    items = read(export(reports))
    assert [i.report for i in items] == reports
    assert [i.line for i in items] == list(range(1, len(reports) + 1))


def test_every_field_and_identifier_kind_round_trips() -> None:
    reports = [parse_obj(ReportIn, RICH), parse_obj(ReportIn, PLAIN)]
    items = read(export(reports))
    assert [i.report for i in items] == reports
    assert all(i.ref and re.fullmatch(r"urn:accord:kb:accord-ProvenanceRecord-[0-9a-f-]{36}", i.ref) for i in items)


def test_export_is_deterministic_and_every_node_iri_ends_in_a_uuid() -> None:
    reports = [parse_obj(ReportIn, RICH)]
    doc = export(reports)
    assert doc == export(reports)
    ids = re.findall(rb'"@id": "([^"]+)"', doc)
    uuid = rb"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert ids and all(re.fullmatch(rb"kb:accord-[A-Za-z0-9]+-" + uuid, i) for i in ids)
    graph = orjson.loads(doc)["@graph"]
    assert len({n["@id"] for n in graph}) == len(graph)  # shared nodes (application, marking) written once


@library_warnings
@settings(max_examples=2, deadline=None, phases=[Phase.generate])  # a validation takes seconds: no shrinking
@given(st.lists(st.lists(report_in, min_size=1, max_size=3), min_size=2, max_size=2))
def test_exported_documents_conform_to_case(
    tmp_path_factory: pytest.TempPathFactory, drawn: list[list[ReportIn]]
) -> None:
    """A few documents, pooled into one validation (each validation loads the whole ontology); the
    report ids differ across them, as stored reports' do."""
    docs = [export([parse_obj(ReportIn, RICH), parse_obj(ReportIn, PLAIN)])]
    docs += [
        export(reports, ExportContext("org_y", "Other", datetime(2026, 1, n + 1, tzinfo=UTC), "agr-1"), 100 * (n + 1))
        for n, reports in enumerate(drawn)
    ]
    assert conforms(tmp_path_factory.mktemp("case"), *docs) is None


@library_warnings
def test_case_validate_refuses_pdq_as_a_hash_method(tmp_path: Path) -> None:
    """Why PDQ is a drafting: property: HashNameVocab has no PDQ, and case_validate fails the document."""
    doc = export([parse_obj(ReportIn, RICH)])
    assert b"drafting:pdq" in doc and b'"PDQ"' not in doc
    bad = doc.replace(b'"uco-types:hashMethod": "MD5"', b'"uco-types:hashMethod": "PDQ"', 1)
    assert "HashNameVocab" in (conforms(tmp_path, bad) or "")


PARTNER = ReportIn(
    external_id="http://example.org/kb/provenance-record-c54de63b-65fc-51c1-beed-8817eefaf079",
    source="partner",
    received_at=datetime(2026, 3, 14, 8, 26, 53, tzinfo=UTC),
    incident_type="other",
    marking="GREEN",
    subjects=[
        {"role": "unknown", "identifiers": [{"kind": "email", "value": "sender.0117@example.org"}]},
        {
            "role": "unknown",
            "identifiers": [
                {"kind": "account", "service": "examplechat", "value": "100200300", "handle": "chat_user_0117"}
            ],
        },
        {
            "role": "unknown",
            "identifiers": [
                {
                    "kind": "ip",
                    "value": "198.18.4.20",
                    "port": 51234,
                    "seen_at": datetime(2026, 3, 13, 22, 41, 7, tzinfo=UTC),
                }
            ],
        },
    ],
    media=[
        {
            "md5": "9e107d9d372bb6826bd81d3542a419d6",
            "sha256": "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
            "size": 48213,
            "mime": "image/jpeg",
        }
    ],
    narrative="Referral received from a partner platform.",
)


def test_partner_investigation_file() -> None:
    items = read((DATA / "partner-investigation.jsonld").read_bytes())
    assert items == [Item(1, PARTNER, {}, PARTNER.external_id)]


def test_partner_investigation_takes_the_source_option() -> None:
    (item,) = read((DATA / "partner-investigation.jsonld").read_bytes(), source="hotline")
    assert item.report is not None and item.report.source == "hotline"


@library_warnings
def test_partner_investigation_file_is_itself_valid_case(tmp_path: Path) -> None:
    assert conforms(tmp_path, (DATA / "partner-investigation.jsonld").read_bytes()) is None


def _graph(*nodes: dict[str, Any], context: Any = None) -> bytes:
    return orjson.dumps({"@context": context or case_exporter.CONTEXT, "@graph": list(nodes)})


def _action(n: int, *results: str, start: str | None = "2026-05-01T12:00:00Z", **more: Any) -> dict[str, Any]:
    node = {"@id": f"kb:action-{n}", "@type": "case-investigation:InvestigativeAction", **more}
    if start:
        node["uco-action:startTime"] = {"@type": "xsd:dateTime", "@value": start}
    if results:
        node["uco-action:result"] = [{"@id": r} for r in results]
    return node


def _record(n: int, *objects: str) -> dict[str, Any]:
    return {
        "@id": f"kb:record-{n}",
        "@type": "case-investigation:ProvenanceRecord",
        "uco-core:object": [{"@id": o} for o in objects],
    }


_EMAIL = {
    "@id": "kb:email-1",
    "@type": "uco-observable:EmailAddress",
    "uco-core:hasFacet": {
        "@id": "kb:email-facet-1",
        "@type": "uco-observable:EmailAddressFacet",
        "uco-observable:addressValue": "x@example.org",
    },
}


def test_reports_in_document_order_with_their_faults() -> None:
    """Records come in the order their IRIs first appear; one with no timed action is a fault naming
    it; an action with no record is a report of its own objects; every report node is an item."""
    doc = _graph(
        _record(2, "kb:email-1"),  # first in the file, produced by nothing: no time
        _action(1, "kb:record-1"),
        _record(1, "kb:email-1"),
        _action(
            3,
            "kb:email-1",
            start=None,
            **{"uco-action:endTime": {"@type": "xsd:dateTime", "@value": "2026-05-02T00:00:00Z"}},
        ),
        _EMAIL,
    )
    items = read(doc)
    assert [(i.line, i.ref) for i in items] == [
        (1, "urn:accord:kb:record-2"),
        (2, "urn:accord:kb:record-1"),  # placed where action-1 first names it
        (3, "urn:accord:kb:action-3"),
    ]
    assert items[0].report is None and "urn:accord:kb:record-2" in items[0].faults["/received_at"]
    assert items[1].report is not None and items[1].report.external_id == "urn:accord:kb:record-1"
    assert items[1].report.subjects[0].identifiers[0].value == "x@example.org"
    assert items[2].report is not None and items[2].report.received_at == datetime(2026, 5, 2, tzinfo=UTC)
    assert items[2].report.subjects[0].identifiers[0].value == "x@example.org"


def test_a_fault_names_the_node_it_came_from() -> None:
    account = {
        "@id": "kb:account-1",
        "@type": "uco-observable:ApplicationAccount",
        "uco-core:hasFacet": {
            "@id": "kb:af-1",
            "@type": "uco-observable:AccountFacet",
            "uco-observable:accountIdentifier": "42",
        },
    }
    hash_ = {"@type": "uco-types:Hash", "uco-types:hashMethod": "MD5"}
    file = {
        "@id": "kb:file-1",
        "@type": "uco-observable:File",
        "uco-core:hasFacet": {
            "@id": "kb:cdf-1",
            "@type": "uco-observable:ContentDataFacet",
            "uco-observable:hash": [
                {**hash_, "@id": "kb:h-1", "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": "0" * 32}},
                {**hash_, "@id": "kb:h-2", "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": "1" * 32}},
            ],
        },
    }
    (no_service,) = read(_graph(_action(1, "kb:record-1"), _record(1, "kb:account-1"), account))
    assert no_service.faults == {
        "/subjects/0/identifiers/0": "an account needs its service (at <urn:accord:kb:account-1>)"
    }
    (two_md5,) = read(_graph(_action(1, "kb:record-1"), _record(1, "kb:file-1"), file))
    assert "two different MD5 hashes" in two_md5.faults["/media/0"] and "kb:file-1" in two_md5.faults["/media/0"]


def test_unusable_observables_are_skipped_and_an_empty_export_is_empty() -> None:
    tool = {"@id": "kb:tool-1", "@type": "uco-observable:Software", "uco-core:hasFacet": []}
    (item,) = read(_graph(_action(1, "kb:record-1"), _record(1, "kb:tool-1"), tool))
    assert item.report is not None and item.report.subjects == [] and item.report.media == []
    assert read(export([])) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"@context": {}, "@graph": [', "truncated or malformed JSON"),
        (b"\x00\x01garbage", "not UTF-8"),
        (orjson.dumps({"source": "hotline", "incident_type": "other"}), "not a JSON-LD document"),
        (orjson.dumps([{"@context": {}}]), "not a JSON-LD document"),
        (
            orjson.dumps({"@context": {"s": "https://schema.org/"}, "@id": "https://example.org/p", "s:name": "p"}),
            "no CASE/UCO terms",
        ),
        (_graph(_EMAIL), "no ProvenanceRecord or InvestigativeAction"),
        (_graph({"@id": "kb:x", "bad": 1}, context={**case_exporter.CONTEXT, "bad": {"@id": 5}}), "not valid JSON-LD"),
    ],
)
@pytest.mark.parametrize("importer", [CASE, RDFLIB], ids=["fast", "rdflib"])
def test_bad_documents_are_refused_whole_naming_the_file(data: bytes, message: str, importer: CaseImporter) -> None:
    with pytest.raises(
        Invalid, match=re.escape(f"f.jsonld: {message}") if message != "not UTF-8" else "f.jsonld: not UTF-8"
    ):
        read(data, importer)


def test_truncated_export_is_refused() -> None:
    doc = export([parse_obj(ReportIn, RICH)])
    for cut in (len(doc) // 2, len(doc) - 3):
        with pytest.raises(Invalid, match=r"f\.jsonld: truncated or malformed JSON"):
            read(doc[:cut])


def test_wrong_encodings_are_refused() -> None:
    doc = export([parse_obj(ReportIn, PLAIN)]).decode()
    with pytest.raises(Invalid, match=r"f\.jsonld: not UTF-8"):
        read(doc.encode("utf-16"))
    latin1 = doc.replace('"Test Hotline"', '"Test Hotline \u00e9"').encode("latin-1")
    with pytest.raises(Invalid, match=r"f\.jsonld:\d+: not UTF-8"):
        read(latin1)
    assert read(b"\xef\xbb\xbf" + doc.encode())[0].report == parse_obj(ReportIn, PLAIN)  # a UTF-8 BOM is fine


def test_a_plain_document_is_not_bounded_by_the_document_limit_but_each_element_is() -> None:
    """The plain reader streams: a document several times the limit imports; the limit holds for each
    of its elements, and for the whole of a document that goes to rdflib (held in memory)."""
    reports = [parse_obj(ReportIn, RICH), *_plain(20)]
    doc = export(reports)
    limit = len(doc) // 5
    assert [i.report for i in read(doc, max_document_bytes=limit)] == reports
    for importer in (RDFLIB, CASE):
        outside = doc.replace(b'"@context": {', b'"@context": {"@language": "en", ', 1) if importer is CASE else doc
        with pytest.raises(PayloadTooLarge, match=rf"f\.jsonld: document larger than {limit:,} bytes"):
            read(outside, importer, max_document_bytes=limit)
    huge = _graph(_action(1, **{"uco-core:description": "x" * (300 << 10)}))  # counted in 64 KiB reads
    with pytest.raises(Invalid, match=r"f\.jsonld: element 1 of @graph is larger than 1,000 bytes"):
        read(huge, max_document_bytes=1000)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records (and blocks) any attempt to open a connection or a URL."""
    tries: list[object] = []

    def refuse(*args: object, **kw: object) -> None:
        tries.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return tries


@pytest.mark.parametrize(
    "doc",
    [
        {"@context": "https://example.org/case-context.jsonld", "@graph": []},
        {"@context": ["https://example.org/case-context.jsonld", case_exporter.CONTEXT], "@graph": []},
        {"@context": {"@import": "https://example.org/ctx.jsonld"}, "@graph": []},
        {"@context": case_exporter.CONTEXT, "@graph": [{"@id": "kb:x", "@context": "http://example.net/c"}]},
        {"@context": {**case_exporter.CONTEXT, "t": {"@id": "kb:t", "@context": "https://example.org/scoped"}}},
    ],
)
@pytest.mark.parametrize("importer", [CASE, RDFLIB], ids=["fast", "rdflib"])
def test_remote_contexts_are_refused_without_touching_the_network(
    no_network: list[object], doc: Any, importer: CaseImporter
) -> None:
    with pytest.raises(Invalid, match=r"f\.jsonld: (remote JSON-LD context|JSON-LD @import).*refused"):
        read(orjson.dumps(doc), importer)
    assert no_network == []


def test_an_export_imports_without_the_network(no_network: list[object]) -> None:
    assert read(export([parse_obj(ReportIn, RICH)]))[0].report == parse_obj(ReportIn, RICH)
    assert no_network == []


def test_sniff_claims_case_and_nothing_else() -> None:
    assert CASE.sniff(export([parse_obj(ReportIn, PLAIN)])[:65536], "x")
    assert CASE.sniff((DATA / "partner-investigation.jsonld").read_bytes()[:65536], "partner.json")
    assert not CASE.sniff(orjson.dumps(RICH), "r.json")  # native
    assert not CASE.sniff(b'{"type": "bundle", "id": "bundle--1", "objects": []}', "s.json")  # STIX
    assert not CASE.sniff(b'{"@context": "https://schema.org/", "@type": "Person"}', "p.jsonld")  # other JSON-LD
    assert not CASE.sniff(b"@prefix uco-core: <https://ontology.unifiedcyberontology.org/uco/core/> .", "x.ttl")


def test_registered_through_the_plugin_hooks() -> None:
    (importer,) = case_importer.accord_importers()
    (exporter,) = case_exporter.accord_exporters()
    assert isinstance(importer, Importer) and importer.name == "case"
    assert isinstance(exporter, Exporter) and exporter.name == "case" and exporter.suffix == ".jsonld"


# The fast reader (plain JSON-LD read as JSON) against rdflib's JSON-LD parser.

ODD = {
    "@context": {
        **case_exporter.CONTEXT,
        "name": "https://ontology.unifiedcyberontology.org/uco/core/name",
        "Action": "https://ontology.caseontology.org/case/investigation/InvestigativeAction",
        "opaque": "http://example.org/no-delimiter",  # a term, but not usable as a prefix
    },
    "@graph": [
        {
            "@id": "_:act",  # a blank report node: no external id
            "@type": ["Action"],
            "uco-action:startTime": [
                {"@type": "xsd:dateTime", "@value": "2026-06-01T00:00:00Z"},
                {"@value": "2026-05-01T12:00:00.500000+02:00", "@type": "xsd:dateTime"},
            ],
            "uco-core:description": ["second", "first"],
            "uco-action:object": [
                {
                    "@type": "uco-observable:EmailAddress",
                    "uco-core:hasFacet": {
                        "@type": "uco-observable:EmailAddressFacet",
                        "uco-observable:addressValue": "blank@example.org",
                    },
                },
                {"@id": "http://example.org/kb/account-1"},
                [[{"@id": "kb:file-1"}]],
                None,
                5,
                True,
                1.5,
                "kb:not-a-reference",
                {"@value": None},
            ],
        },
        {
            "@id": "http://example.org/kb/account-1",
            "@type": "uco-observable:ApplicationAccount",
            "uco-core:hasFacet": [
                {
                    "@id": "_:af",
                    "@type": "uco-observable:AccountFacet",
                    "uco-observable:accountIdentifier": 42,
                    "uco-observable:isActive": False,
                    "uco-observable:accountIssuer": {"@id": "_:issuer"},
                }
            ],
        },
        {"@id": "_:issuer", "name": "platform-x", "opaque:x": "kept as the IRI opaque:x"},
        {
            "@id": "kb:file-1",
            "https://ontology.unifiedcyberontology.org/uco/core/hasFacet": {
                "@type": "https://ontology.unifiedcyberontology.org/uco/observable/ContentDataFacet",
                "uco-observable:sizeInBytes": {"@value": "0012", "@type": "xsd:integer"},
                "uco-observable:hash": {
                    "@type": "uco-types:Hash",
                    "uco-types:hashMethod": "SHA-256",
                    "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": "AB" * 32},
                },
            },
        },
        {"@id": "kb:file-1", "@type": "uco-observable:File"},  # a node described twice
        {
            "@id": "kb:record-x",
            "@type": "case-investigation:ProvenanceRecord",
            "drafting:urgency": {"@list": ["recent", None]},
            "uco-core:object": {"@list": []},
        },
        {
            "@id": "kb:action-2",
            "@type": "Action",
            "uco-action:endTime": {"@value": "2026-01-01T00:00:00+00:00"},
            "uco-action:result": {"@id": "kb:record-x"},
        },
    ],
}


def _reader(data: bytes) -> type:
    """Which reader takes the document."""
    with read_graph(io.BytesIO(data), ImportOptions(name="f.jsonld"), case_importer._WATCH) as graph:
        return type(graph)


def _fast_and_rdflib(data: bytes) -> tuple[list[Item], list[Item]]:
    """Both readers' items; the document must be one the fast reader takes."""
    assert _reader(data) is PlainGraph
    return read(data), read(data, RDFLIB)


@settings(max_examples=30, deadline=None)
@given(st.lists(report_in, min_size=1, max_size=4))
def test_fast_and_rdflib_readers_agree_on_exports(reports: list[ReportIn]) -> None:
    fast, slow = _fast_and_rdflib(export(reports))
    assert fast == slow
    assert [i.report for i in fast] == reports


@pytest.mark.parametrize(
    "data",
    [
        (DATA / "partner-investigation.jsonld").read_bytes(),
        orjson.dumps(ODD),
        export([parse_obj(ReportIn, RICH), parse_obj(ReportIn, PLAIN)]),
        _graph(_record(2, "kb:email-1"), _action(1, "kb:record-1"), _record(1, "kb:email-1"), _action(3), _EMAIL),
        _graph(_action(1, "kb:record-1"), {**_record(1, "kb:email-1"), "drafting:urgency": "recent"}, _EMAIL),
    ],
    ids=["partner", "odd", "rich", "faults", "urgency-not-a-list"],
)
def test_fast_and_rdflib_readers_agree(data: bytes) -> None:
    fast, slow = _fast_and_rdflib(data)
    assert fast == slow and fast


def test_what_the_fast_reader_makes_of_plain_json_ld() -> None:
    """The odd document's values, as rdflib gives them too: typed literals normalised (``0012`` is 12),
    the smallest start time, a JSON number as an account id, a blank node named by its label and
    placed after the named ones, an RDF list."""
    act, record = read(orjson.dumps(ODD))
    assert (act.ref, record.ref) == ("act", "urn:accord:kb:record-x")
    assert act.report is not None and act.report.external_id is None
    assert act.report.received_at == datetime(2026, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert act.report.narrative == "first"
    assert [s.identifiers[0].value for s in act.report.subjects] == ["42", "blank@example.org"]
    assert act.report.subjects[0].identifiers[0].service == "platform-x"
    assert [(m.sha256, m.size) for m in act.report.media] == [("ab" * 32, 12)]
    assert record.report is not None and record.report.urgency == ["recent"]
    assert record.report.received_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert record.report.subjects == [] and record.report.external_id == "urn:accord:kb:record-x"


def test_our_exports_and_the_partner_file_take_the_fast_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_rdflib(doc: Any, name: str) -> None:
        raise AssertionError("rdflib's JSON-LD parser was used")

    monkeypatch.setattr(document, "parse", no_rdflib)
    reports = [parse_obj(ReportIn, RICH), parse_obj(ReportIn, PLAIN)]
    assert [i.report for i in read(export(reports))] == reports
    assert read((DATA / "partner-investigation.jsonld").read_bytes()) == [Item(1, PARTNER, {}, PARTNER.external_id)]


def _partner(change: Callable[[dict[str, Any]], None]) -> bytes:
    doc = orjson.loads((DATA / "partner-investigation.jsonld").read_bytes())
    change(doc)
    return orjson.dumps(doc)


def _record_node(doc: dict[str, Any]) -> dict[str, Any]:
    return next(n for n in doc["@graph"] if n["@type"] == "case-investigation:ProvenanceRecord")


def _coerce_marking(doc: dict[str, Any]) -> None:
    doc["@context"]["uco-core:objectMarking"] = {"@type": "@id"}
    record = _record_node(doc)
    record["uco-core:objectMarking"] = record["uco-core:objectMarking"]["@id"]  # a plain string, made an IRI


def _language(doc: dict[str, Any]) -> None:
    record = _record_node(doc)
    record["uco-core:description"] = {"@value": record["uco-core:description"], "@language": "en"}


@pytest.mark.parametrize(
    "change",
    [
        lambda doc: doc["@context"].update({"@vocab": "http://example.org/vocab#"}),
        lambda doc: doc.update({"@context": [doc["@context"]]}),
        lambda doc: doc["@context"].update({"@language": "en"}),
        _coerce_marking,
        _language,
        lambda doc: _record_node(doc).update({"@context": {"ex": "http://example.org/ns#"}}),
        lambda doc: doc["@graph"].append({"@id": "kb:x", "@reverse": {"uco-core:object": {"@id": "kb:y"}}}),
        lambda doc: doc["@graph"].append({"@id": "kb:x", "uco-core:tag": {"@value": "x", "@direction": "ltr"}}),
    ],
    ids=["vocab", "context-list", "context-language", "coercion", "language", "node-context", "reverse", "direction"],
)
def test_documents_outside_the_plain_subset_go_to_rdflib_and_still_import(change: Callable[[Any], None]) -> None:
    data = _partner(change)
    assert _reader(data) is RdfGraph
    assert read(data) == read(data, RDFLIB) == [Item(1, PARTNER, {}, PARTNER.external_id)]


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.datetimes(timezones=st.one_of(st.none(), st.just(UTC))).map(lambda d: d.isoformat()),
        st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z")),
        st.text(alphabet="0123456789-T:.+Z", max_size=30),
    ),
    st.text(alphabet="0123456789abcdefABCDEFxyz ", max_size=12),
)
@pytest.mark.filterwarnings("ignore::UserWarning")  # rdflib's Literal warns on some ill-formed values
def test_literal_texts_are_rdflibs(when: str, hex_: str) -> None:
    """The fast reader normalises xsd:dateTime and xsd:hexBinary itself; rdflib's Literal is the rule."""
    xsd = "http://www.w3.org/2001/XMLSchema#"
    for value, datatype in ((when, xsd + "dateTime"), (hex_, xsd + "hexBinary")):
        assert lexical(value, datatype) == str(Literal(value, datatype=datatype))


def test_a_truncated_export_is_refused_whichever_way_it_is_cut_before_any_item() -> None:
    doc = export(
        [parse_obj(ReportIn, RICH), *(parse_obj(ReportIn, {**PLAIN, "external_id": f"p{i}"}) for i in range(5))]
    )
    cuts = [m.start() + 1 for m in re.finditer(b"\n{", doc)]
    for cut in [*cuts, cuts[-1] + 10, len(doc) - 2]:  # the last one leaves out the closing "}"
        items = CASE.read(io.BufferedReader(io.BytesIO(doc[:cut])), ImportOptions(name="f.jsonld"))  # type: ignore[arg-type]
        with pytest.raises(Invalid, match=r"f\.jsonld: truncated or malformed JSON"):
            next(items)  # the first item: nothing is given out of a document that does not end


def test_blank_nodes_keep_document_order_in_the_fast_reader() -> None:
    """Nodes without an @id come after the named ones; rdflib orders them among themselves by random
    labels, the fast reader by their place in the file."""

    def address(n: int) -> dict[str, Any]:
        facet = {"@type": "uco-observable:EmailAddressFacet", "uco-observable:addressValue": f"b{n}@example.org"}
        return {"@type": "uco-observable:EmailAddress", "uco-core:hasFacet": facet}

    objects = [address(n) for n in (3, 1, 2)] + [{"@id": "kb:email-1"}]
    (item,) = read(_graph(_action(1, start="2026-05-01T12:00:00Z", **{"uco-action:object": objects}), _EMAIL))
    assert item.report is not None
    values = [s.identifiers[0].value for s in item.report.subjects]
    assert values == ["x@example.org", "b3@example.org", "b1@example.org", "b2@example.org"]


# The plain reader streams the document into a spill: what it keeps in memory is bounded.


def _reordered(doc: bytes) -> bytes:
    """The same document with its @context after its @graph."""
    parsed = orjson.loads(doc)
    return orjson.dumps({"@graph": parsed["@graph"], "@context": parsed["@context"]})


def test_a_context_after_the_graph_is_read_all_the_same() -> None:
    reports = [parse_obj(ReportIn, RICH), parse_obj(ReportIn, PLAIN)]
    data = _reordered(export(reports))
    assert _reader(data) is PlainGraph
    assert [i.report for i in read(data)] == reports
    partner = _reordered((DATA / "partner-investigation.jsonld").read_bytes())
    assert read(partner) == read(partner, RDFLIB) == [Item(1, PARTNER, {}, PARTNER.external_id)]


@pytest.fixture
def small_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every bound on what the plain reader holds made small, so that a test document goes past all
    of them: few keys remembered (and a small Bloom filter, often wrong), a narrow read-ahead window,
    small caches, runs of the document, parts of a node, and the spill's batches of rows to write."""
    for module, name, value in [
        (plain, "_RECENT", 8),
        (plain, "_BITS", (1 << 16) - 1),
        (plain, "_AHEAD", 16),
        (plain, "_BEHIND", 16),
        (plain, "_NODES", 16),
        (plain, "_PART", 16),
        (plain, "_CHECKED", 4),
        (document, "_SPILL_CACHE", 16),
        (jsonparts, "_CHUNK", 2048),
        (jsonparts, "_READ", 1024),
        (spill, "_BATCH", 16),
    ]:
        monkeypatch.setattr(module, name, value)


@pytest.mark.usefixtures("small_memory")
@pytest.mark.parametrize(
    "data",
    [
        export(
            [parse_obj(ReportIn, RICH), *(parse_obj(ReportIn, {**PLAIN, "external_id": f"p{i}"}) for i in range(30))]
        ),
        (DATA / "partner-investigation.jsonld").read_bytes(),
        orjson.dumps(ODD),
        _reordered(export([parse_obj(ReportIn, RICH), parse_obj(ReportIn, PLAIN)])),
    ],
    ids=["export", "partner", "odd", "context-last"],
)
def test_the_bounds_change_nothing_read(data: bytes) -> None:
    """Past every bound (a node looked up outside the window, a position only the spill knows, a bundle
    written in parts), the fast reader still gives what rdflib gives."""
    fast, slow = _fast_and_rdflib(data)
    assert fast == slow and fast


def _peak(data: bytes) -> int:
    tracemalloc.start()
    try:
        for _ in CASE.read(io.BufferedReader(io.BytesIO(data)), ImportOptions(name="f.jsonld")):  # type: ignore[arg-type]
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.usefixtures("small_memory")
def test_memory_does_not_grow_with_the_document() -> None:
    """What Python holds at the peak, reading 50 and 250 reports with the bounds made small: about the
    same (the export's bundle, which lists every report, grows with it and is read a member and an
    item at a time). A report's worth of rows kept for each would make it twice as much."""
    small, large = (export(_plain(n)) for n in (50, 250))
    _peak(small)  # imports and first-use caches out of the way
    ratio = _peak(large) / _peak(small)
    assert ratio < 1.3
