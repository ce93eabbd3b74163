"""Benchmark input only: simulated native reports written as NCMEC CyberTipline XML (not a product exporter).

    python bench/ncmec_xml.py bench/out/world-1-100000/reports.ndjson bench/out/formats/reports.xml

Accord files no CyberTipline reports, so it has no NCMEC exporter; to measure the ``ncmec`` importer on
100,000 reports this writes what an ESP would send, following docs/formats/ncmec.md's mapping in
reverse: one ``<reports>`` wrapper holding each ``<report reportId=N>`` (N = the report's 1-based line
number: NCMEC report numbers are digits) followed by one ``<fileDetails>`` per media file. What the
format cannot carry is dropped, so the import of this file is expected to give, per report:

- ``external_id`` = N, ``source`` = platform, ``received_at`` and the media hashes unchanged;
- ``incident_type`` unchanged where NCMEC has the type (``extortion``: enticement with the sextortion
  annotation); ``grooming`` comes back as ``enticement``, any other code as ``other``;
- the first suspect as ``personOrUserReported`` (its first account with ``espService``, e-mails,
  phones as E.164, URLs, IPs with ``seen_at``/port, devices; payments dropped), each further suspect as
  an ``internetDetails`` subject (role ``unknown``) with its e-mails, phones, URLs and IPs only (NCMEC has
  one reported user per report), each victim as ``victim`` (account, e-mails, phones);
- ``location.country`` (the reported user's estimated location); the timezone is dropped;
- urgency: ``imminent-danger`` (escalateToHighPriority), ``repeat-subject`` (priorCTReports),
  ``age-band-a``/``age-band-b``/``self-generated`` (on the first file; lost when there is none); the
  other codes have no NCMEC element;
- the narrative as ``additionalInfo``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

import orjson

from accord.intake.importers.ncmec import INCIDENT_TYPES, WRAPPER
from accord.model.identifier import e164

__all__ = ["EXPRESSIBLE", "INCIDENT", "write"]

_ENTICEMENT = "Online Enticement of Children for Sexual Act"
INCIDENT: dict[str, str] = {}  # Accord category -> the NCMEC incidentType written for it
for _ncmec, _code in INCIDENT_TYPES.items():
    INCIDENT.setdefault(_code, _ncmec)
INCIDENT.update({"extortion": _ENTICEMENT, "grooming": _ENTICEMENT})
# identifier kinds an internetDetails element (a further suspect) can hold
EXPRESSIBLE = frozenset({"email", "phone", "url", "ip"})


def _t(name: str, value: Any, attrs: str = "") -> str:
    return f"<{name}{attrs}>{escape(str(value))}</{name}>"


def _phone(ident: dict[str, Any]) -> str:
    return e164(ident["value"], ident.get("region"))  # the number as E.164: it needs no calling code then


def _ip(ident: dict[str, Any]) -> str:
    parts = [_t("ipAddress", ident["value"])]
    if ident.get("port") is not None:
        parts.append(_t("port", ident["port"]))
    if ident.get("seen_at"):
        parts.append(_t("dateTime", ident["seen_at"]))
    return f"<ipCaptureEvent>{''.join(parts)}</ipCaptureEvent>"


def _holder(idents: list[dict[str, Any]], person: str, extra: str = "") -> str:
    """personOrUserReported / victim contents: the person's e-mails and phones, the first account."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for ident in idents:
        by_kind.setdefault(ident["kind"], []).append(ident)
    who = [_t("email", i["value"]) for i in by_kind.get("email", [])]
    who += [_t("phone", _phone(i)) for i in by_kind.get("phone", [])]
    parts = [f"<{person}>{''.join(who)}</{person}>"] if who else []
    if accounts := by_kind.get("account"):
        account = accounts[0]
        parts += [_t("espIdentifier", account["value"]), _t("espService", account["service"])]
        if account.get("handle"):
            parts.append(_t("screenName", account["handle"]))
    parts += [_t("profileUrl", i["value"]) for i in by_kind.get("url", [])]
    parts += [_ip(i) for i in by_kind.get("ip", [])]
    parts += [
        f"<deviceId><idType>other</idType>{_t('idValue', i['value'])}</deviceId>" for i in by_kind.get("device", [])
    ]
    return "".join(parts) + extra


def _internet(idents: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for ident in idents:
        match ident["kind"]:
            case "url":
                parts.append(f"<webPageIncident>{_t('url', ident['value'])}</webPageIncident>")
            case "email":
                parts.append(f"<emailIncident>{_t('emailAddress', ident['value'])}</emailIncident>")
            case "phone":
                parts.append(f"<cellPhoneIncident>{_t('phoneNumber', _phone(ident))}</cellPhoneIncident>")
            case "ip":
                parts.append(f"<peer2peerIncident>{_ip(ident)}</peer2peerIncident>")
    return f"<internetDetails>{''.join(parts)}</internetDetails>" if parts else ""


def report_xml(number: int, rep: dict[str, Any]) -> str:
    """One native report document (as the simulator writes it) as a <report> and its <fileDetails>."""
    urgency = set(rep.get("urgency") or ())
    code = rep["incident_type"]
    summary = [_t("incidentType", INCIDENT.get(code, INCIDENT["other"]))]
    if code == "extortion":
        summary.append("<reportAnnotations><sextortion/></reportAnnotations>")
    summary.append(_t("incidentDateTime", rep["received_at"]))
    if "imminent-danger" in urgency:
        summary.append(_t("escalateToHighPriority", "escalated"))
    subjects = rep.get("subjects") or []
    suspects = [s for s in subjects if s["role"] == "suspect"]
    body = [f"<incidentSummary>{''.join(summary)}</incidentSummary>"]
    body += [_internet(s["identifiers"]) for s in suspects[1:]]
    body.append("<reporter><reportingPerson><email>safety@esp.example</email></reportingPerson></reporter>")
    if suspects:
        extra = "<priorCTReports>1</priorCTReports>" if "repeat-subject" in urgency else ""
        if country := (rep.get("location") or {}).get("country"):
            extra += f"<estimatedLocation>{_t('countryCode', country)}</estimatedLocation>"
        body.append(
            f"<personOrUserReported>{_holder(suspects[0]['identifiers'], 'personOrUserReportedPerson', extra)}"
            "</personOrUserReported>"
        )
    for victim in (s for s in subjects if s["role"] == "victim"):
        idents = [i for i in victim["identifiers"] if i["kind"] in ("account", "email", "phone")]
        body.append(f"<victim>{_holder(idents, 'victimPerson')}</victim>")
    if rep.get("narrative"):
        body.append(_t("additionalInfo", rep["narrative"]))
    out = [f'<report reportId="{number}">{"".join(body)}</report>']
    for index, media in enumerate(rep.get("media") or []):
        parts = [_t("reportId", number), _t("fileId", f"F-{number}-{index + 1}")]
        parts += [
            _t("originalFileHash", media[field], f" hashType={quoteattr(name)}")
            for field, name in (("md5", "MD5"), ("sha256", "SHA256"), ("pdq", "PDQ"))
            if media.get(field)
        ]
        if index == 0:
            band = "A1" if "age-band-a" in urgency else "B1" if "age-band-b" in urgency else None
            if band:
                parts.append(_t("industryClassification", band))
            if "self-generated" in urgency:
                parts.append("<fileAnnotations><possibleSelfProduction/></fileAnnotations>")
        out.append(f"<fileDetails>{''.join(parts)}</fileDetails>")
    return "\n".join(out)


def documents(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.strip():
            yield orjson.loads(line)


def write(reports: Iterable[dict[str, Any]], out: IO[bytes]) -> int:
    """Write ``reports`` (native documents) as one <reports> file; the number written."""
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<{WRAPPER}>\n'.encode())
    count = 0
    for count, rep in enumerate(reports, 1):
        out.write(report_xml(count, rep).encode() + b"\n")
    out.write(f"</{WRAPPER}>\n".encode())
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="native NDJSON (accord simulate's reports.ndjson)")
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    with args.source.open("rb") as src, args.out.open("wb") as out:
        count = write(documents(src), out)
    print(f"wrote {count} reports to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
