"""A sharing agreement between organisations, as data both parties sign (``accord.exchange.agreement``).

The first fields (parties, purposes, legal bases, maximum marking, retention, onward sharing, validity)
are the ones the ``agreements`` table already holds; the federation fields after them (the nodes each
party runs, the data categories allowed, the jurisdictions) come with the signed document. Codes are
checked against the vocabularies (``accord.vocab``) so that two parties cannot sign an agreement that
names a marking or category one of them does not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from accord.ids import OrgId
from accord.model.base import Inbound, Outbound, UtcDatetime
from accord.vocab import load

__all__ = ["Agreement", "AgreementIn", "LocalAgreement", "LocalAgreementIn"]


def _codes(vocabulary: str, values: list[str]) -> list[str]:
    vocab = getattr(load(), vocabulary)
    for value in values:
        if value not in vocab:
            raise ValueError(f"unknown {vocabulary} code {value!r} (vocabulary {vocabulary} v{vocab.version})")
    if len(set(values)) != len(values):
        raise ValueError(f"{vocabulary} codes must not repeat")
    return values


class _Terms(Inbound):
    """The clauses both kinds of agreement share, checked the same way: signed ones with peers
    (``AgreementIn``) and local ones between organisations of this node (``LocalAgreementIn``)."""

    parties: list[OrgId] = Field(min_length=2)
    purposes: list[str] = Field(min_length=1)
    legal_bases: list[str] = Field(min_length=1, description="vocabulary: legal_bases")
    max_marking: str = Field(description="vocabulary: markings")
    retention_days: int = Field(ge=1, le=36500)
    onward_sharing: bool = False

    @field_validator("legal_bases")
    @classmethod
    def _legal_bases(cls, v: list[str]) -> list[str]:
        return _codes("legal_bases", v)

    @field_validator("max_marking")
    @classmethod
    def _marking(cls, v: str) -> str:
        return _codes("markings", [v])[0]

    @field_validator("categories", check_fields=False)
    @classmethod
    def _categories(cls, v: list[str]) -> list[str]:
        return _codes("categories", v)


class AgreementIn(_Terms):
    """What a party proposes; ``Agreement`` is the same terms with an id, as stored and signed."""

    valid_from: UtcDatetime
    valid_until: UtcDatetime | None = None
    # federation: which nodes speak for each party, what may cross, and where the parties act
    nodes: dict[OrgId, list[str]] = Field(default_factory=dict, description="party org id -> its node ids")
    categories: list[str] = Field(default_factory=list, description="vocabulary: categories")
    jurisdictions: list[str] = Field(default_factory=list, description="vocabulary: jurisdictions")

    @field_validator("jurisdictions")
    @classmethod
    def _jurisdictions(cls, v: list[str]) -> list[str]:
        return _codes("jurisdictions", v)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.parties)) != len(self.parties):
            raise ValueError("parties must not repeat")
        if len(set(self.purposes)) != len(self.purposes):
            raise ValueError("purposes must not repeat")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        seen: set[str] = set()
        for org, node_ids in self.nodes.items():
            if org not in self.parties:
                raise ValueError(f"nodes names {org!r}, which is not a party")
            for node in node_ids:
                if node in seen:  # one node speaks for one party, or a refusal could not say which
                    raise ValueError(f"node {node!r} is listed for more than one party")
                seen.add(node)
        return self


class LocalAgreementIn(_Terms):
    """An agreement between organisations hosted on this node (table ``agreements``), as an operator makes
    it (``accord agreement create``, ``POST /v1/agreements``). Unlike a signed agreement it names no nodes
    (every party is here) and its purposes must be codes of the ``purposes`` vocabulary: nothing older
    holds other spellings. It must name categories: one without lets nothing through, so it would open a
    collection that serves and accepts nothing."""

    categories: list[str] = Field(min_length=1, description="vocabulary: categories")
    valid_from: UtcDatetime | None = Field(None, description="default: now")
    valid_until: UtcDatetime | None = Field(None, description="default: open-ended (until ended)")

    # field by field, so that each refusal points at its field (``/parties``, ``/valid_until``)
    @field_validator("parties")
    @classmethod
    def _parties(cls, v: list[OrgId]) -> list[OrgId]:
        if len(set(v)) != len(v):
            raise ValueError("parties must not repeat")
        return v

    @field_validator("purposes")
    @classmethod
    def _purposes(cls, v: list[str]) -> list[str]:
        return _codes("purposes", v)

    @field_validator("valid_until")
    @classmethod
    def _until(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("valid_from")
        if v is not None and start is not None and v <= start:
            raise ValueError("valid_until must be after valid_from")
        return v


class Agreement(Outbound):
    id: str
    parties: list[OrgId]
    purposes: list[str]
    legal_bases: list[str]
    max_marking: str
    retention_days: int
    onward_sharing: bool
    valid_from: datetime
    valid_until: datetime | None
    created_at: datetime
    nodes: dict[OrgId, list[str]] = Field(default_factory=dict)
    categories: list[str] = Field(default_factory=list)
    jurisdictions: list[str] = Field(default_factory=list)

    def party_of(self, node: str) -> OrgId | None:
        """The party ``node`` speaks for under this agreement, if any."""
        for org, node_ids in self.nodes.items():
            if node in node_ids:
                return org
        return None


class LocalAgreement(Outbound):
    """A local agreement as listed and read: its clauses, and whether it is in force now (``valid_from`` <=
    now < ``valid_until``); an ended one keeps its row, with ``valid_until`` the moment it was ended."""

    id: str
    parties: list[str]
    purposes: list[str]
    legal_bases: list[str]
    categories: list[str]
    max_marking: str
    retention_days: int
    onward_sharing: bool
    valid_from: datetime
    valid_until: datetime | None
    created_at: datetime
    in_force: bool
