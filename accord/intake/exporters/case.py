"""CASE/UCO JSON-LD out (Cyber-investigation Analysis Standard Expression 1.5 on the Unified Cyber
Ontology): one JSON-LD document, an ``@context`` with the prefixes the CASE examples use and an
``@graph`` written node by node, so a large export is never held in memory.

Per report: a ``case-investigation:InvestigativeAction`` (Accord received the referral: the exporting
organisation as performer, ``received_at`` as start time) whose result is a
``case-investigation:ProvenanceRecord`` holding the report's observables. Each subject is a
``uco-core:ContextualCompilation`` of its identifier observables; media are ``uco-observable:File``s
with a ``ContentDataFacet`` and ``uco-types:Hash``es. What CASE has no term for (incident type,
urgency, source, external id, subject role, location hints, PDQ) is in the ``drafting:`` namespace,
as the CASE community does for concepts not yet standard, so export-then-import is lossless.
Field by field mapping and the reasons: ``docs/formats/case.md``. The importer
(``accord.intake.importers.case``) reads these names from here.

Every node has a deterministic IRI, ``kb:accord-<Class>-<uuid5>``, derived from the report id and
the node's place in it: exporting the same reports twice gives the same graph, and UCO's advice that
IRIs end in a UUID holds (``case_validate`` treats the advice as a failure).
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from accord.intake.formats import ExportContext
from accord.model.identifier import Identifier, IdentifierKind
from accord.model.media import Media
from accord.model.report import Report, Subject
from accord.plugins.hookspecs import hookimpl

__all__ = ["CONTEXT", "DRAFTING", "KB", "CaseExporter"]

KB = "urn:accord:kb:"
DRAFTING = "urn:accord:drafting:"  # ours, not the examples' http://example.org/...: no clash with others' drafts
CONTEXT: dict[str, str] = {
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "drafting": DRAFTING,
    "kb": KB,
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-marking": "https://ontology.unifiedcyberontology.org/uco/marking/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "uco-vocabulary": "https://ontology.unifiedcyberontology.org/uco/vocabulary/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
_UUID_NS = uuid.uuid5(uuid.NAMESPACE_URL, KB)
# HashNameVocab spellings; hashMethod is a plain xsd:string since UCO 1.4 (the vocabulary datatype warns)
_HASHES = (("md5", "MD5"), ("sha256", "SHA256"))
_OPTS = orjson.OPT_INDENT_2
Node = dict[str, Any]  # a JSON-LD node object


def iri(cls: str, *path: object) -> str:
    return f"kb:accord-{cls}-{uuid.uuid5(_UUID_NS, '/'.join(map(str, (cls, *path))))}"


def _ref(node: str) -> dict[str, str]:
    return {"@id": node}


def _time(at: datetime) -> dict[str, str]:
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)  # a naive time is taken as UTC
    return {"@type": "xsd:dateTime", "@value": at.isoformat().replace("+00:00", "Z")}


def _facet(cls: str, owner: tuple[object, ...], props: Node, prefix: str = "uco-observable") -> Node:
    """A facet is a node of its own (UCO forbids blank nodes), named after its owner and class."""
    return {"@id": iri(cls, *owner), "@type": f"{prefix}:{cls}", **{k: v for k, v in props.items() if v is not None}}


def _observable(cls: str, path: tuple[object, ...], facets: dict[str, Node], extra: Node | None = None) -> Node:
    """An observable with its facets (facet class -> properties; a facet with no value is left out)."""
    return {
        "@id": iri(cls, *path),
        "@type": f"uco-observable:{cls}",
        **(extra or {}),
        "uco-core:hasFacet": [
            _facet(f, path, props) for f, props in facets.items() if any(v is not None for v in props.values())
        ],
    }


class _Writer:
    """The @graph, one node at a time; shared nodes (applications, markings) written on first use."""

    def __init__(self, out: IO[bytes], context: ExportContext) -> None:
        self.out, self.first, self.seen = out, True, set[str]()
        self.org = iri("Organization", "org", context.org_id)
        self.tool = iri("Tool", "accord", context.node)
        out.write(b'{\n"@context": ' + orjson.dumps(CONTEXT, option=_OPTS) + b',\n"@graph": [\n')
        self.node({"@id": self.org, "@type": "uco-identity:Organization", "uco-core:name": context.org_name})
        self.node({"@id": self.tool, "@type": "uco-tool:Tool", "uco-core:name": f"Accord ({context.node})"})

    def node(self, doc: Node) -> None:
        self.out.write((b"" if self.first else b",\n") + orjson.dumps(doc, option=_OPTS))
        self.first = False

    def shared(self, doc: Node) -> str:
        if doc["@id"] not in self.seen:
            self.seen.add(doc["@id"])
            self.node(doc)
        return str(doc["@id"])

    def marking(self, code: str) -> str:
        # UCO 1.5 has no TLP model; a statement marking carries the TLP 2.0 label, e.g. "TLP:AMBER+STRICT"
        model = {"uco-marking:definitionType": "statement", "uco-marking:statement": f"TLP:{code}"}
        definition = {
            "@id": iri("MarkingDefinition", "marking", code),
            "@type": "uco-marking:MarkingDefinition",
            "uco-marking:definitionType": "statement",
            "uco-marking:definition": _facet("StatementMarking", ("marking", code), model, "uco-marking"),
        }
        return self.shared(definition)

    def application(self, service: str) -> str:
        facets = {"ApplicationFacet": {"uco-observable:applicationIdentifier": service}}
        return self.shared(_observable("Application", ("application", service), facets, {"uco-core:name": service}))


def _identifier(w: _Writer, ident: Identifier, path: tuple[object, ...]) -> list[Node]:
    """The observable for one identifier, plus a NetworkConnection when an IP has a port or a time."""
    v = ident.value
    extra = {f"drafting:{k}": getattr(ident, k) for k in ("region", "instrument", "chain") if getattr(ident, k)}
    match ident.kind:
        case IdentifierKind.account:
            app = _ref(w.application(ident.service or ""))  # the model requires a service
            facets: dict[str, Node] = {
                "AccountFacet": {"uco-observable:accountIdentifier": v},
                "ApplicationAccountFacet": {"uco-observable:application": app},
                "DigitalAccountFacet": {"uco-observable:accountLogin": ident.handle},
            }
            return [_observable("ApplicationAccount", path, facets)]
        case IdentifierKind.email:
            return [_observable("EmailAddress", path, {"EmailAddressFacet": {"uco-observable:addressValue": v}})]
        case IdentifierKind.phone:
            return [_observable("PhoneAccount", path, {"PhoneAccountFacet": {"uco-observable:phoneNumber": v}}, extra)]
        case IdentifierKind.ip:
            version = ipaddress.ip_address(ident.normalised).version
            address = _observable(
                f"IPv{version}Address", path, {f"IPv{version}AddressFacet": {"uco-observable:addressValue": v}}
            )
            if ident.port is None and ident.seen_at is None:
                return [address]
            # an IP seen at a time from a port: a connection from it (UCO has no "seen at" on an address)
            seen = {
                "uco-observable:src": _ref(address["@id"]),
                "uco-observable:sourcePort": ident.port,
                "uco-observable:startTime": _time(ident.seen_at) if ident.seen_at else None,
            }
            return [address, _observable("NetworkConnection", (*path, "connection"), {"NetworkConnectionFacet": seen})]
        case IdentifierKind.url:
            return [_observable("URL", path, {"URLFacet": {"uco-observable:fullValue": v}})]
        case IdentifierKind.device:
            return [_observable("Device", path, {"DeviceFacet": {"uco-observable:serialNumber": v}})]
        case IdentifierKind.payment:
            return [_observable("Account", path, {"AccountFacet": {"uco-observable:accountIdentifier": v}}, extra)]
    raise AssertionError(ident.kind)  # pragma: no cover - enum is closed


def _media(media: Media, path: tuple[object, ...]) -> Node:
    hashes = [
        {
            "@id": iri("Hash", *path, method),
            "@type": "uco-types:Hash",
            "uco-types:hashMethod": method,
            "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": value},
        }
        for field, method in _HASHES
        if (value := getattr(media, field))
    ]
    content = {
        "uco-observable:hash": hashes or None,
        "uco-observable:sizeInBytes": media.size,
        "uco-observable:mimeType": media.mime,
        # PDQ is not in HashNameVocab, and an unknown hashMethod fails case_validate
        "drafting:pdq": {"@type": "xsd:hexBinary", "@value": media.pdq} if media.pdq else None,
        "drafting:pdqQuality": media.pdq_quality,
    }
    return _observable("File", path, {"ContentDataFacet": content})


def _subject(w: _Writer, subject: Subject, path: tuple[object, ...]) -> tuple[Node, list[Node]]:
    nodes = [n for j, ident in enumerate(subject.identifiers) for n in _identifier(w, ident, (*path, "identifier", j))]
    members = [_ref(n["@id"]) for n in nodes if n["@type"] != "uco-observable:NetworkConnection"]
    compilation = {
        "@id": iri("ContextualCompilation", *path),
        "@type": "uco-core:ContextualCompilation",
        "uco-core:object": members,
        "drafting:subjectRole": subject.role.value,
    }
    return compilation, nodes


def _report(w: _Writer, r: Report) -> None:
    base = ("report", r.id)
    record = iri("ProvenanceRecord", *base)
    subjects = [_subject(w, s, (*base, "subject", i)) for i, s in enumerate(r.subjects)]
    files = [_media(m, (*base, "media", k)) for k, m in enumerate(r.media)]
    # core:object lists every observable in order: the importer rebuilds lists from document order
    objects = [_ref(n["@id"]) for comp, nodes in subjects for n in (comp, *nodes)] + [_ref(f["@id"]) for f in files]
    w.node(
        {
            "@id": iri("InvestigativeAction", *base),
            "@type": "case-investigation:InvestigativeAction",
            "uco-core:name": "referral received",
            "uco-action:startTime": _time(r.received_at),
            "uco-action:performer": _ref(w.org),
            "uco-action:instrument": _ref(w.tool),
            "uco-action:result": [_ref(record)],
        }
    )
    doc: Node = {
        "@id": record,
        "@type": "case-investigation:ProvenanceRecord",
        "uco-core:object": objects,
        "uco-core:objectMarking": _ref(w.marking(r.marking)),
        "drafting:source": r.source,
        "drafting:incidentType": r.incident_type,
    }
    if r.external_id is not None:
        doc["drafting:externalId"] = r.external_id
    if r.urgency:
        doc["drafting:urgency"] = {"@list": r.urgency}  # an RDF list: the order is kept
    if r.location.country:
        doc["drafting:country"] = r.location.country
    if r.location.timezone:
        doc["drafting:timezone"] = r.location.timezone
    w.node(doc)
    for comp, nodes in subjects:
        w.node(comp)
        for n in nodes:
            w.node(n)
    for f in files:
        w.node(f)


class CaseExporter:
    name = "case"
    description = "CASE/UCO JSON-LD graph: a provenance record per report (validates with case_validate)"
    media_type = "application/ld+json"
    suffix = ".jsonld"

    def write(self, reports: Iterable[Report], out: IO[bytes], context: ExportContext) -> int:
        w = _Writer(out, context)
        units: list[dict[str, str]] = []
        for r in reports:
            _report(w, r)
            units += [_ref(iri("InvestigativeAction", "report", r.id)), _ref(iri("ProvenanceRecord", "report", r.id))]
        bundle: Node = {
            "@id": iri("Bundle", context.node, context.org_id, context.generated_at.isoformat()),
            "@type": "uco-core:Bundle",
            "uco-core:createdBy": _ref(w.org),
            "uco-core:objectCreatedTime": _time(context.generated_at),
            "uco-core:object": units or [_ref(w.org)],  # an enclosing compilation needs one object
        }
        if context.agreement_id:
            bundle["drafting:agreementId"] = context.agreement_id
        w.node(bundle)
        out.write(b"\n]\n}\n")
        return len(units) // 2


@hookimpl
def accord_exporters() -> list[CaseExporter]:
    return [CaseExporter()]
