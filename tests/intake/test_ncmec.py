"""The NCMEC CyberTipline XML importer: the example ESP submission, several reports in one file, the
mapping rules, hostile and broken XML, and detection. Neutral data only: incident types are the
format's codes, free text is a placeholder."""

from __future__ import annotations

import io
import re
import tracemalloc
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.errors import Invalid, PayloadTooLarge
from accord.intake import spill
from accord.intake.formats import ImportOptions, Item
from accord.intake.importers import ncmec
from accord.intake.importers.ncmec import INCIDENT_TYPES, NCMEC, accord_importers
from accord.intake.prepare import prepare
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.plugins import importer
from accord.simulate.output import generate
from tests.intake.strategies import VOCAB

DATA = Path(__file__).parents[1] / "data" / "formats"
EXAMPLE = DATA / "ncmec" / "esp-submission.xml"
MULTI = DATA / "ncmec" / "multi.xml"


def read(data: bytes, name: str = "t.xml", **kw: Any) -> list[Item]:
    return list(NCMEC.read(io.BufferedReader(io.BytesIO(data)), ImportOptions(name=name, **kw)))


def report(body: str, attrs: str = "") -> bytes:
    """A <report> with the required parts, ``body`` added after the reporter."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<report{attrs}>
  <incidentSummary>
    <incidentType>Child Sex Tourism</incidentType>
    <incidentDateTime>2026-01-02T03:04:05Z</incidentDateTime>
  </incidentSummary>
  <reporter><reportingPerson><email>safety@example.org</email></reportingPerson></reporter>
  {body}
</report>""".encode()


def only(data: bytes) -> Item:
    items = read(data)
    assert len(items) == 1
    return items[0]


def acct(value: str, service: str = "example.org", handle: str | None = None) -> dict[str, Any]:
    return {"kind": "account", "service": service, "value": value, **({"handle": handle} if handle else {})}


# -- the example ESP submission and the multi-report file --


def test_example_submission_gives_exactly_the_expected_report() -> None:
    expected = parse_obj(
        ReportIn,
        {
            "external_id": "90000001",
            "source": "platform",
            "received_at": "2026-03-14T13:26:53Z",
            "incident_type": "csam",
            "urgency": ["imminent-danger", "age-band-b", "repeat-subject", "self-generated"],
            "location": {"country": "NL"},
            "subjects": [
                {
                    "role": "unknown",
                    "identifiers": [
                        {"kind": "url", "value": "https://files.example.net/a1b2c3"},
                        {"kind": "url", "value": "https://files.example.net/d4e5f6?utm_source=feed"},
                    ],
                },
                {
                    "role": "unknown",
                    "identifiers": [
                        {"kind": "ip", "value": "2001:db8::17", "port": 6881, "seen_at": "2026-03-12T18:00:00Z"}
                    ],
                },
                {
                    "role": "suspect",
                    "identifiers": [
                        acct("1000234567", handle="user_0001"),
                        {"kind": "email", "value": "user0001@example.net"},
                        {"kind": "email", "value": "user0001.alt@example.net"},
                        {"kind": "phone", "value": "+31 20 555 0101"},
                        {"kind": "url", "value": "https://example.org/u/user_0001"},
                        {"kind": "ip", "value": "198.18.0.10", "port": 51234, "seen_at": "2026-03-13T22:10:00Z"},
                        {"kind": "ip", "value": "198.18.0.11", "seen_at": "2026-03-14T09:01:02Z"},
                        {"kind": "ip", "value": "2001:db8::42"},
                        {"kind": "device", "value": "35-000000-000001-7"},
                    ],
                },
                {"role": "victim", "identifiers": [acct("1000234568", handle="user_0002")]},
                {"role": "victim", "identifiers": [acct("user_0003", service="other.example.net")]},
                {
                    "role": "victim",
                    "identifiers": [acct("1000234569"), {"kind": "email", "value": "user0004@example.net"}],
                },
            ],
            "media": [
                {"md5": "0123456789abcdef0123456789abcdef", "sha256": "a" * 64, "pdq": "b" * 64},
                {"md5": "1" * 32},
                {"md5": "3" * 32, "sha256": "c" * 64},
            ],
            "narrative": "ref-0001",
        },
    )
    items = read(EXAMPLE.read_bytes(), name=EXAMPLE.name)
    assert [(i.line, i.ref, dict(i.faults)) for i in items] == [(1, "/reports/report", {})]
    assert items[0].report == expected
    # what intake does next: every code is known, and the victims and the narrative are sealed
    prepared = prepare(expected, VOCAB)
    assert prepared.sealed_pointers == ["/subjects/3", "/subjects/4", "/subjects/5", "/narrative"]
    assert [s.role for s in prepared.public_subjects] == ["unknown", "unknown", "suspect"]


def test_several_reports_in_one_file_each_become_an_item() -> None:
    items = read(MULTI.read_bytes(), name=MULTI.name)
    assert [(i.line, i.ref, i.report is not None) for i in items] == [
        (1, "/reports/report[1]", True),
        (2, "/reports/report[2]", False),
        (4, "/reports/report[3]", True),
        (6, "/reports/fileDetails[3]", False),
        (7, "/reports/lawEnforcement", False),
    ]
    first, missing, third, orphan, stray = items
    assert first.report is not None and third.report is not None
    assert first.report.incident_type == "extortion"  # enticement with the sextortion annotation
    assert first.report.subjects[0].identifiers[0].key == "account:other.example.net/user_0101"
    assert dict(missing.faults) == {
        "/reports/report[2]/incidentSummary/incidentDateTime": "required element is missing or empty"
    }
    assert third.report.external_id == "90000103"
    assert third.report.received_at == datetime(2026, 2, 3, 8, 30, tzinfo=UTC)
    assert third.report.location.country == "FR"  # from the non-internet incident's address
    assert third.report.media == []  # its only file has a SHA1 hash, which Accord cannot hold
    assert list(orphan.faults) == ["/reports/fileDetails[3]/reportId"]
    assert "'90009999'" in orphan.faults["/reports/fileDetails[3]/reportId"]
    assert list(stray.faults) == ["/reports/lawEnforcement"]


def test_a_single_report_document() -> None:
    item = only(report(""))
    assert item.ref == "/report" and item.line == 1
    assert item.report == parse_obj(
        ReportIn,
        {"source": "platform", "received_at": "2026-01-02T03:04:05Z", "incident_type": "travelling-offender"},
    )


def test_the_importer_is_registered() -> None:
    assert accord_importers() == [NCMEC]
    assert importer("ncmec") is NCMEC


# -- mapping rules --


@pytest.mark.parametrize(("ncmec", "code"), sorted(INCIDENT_TYPES.items()))
def test_every_incident_type_maps_to_a_known_category(ncmec: str, code: str) -> None:
    data = report("").replace(b"Child Sex Tourism", ncmec.encode())
    item = only(data)
    assert item.report is not None and item.report.incident_type == code
    assert code in VOCAB.categories


def test_the_table_keeps_the_reference_values_exactly() -> None:
    assert sorted(INCIDENT_TYPES) == [
        "Child Pornography (possession, manufacture, and distribution)",
        "Child Sex Tourism",
        "Child Sex Trafficking",
        "Child Sexual Molestation",
        "Misleading Domain Name",
        "Misleading Words or Digital Images on the Internet",
        "Online Enticement of Children for Sexual Act",
        "Unsolicited Obscene Material Sent to a Child",
    ]


def test_an_unknown_incident_type_is_a_fault_at_its_element() -> None:
    item = only(report("").replace(b"Child Sex Tourism", b"child sex tourism"))
    assert item.report is None
    assert list(item.faults) == ["/report/incidentSummary/incidentType"]


def test_a_user_on_another_service_needs_its_service_named() -> None:
    body = (
        "<personOrUserReported><screenName>u1</screenName>"
        "<thirdPartyUserReported>true</thirdPartyUserReported></personOrUserReported>"
    )
    item = only(report(body))
    assert list(item.faults) == ["/report/personOrUserReported/thirdPartyUserReported"]
    item = only(report(body.replace("<screenName>", "<espService>other.example.net</espService><screenName>")))
    assert item.report is not None
    assert item.report.subjects[0].identifiers[0].key == "account:other.example.net/u1"


def test_country_hints_skip_codes_that_are_not_countries_and_never_come_from_victims() -> None:
    body = """<personOrUserReported><screenName>u1</screenName>
      <estimatedLocation><countryCode>A1</countryCode></estimatedLocation></personOrUserReported>
      <victim><victimPerson><address><country>DE</country></address></victimPerson>
      <screenName>u2</screenName><estimatedLocation><countryCode>DE</countryCode></estimatedLocation></victim>"""
    item = only(report(body))
    assert item.report is not None and item.report.location.country is None


def test_a_victim_without_identifiers_gives_no_subject() -> None:
    item = only(report("<victim><victimPerson><firstName>Given-0001</firstName><age>9</age></victimPerson></victim>"))
    assert item.report is not None and item.report.subjects == []


# -- hostile and broken input: whole-file faults name the file and never echo it --

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE report [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
<report><incidentSummary><incidentType>&leak;</incidentType></incidentSummary></report>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<report><additionalInfo>&lol9;</additionalInfo></report>"""


@pytest.mark.parametrize(
    "data", [XXE, LAUGHS, XXE.replace(b"<!DOCTYPE report [", b"<!DOCTYPE report SYSTEM 'file:///etc/passwd' [")]
)
def test_entities_and_dtds_are_refused_naming_the_file_without_echoing_it(data: bytes) -> None:
    with pytest.raises(Invalid) as caught:
        read(data, name="hostile.xml")
    message = str(caught.value)
    assert message.startswith("hostile.xml: refused:")
    assert caught.value.errors == {"": message}
    for leak in ("root:", "passwd", "lol", "leak"):
        assert leak not in message


def test_an_external_entity_never_reads_the_file_it_names(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("marker-0001")
    data = XXE.replace(b"file:///etc/passwd", secret.as_uri().encode())
    with pytest.raises(Invalid) as caught:
        read(data, name="hostile.xml")
    assert "marker-0001" not in repr(caught.value) + repr(caught.value.errors)
    assert str(tmp_path) not in str(caught.value)


def test_a_truncated_document_names_the_file_line_and_column() -> None:
    data = EXAMPLE.read_bytes()
    start = data.index(b"<personOrUserReported>")
    cut = data[: start + 10]  # inside a start tag: expat names the line and column where the tag began
    line = cut.count(b"\n") + 1
    column = start - (cut.rfind(b"\n") + 1)
    with pytest.raises(Invalid, match=rf"^cut\.xml:{line}:{column}: malformed XML \(unclosed token\)$"):
        read(cut, name="cut.xml")
    with pytest.raises(Invalid, match=r"^t\.xml:1:0: malformed XML \(no element found\)$"):
        read(b"")


def test_latin1_bytes_in_a_utf8_document_are_refused_with_their_position() -> None:
    data = report("<additionalInfo>réf-0001</additionalInfo>").replace("é".encode(), b"\xe9")
    line = data[: data.index(b"\xe9")].count(b"\n") + 1
    column = data.index(b"\xe9") - (data.rfind(b"\n", 0, data.index(b"\xe9")) + 1)
    with pytest.raises(Invalid, match=rf"^enc\.xml:{line}:{column}: not UTF-8 text"):
        read(data, name="enc.xml")
    # the same bytes under an honest declaration are read
    honest = data.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    item = only(honest)
    assert item.report is not None and item.report.narrative == "réf-0001"


def test_a_document_over_the_limit_is_refused_after_reading_one_byte_more() -> None:
    class Counting(io.BytesIO):
        asked: list[int | None] = []

        def read(self, size: int | None = -1) -> bytes:
            self.asked.append(size)
            return super().read(size)

    data = EXAMPLE.read_bytes()
    stream = Counting(data)
    with pytest.raises(PayloadTooLarge, match=r"big\.xml: document larger than 1,000 bytes"):
        list(NCMEC.read(stream, ImportOptions(name="big.xml", max_document_bytes=1000)))
    assert stream.asked == [1001]
    assert len(read(data, max_document_bytes=len(data))) == 1


def test_a_root_that_is_not_a_report_is_refused() -> None:
    with pytest.raises(Invalid, match=r"t\.xml: the root element is <fileDetails>"):
        read(b"<fileDetails><reportId>1</reportId></fileDetails>")


# -- per-report faults: each names the element, the rest of the file is still read --


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        (
            "<personOrUserReported><ipCaptureEvent><ipAddress>198.18.0.300</ipAddress></ipCaptureEvent></personOrUserReported>",
            "/report/personOrUserReported/ipCaptureEvent/ipAddress",
            "not an IP address",
        ),
        (
            "<personOrUserReported><ipCaptureEvent><ipAddress>198.18.0.3</ipAddress><port>http</port></ipCaptureEvent></personOrUserReported>",
            "/report/personOrUserReported/ipCaptureEvent/port",
            "valid integer",
        ),
        (
            "<personOrUserReported><ipCaptureEvent><ipAddress>198.18.0.3</ipAddress></ipCaptureEvent>"
            "<ipCaptureEvent><ipAddress>198.18.0.4</ipAddress><dateTime>2026-01-01T10:00:00</dateTime></ipCaptureEvent>"
            "</personOrUserReported>",
            "/report/personOrUserReported/ipCaptureEvent[2]/dateTime",
            "time zone",
        ),
        (
            "<personOrUserReported><ipCaptureEvent><eventName>Login</eventName></ipCaptureEvent></personOrUserReported>",
            "/report/personOrUserReported/ipCaptureEvent/ipAddress",
            "required element",
        ),
        (
            "<victim><victimPerson><phone>12</phone></victimPerson></victim>",
            "/report/victim/victimPerson/phone",
            "phone number",
        ),
        (
            "<personOrUserReported><screenName>u1</screenName><thirdPartyUserReported>maybe</thirdPartyUserReported></personOrUserReported>",
            "/report/personOrUserReported/thirdPartyUserReported",
            "not a boolean",
        ),
        (
            "<internetDetails><webPageIncident><url>files.example.net/x</url></webPageIncident></internetDetails>",
            "/report/internetDetails/webPageIncident/url",
            "not an absolute",
        ),
        ("<additionalInfo>" + "x" * 20001 + "</additionalInfo>", "/report/additionalInfo", "at most 20000"),
    ],
)
def test_an_invalid_value_is_a_fault_naming_its_element(body: str, path: str, message: str) -> None:
    item = only(report(body))
    assert item.report is None and item.ref == "/report"
    assert list(item.faults) == [path]
    assert message in item.faults[path]


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        (b"2026-01-02T03:04:05Z", b"yesterday", "/report/incidentSummary/incidentDateTime", "datetime"),
        (b"2026-01-02T03:04:05Z", b"2026-01-02", "/report/incidentSummary/incidentDateTime", "time zone"),
        (
            b"<reporter><reportingPerson><email>safety@example.org</email></reportingPerson></reporter>",
            b"",
            "/report/reporter",
            "required",
        ),
        (
            b"<email>safety@example.org</email>",
            b"<phone>+31 20 555 0100</phone>",
            "/report/reporter/reportingPerson/email",
            "required",
        ),
        (b"<report>", b'<report reportId="R-1">', "/report/@reportId", "not a report number"),
    ],
)
def test_report_level_faults(old: bytes, new: bytes, path: str, message: str) -> None:
    item = only(report("").replace(old, new))
    assert item.report is None
    assert list(item.faults) == [path]
    assert message in item.faults[path]


def test_file_faults_name_the_file_element_and_reject_its_report_only() -> None:
    data = (
        b"""<reports>
      <report reportId="1">"""
        + report("").split(b"<report>")[1]
        + b"""
      <fileDetails><reportId>1</reportId><fileId>F1</fileId>
        <originalFileHash hashType="MD5">not-a-hash</originalFileHash></fileDetails>
      <fileDetails><reportId>1</reportId><fileId>F2</fileId>
        <industryClassification>C3</industryClassification></fileDetails>
      <report reportId="2">"""
        + report("").split(b"<report>")[1]
        + b"""
      <report reportId="2">"""
        + report("").split(b"<report>")[1]
        + b"""
    </reports>"""
    )
    items = read(data)
    assert [(i.line, i.report is not None) for i in items] == [(1, False), (4, True), (5, False)]
    assert items[0].faults == {
        "/reports/fileDetails[2]/industryClassification": "not an industry classification (A1, A2, B1, B2): 'C3'",
        "/reports/fileDetails[1]/originalFileHash": "String should match pattern '^[0-9a-fA-F]{32}$'",
    }
    assert items[2].faults == {"/reports/report[3]/@reportId": "a second report with reportId '2'"}


# -- detection --


def test_sniff_claims_ncmec_reports_and_the_wrapper() -> None:
    assert NCMEC.sniff(EXAMPLE.read_bytes()[:65536], "anything")
    assert NCMEC.sniff(MULTI.read_bytes()[:65536], "multi.dat")
    assert NCMEC.sniff(b"\xef\xbb\xbf" + report(""), "r.xml")
    assert NCMEC.sniff(b"<report><incidentSummary>", "r")


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0"?><rss><channel><title>x</title></channel></rss>',
        b'<?xml version="1.0"?><report><title>quarterly</title></report>',
        b"<fileDetails><reportId>1</reportId></fileDetails>",
        b"<!-- <report><incidentSummary> --><feed><incidentSummary/></feed>",
        b'{"source": "platform", "incident_type": "csam", "note": "<report><incidentSummary>"}',
        b'{"type": "bundle", "id": "bundle--0", "objects": []}',
        b"external_id,source,received_at,incident_type\nx,platform,2026-01-01T00:00:00Z,csam\n",
        b"",
    ],
)
def test_sniff_refuses_other_xml_json_and_csv(head: bytes) -> None:
    assert not NCMEC.sniff(head, "file.xml")


def test_sniff_does_not_claim_other_formats_example_files() -> None:
    others = [p for p in DATA.glob("*/*") if p.is_file() and p.parent.name != "ncmec"]
    assert [p for p in others if NCMEC.sniff(p.read_bytes()[:65536], p.name)] == []


# -- property: whatever the carried fields, the report written as NCMEC XML reads back as them --

_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=3, max_size=12)
_times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 11, 1), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=0)
)
_free_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn", "Co", "Zl", "Zp"))
    | st.sampled_from("<>&'\""),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() == s and s != "")
_ip = st.tuples(
    st.builds(lambda a, b: f"198.18.{a}.{b}", st.integers(0, 255), st.integers(1, 254)),
    st.one_of(st.none(), st.integers(0, 65535)),
    st.one_of(st.none(), _times),
)
_hex = lambda n: st.text(alphabet="0123456789abcdef", min_size=n, max_size=n)  # noqa: E731
_file = st.fixed_dictionaries(
    {}, optional={"MD5": _hex(32), "SHA256": _hex(64), "PDQ": _hex(64), "SHA1": _hex(40)}
).filter(lambda f: bool(set(f) & {"MD5", "SHA256", "PDQ"}))

_spec = st.fixed_dictionaries(
    {
        "incident": st.sampled_from(sorted(INCIDENT_TYPES)),
        "at": _times,
        "report_id": st.one_of(st.none(), st.integers(1, 10**9)),
        "user": st.one_of(st.none(), _token),
        "screen": st.one_of(st.none(), _token),
        "emails": st.lists(_token.map(lambda t: f"{t}@example.net"), max_size=2),
        "phones": st.lists(st.integers(1000000, 9999999).map(str), max_size=2),
        "ips": st.lists(_ip, max_size=3),
        "devices": st.lists(_token, max_size=2),
        "files": st.lists(_file, max_size=3),
        "narrative": st.one_of(st.none(), _free_text),
    }
)


def _write(spec: dict[str, Any]) -> bytes:
    """The spec as an ESP would send it, written with the standard library (writing is not parsing)."""
    root = Element("reports")
    rep = SubElement(root, "report", {"reportId": str(spec["report_id"])} if spec["report_id"] else {})
    summary = SubElement(rep, "incidentSummary")
    SubElement(summary, "incidentType").text = spec["incident"]
    SubElement(summary, "incidentDateTime").text = spec["at"].isoformat()
    person = SubElement(SubElement(rep, "reporter"), "reportingPerson")
    SubElement(person, "email").text = "safety@example.org"
    user = SubElement(rep, "personOrUserReported")
    who = SubElement(user, "personOrUserReportedPerson")
    for phone in spec["phones"]:
        SubElement(who, "phone", {"countryCallingCode": "+31"}).text = f"20 {phone}"
    for email in spec["emails"]:
        SubElement(who, "email").text = email
    for name in ("user", "screen"):
        if spec[name]:
            SubElement(user, {"user": "espIdentifier", "screen": "screenName"}[name]).text = spec[name]
    for address, port, seen in spec["ips"]:
        event = SubElement(user, "ipCaptureEvent")
        SubElement(event, "ipAddress").text = address
        if seen:
            SubElement(event, "dateTime").text = seen.isoformat()
        if port is not None:
            SubElement(event, "port").text = str(port)
    for device in spec["devices"]:
        dev = SubElement(user, "deviceId")
        SubElement(dev, "idType").text = "IMEI"
        SubElement(dev, "idValue").text = device
    if spec["narrative"]:
        SubElement(rep, "additionalInfo").text = spec["narrative"]
    for i, hashes in enumerate(spec["files"] if spec["report_id"] else []):
        details = SubElement(root, "fileDetails")
        SubElement(details, "reportId").text = str(spec["report_id"])
        SubElement(details, "fileId").text = f"F{i}"
        for kind, value in hashes.items():
            SubElement(details, "originalFileHash", {"hashType": kind}).text = value
    return b'<?xml version="1.0" encoding="UTF-8"?>' + tostring(root, encoding="utf-8", xml_declaration=False)


def _expected(spec: dict[str, Any]) -> ReportIn:
    idents: list[dict[str, Any]] = []
    if spec["user"] or spec["screen"]:
        idents.append(acct(spec["user"] or spec["screen"], handle=spec["screen"] if spec["user"] else None))
    idents += [{"kind": "email", "value": e} for e in spec["emails"]]
    idents += [{"kind": "phone", "value": f"+31 20 {p}"} for p in spec["phones"]]
    for address, port, seen in spec["ips"]:
        ip: dict[str, Any] = {"kind": "ip", "value": address, "port": port, "seen_at": seen}
        idents.append({k: v for k, v in ip.items() if v is not None})
    idents += [{"kind": "device", "value": d} for d in spec["devices"]]
    media = [{k.lower(): v for k, v in f.items() if k != "SHA1"} for f in spec["files"]] if spec["report_id"] else []
    return parse_obj(
        ReportIn,
        {
            "external_id": str(spec["report_id"]) if spec["report_id"] else None,
            "source": "platform",
            "received_at": spec["at"],
            "incident_type": INCIDENT_TYPES[spec["incident"]],
            "subjects": [{"role": "suspect", "identifiers": idents}] if idents else [],
            "media": media,
            "narrative": spec["narrative"],
        },
    )


@settings(max_examples=80, deadline=None)
@given(_spec)
def test_written_reports_read_back_as_their_carried_fields(spec: dict[str, Any]) -> None:
    items = read(_write(spec))
    assert [dict(i.faults) for i in items] == [{}]
    assert items[0].report == _expected(spec)


def test_paths_index_only_repeated_names() -> None:
    body = "<victim><screenName>u1</screenName></victim><victim><victimPerson><phone>1</phone></victimPerson></victim>"
    item = only(report(body))
    assert list(item.faults) == ["/report/victim[2]/victimPerson/phone"]
    assert re.fullmatch(r"/report", item.ref or "")


def test_an_unknown_declared_encoding_is_refused_by_name() -> None:
    """Found by the fuzz test: expat raised LookupError for a codec name it does not know."""
    with pytest.raises(Invalid, match=r"^t\.xml: unknown character encoding 'TTF-8'"):
        read(b'<?xml version="1.0" encoding="TTF-8"?>\n<report/>\n')


def test_the_esp_service_name_can_be_given_instead_of_guessed() -> None:
    """The report never names its ESP: by default the reporter's e-mail domain stands for it; an
    importer told the service (accord ingest --service, ImportOptions.service) uses that instead."""
    data = EXAMPLE.read_bytes()

    def services(items: list[Item]) -> set[str]:
        assert items[0].report is not None
        return {i.service for s in items[0].report.subjects for i in s.identifiers if i.kind == "account" and i.service}

    guessed, told = services(read(data)), services(read(data, service="esp.example.com"))
    assert "example.org" in guessed and "esp.example.com" not in guessed
    assert "esp.example.com" in told and "example.org" not in told
    assert "other.example.net" in told  # an account that names its own espService keeps it


# -- simulated reports written as NCMEC XML by the benchmark's writer read back as what it carries --

_BASE = {"source": "platform", "received_at": "2026-01-01T00:00:00Z", "incident_type": "other"}
_HOLDER = {"account", "email", "phone", "url", "ip", "device"}  # what personOrUserReported holds


def _keys(subject: dict[str, Any], kinds: Collection[str]) -> list[str]:
    """Identifier keys of a native subject document for the kinds an NCMEC element can hold (one
    account per person), normalised by the model as the imported ones are."""
    idents = [i for i in subject["identifiers"] if i["kind"] in kinds]
    kept = [i for i in idents if i["kind"] == "account"][:1] + [i for i in idents if i["kind"] != "account"]
    parsed = parse_obj(ReportIn, {**_BASE, "subjects": [{"role": "suspect", "identifiers": kept}]}) if kept else None
    return sorted(i.key for i in parsed.subjects[0].identifiers) if parsed else []


def test_simulated_reports_round_trip_through_the_benchmark_writer(tmp_path: Path) -> None:
    """bench/ncmec_xml.py turns simulated native reports into one <reports> file (docs/formats/ncmec.md
    in reverse); every report must import without a fault and keep its subjects, identifiers and
    media hashes, so that the import benchmark measures reports the importer really accepts."""
    from bench.ncmec_xml import EXPRESSIBLE, INCIDENT, write

    generate(1, 300, tmp_path)
    native = [orjson.loads(line) for line in (tmp_path / "reports.ndjson").read_bytes().splitlines()]
    buffer = io.BytesIO()
    assert write(native, buffer) == 300
    items = read(buffer.getvalue(), name="sim.xml")
    assert [(i.line, dict(i.faults)) for i in items if i.faults] == []
    assert len(items) == 300
    media_files = subjects = 0
    for number, (rep, item) in enumerate(zip(native, items, strict=True), 1):
        out = item.report
        assert out is not None and item.ref == f"/reports/report[{number}]"
        assert out.external_id == str(number)
        assert out.received_at == datetime.fromisoformat(rep["received_at"])
        written = INCIDENT_TYPES[INCIDENT.get(rep["incident_type"], INCIDENT["other"])]
        assert out.incident_type == ("extortion" if rep["incident_type"] == "extortion" else written)
        hashes = [(m["md5"], m["sha256"], m["pdq"]) for m in rep["media"]]
        assert [(m.md5, m.sha256, m.pdq) for m in out.media] == hashes
        suspects = [s for s in rep["subjects"] if s["role"] == "suspect"]
        victims = [s for s in rep["subjects"] if s["role"] == "victim"]
        expected = [("unknown", _keys(s, EXPRESSIBLE)) for s in suspects[1:]]
        expected += [("suspect", _keys(s, _HOLDER)) for s in suspects[:1]]
        expected += [("victim", _keys(s, {"account", "email", "phone"})) for s in victims]
        assert [(s.role, sorted(i.key for i in s.identifiers)) for s in out.subjects] == [e for e in expected if e[1]]
        assert out.location.country == (rep["location"].get("country") if suspects else None)
        assert ("repeat-subject" in out.urgency) == ("repeat-subject" in rep["urgency"])
        assert out.narrative == rep.get("narrative")
        media_files, subjects = media_files + len(out.media), subjects + len(out.subjects)
    assert media_files > 100 and subjects > 300  # the sample exercises files and several subjects a report


# -- streaming: files anywhere in the file, and memory that does not grow with it --

_BODY = report("").split(b"<report>")[1].split(b"</report>")[0].decode()


def _file(report_id: str, digit: str, tail: str = "") -> str:
    md5 = f'<originalFileHash hashType="MD5">{digit * 32}</originalFileHash>'
    return f"<fileDetails><reportId>{report_id}</reportId>{md5}{tail}</fileDetails>"


def test_files_join_their_report_wherever_they_come_in_the_file() -> None:
    """A file before its report, a report's files split by other elements, a file for a report number
    used twice (it joins the first), and one naming a report by a non-number: the second read takes
    each from the spill the first read filled."""
    data = (
        "<reports>"
        + _file("7", "1")
        + f'<report reportId="7">{_BODY}</report>'
        + _file("8", "2")
        + _file("7", "3", "<industryClassification>A1</industryClassification>")
        + f'<report reportId="8">{_BODY}</report>'
        + f'<report reportId="7">{_BODY}</report>'
        + _file("7", "4")
        + f'<report reportId="R-9">{_BODY}</report>'
        + _file("R-9", "5")
        + f"<report>{_BODY}</report>"
        + "</reports>"
    ).encode()
    items = read(data)
    assert [(i.line, i.ref) for i in items] == [
        (2, "/reports/report[1]"),
        (5, "/reports/report[2]"),
        (6, "/reports/report[3]"),
        (8, "/reports/report[4]"),
        (9, "/reports/fileDetails[5]"),
        (10, "/reports/report[5]"),
    ]
    seven, eight, again, named, stray, bare = items
    assert seven.report is not None and [m.md5 for m in seven.report.media] == ["1" * 32, "3" * 32, "4" * 32]
    assert seven.report.urgency == ["age-band-a"]
    assert eight.report is not None and [m.md5 for m in eight.report.media] == ["2" * 32]
    assert dict(again.faults) == {"/reports/report[3]/@reportId": "a second report with reportId '7'"}
    assert list(named.faults) == ["/reports/report[4]/@reportId"]
    assert dict(stray.faults) == {
        "/reports/fileDetails[5]/reportId": "names no <report reportId=...> in this file: 'R-9'"
    }
    assert bare.report is not None and bare.report.media == []


def _many(n: int) -> bytes:
    parts = [
        f'<report reportId="{i}">{_BODY}</report>{_file(str(i), "0123456789abcdef"[i % 16])}' for i in range(1, n + 1)
    ]
    return ("<reports>\n" + "\n".join(parts) + "\n</reports>").encode()


def _peak(data: bytes) -> int:
    tracemalloc.start()
    try:
        # the cap is the file's size: a read of the whole cap at once would allocate the cap, whatever the file
        for _ in NCMEC.read(
            io.BufferedReader(io.BytesIO(data)), ImportOptions(name="t.xml", max_document_bytes=len(data))
        ):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """What Python holds at the peak reading 500 and 3,000 reports (0.3 and 1.8 MB), with the spill's
    cache and batches made small, grows by less than a quarter of what the file grows; reading the
    whole document into memory, as the importer did, grew it by more than the file. (What it does grow
    by is pydantic's: about 55 bytes for each distinct string it validated, up to its cache's bound.)"""
    monkeypatch.setattr(ncmec, "_CACHE", 16)
    monkeypatch.setattr(spill, "_BATCH", 64)
    small, large = _many(500), _many(3000)
    _peak(small)  # imports and first-use caches out of the way
    assert _peak(large) - _peak(small) < (len(large) - len(small)) / 4
