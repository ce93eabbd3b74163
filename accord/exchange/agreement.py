"""Agreements as signed data, and the checks every object passes against one, on both sides.

Each party signs the agreement's RFC 8785 canonical form with its node's identity key (a detached
Ed25519 signature), so both hold the same bytes and either can show the other's consent. The checks
return a ``Refusal`` that names the clause (the agreement's field) an object breaks, so an operator
reading a refusal knows which line of the agreement to look at; ``None`` means the object may pass.

The sender runs ``check_outgoing`` before anything leaves; the receiver runs ``check_incoming`` before
anything is stored (``accord.exchange.envelope.open_envelope`` does). They differ in one clause: onward
sharing, which the sender judges from the agreement it received the object under (it holds it), and
the receiver from the upstream agreement the envelope names (it must hold it too, or refuse).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from pydantic import ValidationError

from accord.exchange.identity import IdentityDocument, NodeIdentity
from accord.exchange.wire import b64decode, b64encode, canonical, load_canonical
from accord.model.agreement import Agreement, AgreementIn
from accord.vocab import load

__all__ = [
    "AgreementSignature",
    "ObjectMeta",
    "Refusal",
    "SignedAgreement",
    "canonical_agreement",
    "check_content",
    "check_incoming",
    "check_outgoing",
]


@dataclass(frozen=True)
class Refusal:
    """Why an object may not cross: ``clause`` is the agreement field it breaks."""

    clause: str
    detail: str

    def __str__(self) -> str:
        return f"{self.clause}: {self.detail}"


@dataclass(frozen=True)
class ObjectMeta:
    """What the checks look at: who sends to whom, why, how marked, what kind of data.

    ``received_under`` is the agreement under which the sending node itself received the object (None for
    its own data): sharing it with a node outside that agreement is onward sharing.
    """

    sender: str
    recipient: str
    purpose: str
    marking: str
    category: str
    received_under: Agreement | None = None


def canonical_agreement(agreement: Agreement) -> bytes:
    """The bytes both parties sign: the agreement's RFC 8785 canonical JSON."""
    return canonical(agreement.model_dump(mode="json"))


def _rank(marking: str) -> int:
    term = load().markings.terms.get(marking)
    if term is None or "rank" not in term.attrs:
        raise ValueError(f"unknown marking {marking!r}")
    return int(term.attrs["rank"])


def _label(marking: str) -> str:
    term = load().markings.terms.get(marking)
    return term.label if term else marking


def _window(agreement: Agreement, at: datetime) -> Refusal | None:
    if at < agreement.valid_from:
        return Refusal("valid_from", f"agreement {agreement.id} is not valid before {agreement.valid_from.isoformat()}")
    if agreement.valid_until is not None and at > agreement.valid_until:
        return Refusal("valid_until", f"agreement {agreement.id} expired at {agreement.valid_until.isoformat()}")
    return None


def _content(agreement: Agreement, marking: str, category: str) -> Refusal | None:
    if category not in agreement.categories:
        allowed = ", ".join(agreement.categories) or "none"
        return Refusal("categories", f"category {category!r} is not allowed (allowed: {allowed})")
    if marking not in load().markings:
        return Refusal("max_marking", f"unknown marking {marking!r}")
    if _rank(marking) > _rank(agreement.max_marking):
        return Refusal("max_marking", f"{_label(marking)} above {_label(agreement.max_marking)}")
    return None


def _common(agreement: Agreement, meta: ObjectMeta, at: datetime) -> Refusal | None:
    if (refusal := _window(agreement, at)) is not None:
        return refusal
    sender, recipient = agreement.party_of(meta.sender), agreement.party_of(meta.recipient)
    if sender is None:
        return Refusal("parties", f"sender node {meta.sender} speaks for no party to agreement {agreement.id}")
    if recipient is None:
        return Refusal("parties", f"recipient node {meta.recipient} speaks for no party to agreement {agreement.id}")
    if sender == recipient:
        return Refusal("parties", f"sender and recipient both speak for {sender}: not an exchange between parties")
    if meta.purpose not in agreement.purposes:
        return Refusal("purposes", f"purpose {meta.purpose!r} is not one of {', '.join(agreement.purposes)}")
    return _content(agreement, meta.marking, meta.category)


def check_content(agreement: Agreement, marking: str, category: str, at: datetime) -> Refusal | None:
    """The clauses on the object itself, with no node in the exchange: the validity window, ``categories``
    and ``max_marking``, judged as ``check_outgoing`` and ``check_incoming`` judge them (same order, same
    wording). For exchanges between organisations of one node (TAXII collections), where the parties are
    organisations and not nodes, so the ``parties`` and onward-sharing clauses have nothing to judge."""
    return _window(agreement, at) or _content(agreement, marking, category)


def _onward(meta: ObjectMeta) -> Refusal | None:
    upstream = meta.received_under
    if upstream is None or upstream.onward_sharing:
        return None
    if upstream.party_of(meta.recipient) is not None:
        return None  # back to a party of the agreement it came under: not onward
    return Refusal(
        "onward_sharing", f"the object was received under agreement {upstream.id}, which forbids onward sharing"
    )


def check_outgoing(agreement: Agreement, meta: ObjectMeta, at: datetime) -> Refusal | None:
    """Before an object leaves: may ``meta.sender`` send it to ``meta.recipient`` under ``agreement``?"""
    return _common(agreement, meta, at) or _onward(meta)


def check_incoming(agreement: Agreement, meta: ObjectMeta, at: datetime) -> Refusal | None:
    """Before a received object is stored: the same clauses, judged by the receiver with its own copy."""
    return _common(agreement, meta, at) or _onward(meta)


@dataclass(frozen=True)
class AgreementSignature:
    node: str
    keyid: str
    sig: bytes

    def to_json(self) -> dict[str, str]:
        return {"node": self.node, "keyid": self.keyid, "sig": b64encode(self.sig)}


@dataclass(frozen=True)
class SignedAgreement:
    """An agreement and the parties' detached signatures over its canonical form."""

    agreement: Agreement
    signatures: tuple[AgreementSignature, ...] = ()

    def sign(self, identity: NodeIdentity) -> SignedAgreement:
        """Add (or replace) this node's signature; only a node listed for a party may sign."""
        if self.agreement.party_of(identity.node_id) is None:
            raise ValueError(f"node {identity.node_id} speaks for no party to agreement {self.agreement.id}")
        own = AgreementSignature(identity.node_id, identity.keyid, identity.sign(canonical_agreement(self.agreement)))
        kept = tuple(s for s in self.signatures if s.node != identity.node_id)
        return SignedAgreement(self.agreement, (*kept, own))

    def verify(self, peers: Mapping[str, IdentityDocument]) -> Agreement:
        """The agreement, once every party has a valid signature by one of its nodes, else ``ValueError``.

        A signature verifies with any key its node published whose window overlaps the agreement's
        validity: a key retired after signing still proves the consent it gave.
        """
        message = canonical_agreement(self.agreement)
        signed_for: set[str] = set()
        for s in self.signatures:
            party = self.agreement.party_of(s.node)
            document = peers.get(s.node)
            key = document.key(s.keyid) if document else None
            if party is None or key is None:
                raise ValueError(f"signature by {s.node} (key {s.keyid[:16]}) is not by a known party node key")
            end = self.agreement.valid_until
            if (key.not_after is not None and key.not_after < self.agreement.created_at) or (
                end is not None and key.not_before > end
            ):
                raise ValueError(f"key {s.keyid[:16]} of {s.node} was not current while the agreement was")
            try:
                key.public_key.verify(s.sig, message)
            except InvalidSignature:
                raise ValueError(f"the signature by {s.node} does not verify") from None
            signed_for.add(party)
        missing = [p for p in self.agreement.parties if p not in signed_for]
        if missing:
            raise ValueError(f"agreement {self.agreement.id} is not signed for {', '.join(missing)}")
        return self.agreement

    def to_json(self) -> bytes:
        return canonical(
            {"agreement": self.agreement.model_dump(mode="json"), "signatures": [s.to_json() for s in self.signatures]}
        )

    @classmethod
    def from_json(cls, raw: bytes) -> SignedAgreement:
        data = load_canonical(raw, "a signed agreement")
        if not isinstance(data, dict) or set(data) != {"agreement", "signatures"}:
            raise ValueError("a signed agreement holds exactly agreement and signatures")
        return cls(_agreement(data["agreement"]), tuple(_signature(s) for s in _list(data["signatures"])))


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("signatures must be a list")
    return value


def _signature(data: object) -> AgreementSignature:
    if not isinstance(data, dict) or set(data) != {"node", "keyid", "sig"}:
        raise ValueError("an agreement signature holds exactly node, keyid and sig")
    if not isinstance(data["node"], str) or not isinstance(data["keyid"], str):
        raise ValueError("an agreement signature's node and keyid are strings")
    return AgreementSignature(data["node"], data["keyid"], b64decode(data["sig"], "signature"))


def _agreement(data: object) -> Agreement:
    """An agreement from a peer, its terms checked as strictly as one proposed here."""
    if not isinstance(data, dict):
        raise ValueError("agreement must be an object")
    try:
        terms = {k: v for k, v in data.items() if k not in {"id", "created_at"}}
        AgreementIn.model_validate(terms)
        return Agreement.model_validate(data)
    except ValidationError as e:
        raise ValueError(f"agreement: {e.errors()[0]['msg']} at {'/'.join(map(str, e.errors()[0]['loc']))}") from None
