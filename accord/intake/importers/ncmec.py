"""NCMEC CyberTipline report XML (import only): the ``<report>`` an electronic service provider (ESP)
sends to NCMEC's reporting API, or a ``<reports>`` wrapper holding several reports and the
``<fileDetails>`` documents of their uploaded files. The mapping is in docs/formats/ncmec.md.

Security: the document is parsed only by defusedxml with DTDs, entities and external references
forbidden, within a size cap, so an XXE or entity-expansion document is refused before anything is
built, and the refusal never echoes the document.

Streaming: the file is copied to a scratch file and parsed twice with defusedxml's ``iterparse``.
The first read checks the whole document (so a whole-file fault comes before the first item) and
spills each report id and each ``<fileDetails>`` to disk (``accord.intake.spill``); the second gives
each report as its element ends, with its files from the spill. Each child of the wrapper is dropped
once read, so memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError  # to rebuild spilled files; parsing is defusedxml's

import defusedxml.ElementTree as safe_xml
from defusedxml.common import DefusedXmlException, DTDForbidden

from accord.errors import Invalid, PayloadTooLarge
from accord.intake.formats import ImportOptions, Item
from accord.intake.spill import Spill
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.plugins.hookspecs import hookimpl
from accord.vocab import load

__all__ = ["INCIDENT_TYPES", "NCMEC", "WRAPPER", "NcmecImporter"]

WRAPPER = "reports"  # not an NCMEC element: Accord's envelope for several reports and their fileDetails

# NCMEC IncidentType (exact values) -> Accord category code.
INCIDENT_TYPES: dict[str, str] = {
    "Child Pornography (possession, manufacture, and distribution)": "csam",
    "Child Sex Trafficking": "trafficking",
    "Child Sex Tourism": "travelling-offender",
    "Child Sexual Molestation": "other",
    "Misleading Domain Name": "misleading-domain",
    "Misleading Words or Digital Images on the Internet": "other",
    "Online Enticement of Children for Sexual Act": "enticement",
    "Unsolicited Obscene Material Sent to a Child": "unsolicited-material",
}
_ENTICEMENT = "Online Enticement of Children for Sexual Act"

# Urgency codes in a fixed order, so equal documents give equal reports.
_URGENCY_ORDER = ("imminent-danger", "age-band-a", "age-band-b", "repeat-subject", "self-generated")
_INDUSTRY = {"A1": "age-band-a", "A2": "age-band-a", "B1": "age-band-b", "B2": "age-band-b"}
_FILE_FLAGS = {"infant": "age-band-a", "possibleSelfProduction": "self-generated"}
# FileHashType and HASH detail names (upper case, without - and _) Accord can hold.
_HASHES = {"MD5": "md5", "SHA256": "sha256", "PDQ": "pdq"}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_CHUNK = 1 << 18  # bytes copied or scanned at a time
_CACHE = 4096  # spilled report ids and files kept in memory (the spill's cache)

_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_PROLOG = re.compile(rb"<\?.*?\?>|<!--.*?-->", re.S)
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")

Node = tuple[Element, str]  # an element and its path in the document
Origins = dict[str, str]  # JSON pointer suffix in ReportIn -> element path it came from


def _children(parent: Element, path: str) -> list[Node]:
    """Element children with their paths; ``[n]`` only where a name repeats (as lxml's getpath writes)."""
    counts: dict[str, int] = {}
    for child in parent:
        counts[child.tag] = counts.get(child.tag, 0) + 1
    seen: dict[str, int] = {}
    out: list[Node] = []
    for child in parent:
        seen[child.tag] = seen.get(child.tag, 0) + 1
        index = f"[{seen[child.tag]}]" if counts[child.tag] > 1 else ""
        out.append((child, f"{path}/{child.tag}{index}"))
    return out


def _kids(parent: Element, path: str, name: str) -> list[Node]:
    """The children named ``name``, with the paths ``_children`` would give them (without building
    every child's path: this runs a few dozen times per report)."""
    found = [child for child in parent if child.tag == name]
    if len(found) == 1:
        return [(found[0], f"{path}/{name}")]
    return [(child, f"{path}/{name}[{i}]") for i, child in enumerate(found, 1)]


def _kid(parent: Element, path: str, name: str) -> Node | None:
    found = _kids(parent, path, name)
    return found[0] if found else None


def _text(node: Node | None) -> str | None:
    if node is None or node[0].text is None:
        return None
    return node[0].text.strip() or None


class _Report:
    """Builds one ReportIn document from a ``<report>``, remembering which element each field came from
    so that every validation fault names an element path, not a JSON pointer the sender never wrote."""

    def __init__(self, node: Node, report_id: str | None, files: list[Node], service: str | None = None) -> None:
        self.el, self.path = node
        self.report_id, self.files = report_id, files
        self.faults: dict[str, str] = {}
        self.origins: Origins = {"": self.path}
        self.given_service = service  # the importer was told the ESP's service name (ImportOptions.service)
        self.service: str | None = service

    def fault(self, path: str, message: str) -> None:
        self.faults.setdefault(path, message)

    def required(self, parent: Node, name: str) -> Node | None:
        node = _kid(parent[0], parent[1], name)
        if _text(node) is None and (node is None or len(node[0]) == 0):
            self.fault(f"{parent[1]}/{name}", "required element is missing or empty")
            return None
        return node

    def boolean(self, node: Node | None) -> bool:
        text = _text(node)
        if node is None or text is None:
            return False
        if text not in _BOOLEANS:
            self.fault(node[1], f"not a boolean (true or false): {text!r}")
            return False
        return _BOOLEANS[text]

    # -- identifiers: each is (document, origins relative to the identifier) --

    def _person(self, node: Node | None) -> list[tuple[dict[str, Any], Origins]]:
        """E-mails and phones of a Person block; names, age, birth date and addresses are not kept."""
        if node is None:
            return []
        out: list[tuple[dict[str, Any], Origins]] = []
        for email in _kids(node[0], node[1], "email"):
            out.append(({"kind": "email", "value": _text(email) or ""}, {"": email[1]}))
        for phone in _kids(node[0], node[1], "phone"):
            out.append((self._phone(phone), {"": phone[1]}))
        return out

    @staticmethod
    def _phone(node: Node) -> dict[str, Any]:
        value = _text(node) or ""
        code = (node[0].get("countryCallingCode") or "").strip().lstrip("+")
        if code and value and not value.startswith("+"):
            value = f"+{code} {value}"  # the number alone is national; the calling code makes it E.164
        return {"kind": "phone", "value": value}

    def _ips(self, node: Node) -> list[tuple[dict[str, Any], Origins]]:
        out: list[tuple[dict[str, Any], Origins]] = []
        for event in _kids(node[0], node[1], "ipCaptureEvent"):
            address = self.required(event, "ipAddress")
            if address is None:
                continue
            doc: dict[str, Any] = {"kind": "ip", "value": _text(address)}
            origins = {"": address[1]}
            for name, field in (("port", "port"), ("dateTime", "seen_at")):
                if (sub := _kid(event[0], event[1], name)) is not None and (value := _text(sub)) is not None:
                    doc[field], origins[f"/{field}"] = value, sub[1]
            out.append((doc, origins))
        return out

    def _devices(self, node: Node) -> list[tuple[dict[str, Any], Origins]]:
        out: list[tuple[dict[str, Any], Origins]] = []
        for device in _kids(node[0], node[1], "deviceId"):
            value = self.required(device, "idValue")
            if value is not None:
                out.append(({"kind": "device", "value": _text(value)}, {"": value[1]}))
        return out

    def _account_holder(
        self, node: Node, person: str, third_party: bool = False
    ) -> list[tuple[dict[str, Any], Origins]]:
        """Identifiers of personOrUserReported, intendedRecipient or victim, in a fixed order: the account
        on the service, the person's e-mails and phones, profile URLs, IP capture events, device ids."""
        el, path = node
        out: list[tuple[dict[str, Any], Origins]] = []
        user, screen = _kid(el, path, "espIdentifier"), _kid(el, path, "screenName")
        if _text(user) or _text(screen):
            service = _text(_kid(el, path, "espService"))
            if service is None and third_party:
                self.fault(f"{path}/thirdPartyUserReported", "the user is on another service: espService must name it")
            elif service is None:
                service = self.service
            if service is not None:
                value_node = user if _text(user) else screen
                assert value_node is not None
                doc = {"kind": "account", "service": service, "value": _text(value_node)}
                if _text(user) and _text(screen):
                    doc["handle"] = _text(screen)
                out.append((doc, {"": value_node[1]}))
        out += self._person(_kid(el, path, person))
        out += [({"kind": "url", "value": _text(u) or ""}, {"": u[1]}) for u in _kids(el, path, "profileUrl")]
        return out + self._ips(node) + self._devices(node)

    def _internet(self, node: Node) -> list[tuple[dict[str, Any], Origins]]:
        """Identifiers of one internetDetails element, whichever incident kinds it holds."""
        out: list[tuple[dict[str, Any], Origins]] = []
        for sub in _children(*node):
            incident = sub[0]
            for url in _kids(incident, sub[1], "url"):
                out.append(({"kind": "url", "value": _text(url) or ""}, {"": url[1]}))
            for email in _kids(incident, sub[1], "emailAddress"):
                out.append(({"kind": "email", "value": _text(email) or ""}, {"": email[1]}))
            for phone in _kids(incident, sub[1], "phoneNumber"):
                out.append((self._phone(phone), {"": phone[1]}))
            out += self._ips(sub)
        return out

    # -- media from the fileDetails documents that name this report --

    def _media(self, node: Node, urgency: set[str]) -> tuple[dict[str, Any], Origins] | None:
        el, path = node
        doc: dict[str, Any] = {}
        origins: Origins = {"": path}
        # originalFileHash (the file as it circulated) first; HASH details only fill what it lacks
        candidates = [(h, h[0].get("hashType") or "") for h in _kids(el, path, "originalFileHash")]
        for details in _kids(el, path, "details"):
            if (details[0].get("type") or "").upper() == "HASH":
                for pair in _kids(details[0], details[1], "nameValuePair"):
                    if (value_node := _kid(*pair, "value")) is not None:
                        candidates.append((value_node, _text(_kid(*pair, "name")) or ""))
        for hash_node, kind in candidates:
            field = _HASHES.get(re.sub(r"[-_\s]", "", kind).upper())
            if field is not None and field not in doc and (digest := _text(hash_node)) is not None:
                doc[field], origins[f"/{field}"] = digest, hash_node[1]
        if (relevance := _kid(el, path, "industryClassification")) is not None:
            code = _text(relevance)
            if code in _INDUSTRY:
                urgency.add(_INDUSTRY[code])
            else:
                self.fault(relevance[1], f"not an industry classification (A1, A2, B1, B2): {code!r}")
        if (flags := _kid(el, path, "fileAnnotations")) is not None:
            urgency.update(_FILE_FLAGS[f.tag] for f in flags[0] if f.tag in _FILE_FLAGS)
        # a file with only SHA1 or other hashes carries nothing Accord can hold: it is dropped
        return (doc, origins) if doc else None

    def _country(self, suspect: Node | None) -> Node | None:
        """A routing hint: the reported user's estimated location, else their address, else the address of
        a non-internet incident. Never a victim's or recipient's: those sections are sealed."""
        candidates: list[Node | None] = []
        if suspect is not None:
            located = _kid(*suspect, "estimatedLocation")
            candidates.append(_kid(*located, "countryCode") if located else None)
            person = _kid(*suspect, "personOrUserReportedPerson")
            candidates += [_kid(*a, "country") for a in _kids(*person, "address")] if person else []
        for details in _kids(self.el, self.path, "internetDetails"):
            for incident in _kids(*details, "nonInternetIncident"):
                candidates += [_kid(*a, "country") for a in _kids(*incident, "incidentAddress")]
        # NCMEC's own codes (A1 anonymous proxy, EU, AP...) are not countries, so they are no routing hint
        return next((c for c in candidates if _text(c) in load().jurisdictions), None)

    def build(self) -> dict[str, Any]:
        node = (self.el, self.path)
        doc: dict[str, Any] = {"source": "platform"}
        urgency: set[str] = set()
        if self.report_id is not None and not self.report_id.isdigit():
            self.fault(f"{self.path}/@reportId", f"not a report number: {self.report_id!r}")
        elif self.report_id is not None:
            doc["external_id"] = self.report_id
            self.origins["/external_id"] = f"{self.path}/@reportId"

        summary = self.required(node, "incidentSummary")
        if summary is not None:
            kind = self.required(summary, "incidentType")
            if kind is not None and _text(kind) not in INCIDENT_TYPES:
                self.fault(kind[1], f"not an NCMEC incident type: {_text(kind)!r}")
            elif kind is not None:
                doc["incident_type"] = INCIDENT_TYPES[_text(kind) or ""]
                self.origins["/incident_type"] = kind[1]
                flags = _kid(summary[0], summary[1], "reportAnnotations")
                if _text(kind) == _ENTICEMENT and flags is not None and flags[0].find("sextortion") is not None:
                    doc["incident_type"] = "extortion"
            if (when := self.required(summary, "incidentDateTime")) is not None:
                doc["received_at"], self.origins["/received_at"] = _text(when), when[1]
            if _kid(summary[0], summary[1], "escalateToHighPriority") is not None:
                urgency.add("imminent-danger")  # any value escalates; the reason text is not kept

        reporter = self.required(node, "reporter")
        person = self.required(reporter, "reportingPerson") if reporter is not None else None
        email = self.required(person, "email") if person is not None else None
        if email is not None and self.given_service is None:
            # the ESP is not named in the report: unless the importer was told, the domain of its
            # reporting person's address stands for it
            self.service = (_text(email) or "").rpartition("@")[2].lower() or None

        subjects: list[tuple[str, str, list[tuple[dict[str, Any], Origins]]]] = []
        for details in _kids(self.el, self.path, "internetDetails"):
            subjects.append(("unknown", details[1], self._internet(details)))
        if (suspect := _kid(self.el, self.path, "personOrUserReported")) is not None:
            third = self.boolean(_kid(*suspect, "thirdPartyUserReported"))
            subjects.append(("suspect", suspect[1], self._account_holder(suspect, "personOrUserReportedPerson", third)))
            if _kids(*suspect, "priorCTReports"):
                urgency.add("repeat-subject")
        # the whole intendedRecipient section is sensitive and is often the child targeted: sealed as victim
        for recipient in _kids(self.el, self.path, "intendedRecipient"):
            subjects.append(("victim", recipient[1], self._account_holder(recipient, "intendedRecipientPerson")))
        for victim in _kids(self.el, self.path, "victim"):
            subjects.append(("victim", victim[1], self._account_holder(victim, "victimPerson")))
        if (country := self._country(suspect)) is not None:
            doc["location"], self.origins["/location/country"] = {"country": _text(country)}, country[1]

        doc["subjects"] = []
        for role, path, idents in subjects:
            if not idents:
                continue  # a subject needs an identifier; names, ages and schools are not kept
            pointer = f"/subjects/{len(doc['subjects'])}"
            self.origins[pointer] = path
            for i, (_, origins) in enumerate(idents):
                self.origins.update({f"{pointer}/identifiers/{i}{k}": v for k, v in origins.items()})
            doc["subjects"].append({"role": role, "identifiers": [ident for ident, _ in idents]})

        doc["media"] = []
        for file in self.files:
            if (media := self._media(file, urgency)) is not None:
                pointer = f"/media/{len(doc['media'])}"
                self.origins.update({f"{pointer}{k}": v for k, v in media[1].items()})
                doc["media"].append(media[0])
        doc["urgency"] = [code for code in _URGENCY_ORDER if code in urgency]
        if (info := _kid(self.el, self.path, "additionalInfo")) is not None and _text(info) is not None:
            doc["narrative"], self.origins["/narrative"] = _text(info), info[1]
        return doc

    def item(self, position: int) -> Item:
        doc = self.build()
        try:
            rin = parse_obj(ReportIn, doc)
        except Invalid as exc:
            structural = bool(self.faults)
            for pointer, message in exc.errors.items():
                path = self._element(pointer)
                if not (structural and path == self.path):  # a field left out for a fault already named
                    self.fault(path, message)
            return Item(position, None, self.faults, self.path)
        return Item(position, None if self.faults else rin, self.faults, self.path)

    def _element(self, pointer: str) -> str:
        """The element a ReportIn field came from: the longest recorded prefix of its JSON pointer."""
        key = pointer
        while key not in self.origins:
            key = key.rpartition("/")[0]
        return self.origins[key]


def _refuse(name: str, document: IO[bytes], exc: Exception) -> Invalid:
    """A whole-file fault. Never quotes the document: a refused XXE must not echo what it pointed at."""
    if isinstance(exc, DTDForbidden):
        return Invalid.at(
            "", f"{name}: refused: the document has a DTD (<!DOCTYPE>); DTDs and entities are not accepted"
        )
    if isinstance(exc, DefusedXmlException):  # entities, external references
        return Invalid.at("", f"{name}: refused: the document declares entities or external references")
    document.seek(0)
    declared = _ENCODING.match(document.read(200))
    if isinstance(exc, LookupError):  # expat knows no codec by the declared name (found by tests/intake/test_fuzz.py)
        label = declared.group(1).decode("ascii", "replace") if declared else "?"
        return Invalid.at("", f"{name}: unknown character encoding {label!r} in the XML declaration")
    assert isinstance(exc, ParseError)
    line, column = exc.position
    utf8 = declared is None or declared.group(1).lower() in (b"utf-8", b"utf8")
    if utf8 and (bad := _first_non_utf8(document)) is not None:
        line, column = bad
        return Invalid.at(
            "", f"{name}:{line}:{column}: not UTF-8 text although the document is UTF-8 by its declaration"
        )
    reason = str(exc).split(": line ")[0]
    return Invalid.at("", f"{name}:{line}:{column}: malformed XML ({reason})")


def _first_non_utf8(document: IO[bytes]) -> tuple[int, int] | None:
    """(line, byte column) of the first byte that is not UTF-8, reading the file a chunk at a time."""
    document.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes handed to the decoder so far
    while True:
        chunk = document.read(_CHUNK)
        held = len(decoder.getstate()[0])  # bytes of a character split across the previous chunk
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as bad:
            at = offset - held + bad.start
            break
        if not chunk:
            return None
        offset += len(chunk)
    document.seek(0)
    line, line_start, read = 1, 0, 0
    while read < at:
        chunk = document.read(min(_CHUNK, at - read))
        line += chunk.count(b"\n")
        if (newline := chunk.rfind(b"\n")) >= 0:
            line_start = read + newline + 1
        read += len(chunk)
    return line, at - line_start


def _events(document: IO[bytes]) -> Iterator[tuple[str, Element]]:
    """Start and end events of the whole document, parsed by defusedxml: a DTD, an entity declaration
    or an external reference is refused (DefusedXmlException) before anything is expanded or fetched."""
    document.seek(0)
    events: Iterator[tuple[str, Element]] = safe_xml.iterparse(
        document, events=("start", "end"), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    return events


def _children_of_root(document: IO[bytes], keep: bool = False) -> Iterator[tuple[Element, Element]]:
    """(root, child) for each element child of the root once it is complete, then (root, root) when the
    root is. Unless ``keep``, each child is dropped from the tree once the caller is done with it, so
    what is held is one child at a time, whatever the size of the file."""
    depth = 0
    root: Element | None = None
    for event, el in _events(document):
        if event == "start":
            depth += 1
            root = el if root is None else root
            continue
        depth -= 1
        assert root is not None
        if depth == 1:
            yield root, el
            if not keep:
                root.remove(el)
        elif depth == 0:
            yield root, root


def _tree(el: Element) -> list[Any]:
    """An element as JSON (tag, attributes, text, children) for the spill; tails are not kept."""
    return [el.tag, dict(el.attrib), el.text, [_tree(child) for child in el]]


def _element(tree: list[Any]) -> Element:
    tag, attrib, text, children = tree
    el = Element(tag, attrib)
    el.text = text
    el.extend(_element(child) for child in children)
    return el


class NcmecImporter:
    name = "ncmec"
    description = "NCMEC CyberTipline report XML: one <report>, or <reports> holding reports and their <fileDetails>"

    def sniff(self, head: bytes, filename: str) -> bool:
        body = _PROLOG.sub(b"", head.removeprefix(b"\xef\xbb\xbf")).lstrip()
        root = _ROOT.match(body)  # the first thing after the declaration and comments is the root element
        return root is not None and root.group(1) in (b"report", WRAPPER.encode()) and b"<incidentSummary" in body

    def read(self, stream: IO[bytes], options: ImportOptions) -> Iterator[Item]:
        """The file is copied to a scratch file (at most ``max_document_bytes``), read once through to
        check it and index its reports and files into a spill, then read again giving each report as it
        comes: a fault of the whole file is raised before the first item, and memory holds one element
        of the wrapper at a time."""
        with Spill(options.scratch_dir, cache=_CACHE) as spill:
            path = spill.directory / "document.xml"
            with path.open("w+b") as document:
                _copy(stream, document, options)
                root, counts = self._index(document, spill, options.name)
                if root == "report":
                    for top, el in _children_of_root(document, keep=True):
                        if el is top:  # the root, once complete
                            yield _Report((el, "/report"), self._report_id(el), [], options.service).item(1)
                    return
                if root != WRAPPER:
                    raise Invalid.at("", f"{options.name}: the root element is <{root}>, not <report> or <{WRAPPER}>")
                yield from self._wrapped(document, spill, counts, options.service)

    @staticmethod
    def _report_id(el: Element) -> str | None:
        return (el.get("reportId") or "").strip() or None

    def _index(self, document: IO[bytes], spill: Spill, name: str) -> tuple[str, dict[str, int]]:
        """The first read: the whole document is parsed (whole-file faults are raised here), and for a
        wrapper each report id and each file is spilled. The root's tag and how often each tag occurs
        among its children (for the ``[n]`` of element paths)."""
        counts: dict[str, int] = {}
        root = ""
        position = 0
        # consecutive files of one report go into one spill row: keys stored once keep the spill's reads cheap
        run: tuple[str | None, list[Any]] = (None, [])
        try:
            for top, el in _children_of_root(document):
                root = top.tag
                if el is top or root != WRAPPER:
                    continue
                position += 1
                ordinal = counts[el.tag] = counts.get(el.tag, 0) + 1
                named = _text(_kid(el, "", "reportId")) if el.tag == "fileDetails" else None
                if run[0] is not None and named != run[0]:
                    spill.add(f"file:{run[0]}", run[1])
                    run = (None, [])
                if el.tag == "report" and (own := self._report_id(el)) is not None:
                    spill.add(f"report:{own}", position)
                elif named is not None:
                    run = (named, run[1])
                    run[1].append([ordinal, _tree(el)])
            if run[0] is not None:
                spill.add(f"file:{run[0]}", run[1])
        except (ParseError, DefusedXmlException, LookupError) as exc:
            raise _refuse(name, document, exc) from None
        return root, counts

    def _wrapped(
        self, document: IO[bytes], spill: Spill, counts: dict[str, int], service: str | None
    ) -> Iterator[Item]:
        """Each <report> is an Item; each <fileDetails> joins the first report whose @reportId its
        <reportId> names, and one that names no report is a rejected Item, so every object in the file
        is counted."""
        files = f"/{WRAPPER}/fileDetails" + ("[{}]" if counts.get("fileDetails", 0) > 1 else "")
        seen: dict[str, int] = {}
        position = 0
        for root, el in _children_of_root(document):
            if el is root:
                continue
            position += 1
            ordinal = seen[el.tag] = seen.get(el.tag, 0) + 1
            path = f"/{WRAPPER}/{el.tag}" + (f"[{ordinal}]" if counts[el.tag] > 1 else "")
            if el.tag == "report":
                own = self._report_id(el)
                if own is not None and spill.get(f"report:{own}")[0][1] != position:
                    yield Item(position, None, {f"{path}/@reportId": f"a second report with reportId {own!r}"}, path)
                    continue
                linked = spill.get(f"file:{own}") if own is not None and own.isdigit() else []
                nodes = [(_element(tree), files.format(n)) for _, run in linked for n, tree in run]
                yield _Report((el, path), own, nodes, service).item(position)
            elif el.tag == "fileDetails":
                named = _text(_kid(el, path, "reportId"))
                if named is None or not named.isdigit() or not spill.get(f"report:{named}"):
                    fault = f"names no <report reportId=...> in this file: {named!r}"
                    yield Item(position, None, {f"{path}/reportId": fault}, path)
            else:
                yield Item(position, None, {path: "not a <report> or <fileDetails> element"}, path)


def _copy(stream: IO[bytes], document: IO[bytes], options: ImportOptions) -> None:
    """The stream into the scratch file, refused once it is longer than ``max_document_bytes``."""
    limit, size = options.max_document_bytes, 0
    while chunk := stream.read(min(_CHUNK, limit + 1 - size)):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge.at("", f"{options.name}: document larger than {limit:,} bytes")
        document.write(chunk)
    document.flush()


NCMEC = NcmecImporter()


@hookimpl
def accord_importers() -> list[NcmecImporter]:
    return [NCMEC]
