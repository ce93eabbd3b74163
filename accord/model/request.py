"""Cross-border requests (docs/federation.md, "Requests"): preservation, disclosure (a mutual legal assistance
request for evidence) and urgent disclosure, as objects that travel in sync with a status both ends see.

A request's history is a list of events, each made by one side (the requester or the addressee) and
numbered per side. Its state is not stored as such but folded from the events (``fold``), ordered by
(time, side, number): an event that is not allowed from the state reached so far is kept but has no effect.
Each side appends only its own events and the other side receives them, so both ends hold the same events
and fold them to the same state, even when the two acted at once (the requester's expiry and the
addressee's answer, say: the earlier one wins at both ends).

The content is minimal and neutral: kind, legal basis, the requesting case's id, the identifier keys
concerned (normalised keys such as ``account:svc/handle``, never narrative or sealed data), a short
reference and the deadline. An answer carries only its code and time; no evidence travels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from accord.model.base import Inbound, Outbound, UtcDatetime
from accord.model.identifier import IdentifierKind

__all__ = [
    "ANSWER_CODES",
    "KINDS",
    "PURPOSES",
    "TERMINAL",
    "Folded",
    "Request",
    "RequestEvent",
    "RequestIn",
    "RequestItem",
    "RequestKind",
    "RequestState",
    "Side",
    "Transition",
    "TransitionIn",
    "check",
    "fold",
    "rule",
]

RequestKind = Literal["preservation", "disclosure", "urgent-disclosure"]
KINDS: tuple[RequestKind, ...] = ("preservation", "disclosure", "urgent-disclosure")
RequestState = Literal["draft", "sent", "acknowledged", "answered", "refused", "expired", "withdrawn"]
TERMINAL = frozenset({"answered", "refused", "expired", "withdrawn"})
Transition = Literal["create", "send", "withdraw", "acknowledge", "answer", "refuse", "extend", "expire"]
Side = Literal["requester", "addressee"]

PURPOSES: dict[str, tuple[str, ...]] = {
    "preservation": ("preservation", "mutual-legal-assistance"),
    "disclosure": ("mutual-legal-assistance",),
    "urgent-disclosure": ("mutual-legal-assistance",),
}
"""The agreement purposes (free codes the parties agree) that allow a request of each kind: one of them must
be listed in the agreement it is sent under."""

ANSWER_CODES: dict[str, tuple[Transition, frozenset[str]]] = {
    "preserved": ("answer", frozenset({"preservation"})),
    "disclosed": ("answer", frozenset({"disclosure", "urgent-disclosure"})),
    "no-data": ("answer", frozenset(KINDS)),
    "refused-legal": ("refuse", frozenset(KINDS)),
    "refused-scope": ("refuse", frozenset(KINDS)),
}
"""Answer codes: the transition each goes with and the kinds it answers."""

# transition -> (the side that makes it, the states it is made from, the state it leads to; None: unchanged)
_RULES: dict[str, tuple[Side, frozenset[str | None], str | None]] = {
    "create": ("requester", frozenset({None}), "draft"),
    "send": ("requester", frozenset({"draft"}), "sent"),
    "withdraw": ("requester", frozenset({"draft", "sent", "acknowledged"}), "withdrawn"),
    "acknowledge": ("addressee", frozenset({"sent"}), "acknowledged"),
    "answer": ("addressee", frozenset({"sent", "acknowledged"}), "answered"),
    "refuse": ("addressee", frozenset({"sent", "acknowledged"}), "refused"),
    "extend": ("requester", frozenset({"sent", "acknowledged", "answered"}), None),
    "expire": ("requester", frozenset({"sent", "acknowledged"}), "expired"),
}

_KEY = re.compile(r"^([a-z]+):(\S+)$")
_SIDE_ORDER = {"requester": 0, "addressee": 1}


class RequestEvent(Outbound):
    """One step of a request's history, made by one side (``n``: its number among that side's events)."""

    side: Side
    n: int = Field(ge=1)
    transition: Transition
    at: UtcDatetime
    code: str | None = Field(None, max_length=40, description="answer and refuse: the answer code")
    deadline: UtcDatetime | None = Field(None, description="extend: the new deadline")
    applied: bool = Field(True, description="False: not allowed from the state reached before it (no effect)")


@dataclass(frozen=True)
class Folded:
    state: str
    deadline: datetime
    answer_code: str | None
    answered_at: datetime | None
    events: list[RequestEvent]


def rule(transition: str) -> tuple[Side, frozenset[str | None]]:
    """The side that makes ``transition`` and the states it is made from."""
    side, sources, _ = _RULES[transition]
    return side, sources


def check(kind: str, state: str | None, deadline: datetime, event: RequestEvent) -> str | None:
    """Why ``event`` is not allowed from ``state`` (None: it is)."""
    side, sources, _ = _RULES[event.transition]
    if event.side != side:
        return f"only the {side} may {event.transition} a request"
    if state not in sources:
        return f"a request in state {state or 'none'} cannot be {event.transition}"
    if event.transition in ("answer", "refuse"):
        rule = ANSWER_CODES.get(event.code or "")
        if rule is None or rule[0] != event.transition:
            codes = sorted(c for c, (t, _) in ANSWER_CODES.items() if t == event.transition)
            return f"{event.transition} needs a code among {', '.join(codes)}"
        if kind not in rule[1]:
            return f"code {event.code} does not answer a {kind} request"
    elif event.code is not None:
        return f"{event.transition} takes no code"
    if event.transition == "extend":
        if kind != "preservation":
            return "only a preservation request is extended"
        if event.deadline is None or event.deadline <= deadline:
            return "an extension needs a deadline after the current one"
    elif event.deadline is not None:
        return f"{event.transition} takes no deadline"
    if event.transition == "expire" and event.at < deadline:
        return "a request expires only once its deadline has passed"
    return None


def fold(kind: str, deadline: datetime, events: list[RequestEvent]) -> Folded:
    """The state the events lead to (module docstring), each marked applied or not."""
    state: str | None = None
    code: str | None = None
    answered_at: datetime | None = None
    out: list[RequestEvent] = []
    for e in sorted(events, key=lambda e: (e.at, _SIDE_ORDER[e.side], e.n)):
        ok = check(kind, state, deadline, e) is None
        out.append(e if e.applied == ok else e.model_copy(update={"applied": ok}))
        if not ok:
            continue
        target = _RULES[e.transition][2]
        if target is not None:
            state = target
        if e.transition in ("answer", "refuse"):
            code, answered_at = e.code, e.at
        if e.transition == "extend" and e.deadline is not None:
            deadline = e.deadline
    return Folded(state or "draft", deadline, code, answered_at, out)


def _keys(keys: list[str]) -> list[str]:
    kinds = {k.value for k in IdentifierKind}
    for i, key in enumerate(keys):
        m = _KEY.match(key)
        if m is None or m.group(1) not in kinds:
            raise ValueError(f"keys/{i}: not a normalised identifier key (kind:value, kind one of {sorted(kinds)})")
    if len(set(keys)) != len(keys):
        raise ValueError("keys must not repeat")
    return keys


_REFERENCE = r"^[A-Za-z0-9][A-Za-z0-9./_-]{0,59}$"
_ID = r"^[A-Za-z0-9_-]{1,100}$"


class RequestIn(Inbound):
    """A new request (a draft until sent)."""

    agreement_id: str = Field(min_length=1, max_length=40, description="the signed agreement it goes under")
    kind: RequestKind
    legal_basis: str = Field(min_length=1, max_length=40, description="vocabulary: legal_bases")
    case_id: str = Field(pattern=_ID, description="the requesting case (one of the organisation's)")
    keys: list[str] = Field(
        min_length=1, max_length=50, description="normalised identifier keys concerned, e.g. account:svc/handle"
    )
    reference: str = Field(pattern=_REFERENCE, description="a short reference (no spaces: never narrative)")
    to_org: str | None = Field(None, max_length=40, description="the addressee party (default: the other party)")
    deadline: UtcDatetime | None = Field(
        None, description="disclosure: required; preservation: at least the minimum (default 90 days)"
    )
    category: str | None = Field(None, max_length=40, description="the data category it travels as")
    marking: str | None = Field(None, max_length=20, description="its marking (default: the agreement's maximum)")

    @field_validator("keys")
    @classmethod
    def _valid_keys(cls, v: list[str]) -> list[str]:
        for key in v:
            if len(key) > 600:
                raise ValueError("an identifier key is at most 600 characters")
        return _keys(v)


class TransitionIn(Inbound):
    """A step on an existing request (``POST /v1/requests/{id}:send`` and the others)."""

    code: str | None = Field(None, max_length=40, description="answer and refuse: the answer code")
    deadline: UtcDatetime | None = Field(None, description="extend: the new deadline")


class RequestItem(Inbound):
    """What a feed item of kind ``request`` carries (a wire shape: any other field is refused). The
    requester's items carry the request itself and the requester's events; the addressee's only the
    request's id, parties and agreement, and the addressee's events."""

    id: str = Field(pattern=_ID)
    agreement: str = Field(min_length=1, max_length=40)
    from_org: str = Field(min_length=1, max_length=40)
    to_org: str = Field(min_length=1, max_length=40)
    side: Side
    events: list[RequestEvent] = Field(min_length=1, max_length=1000)
    kind: RequestKind | None = None
    legal_basis: str | None = Field(None, max_length=40)
    case_id: str | None = Field(None, pattern=_ID)
    keys: list[str] | None = Field(None, min_length=1, max_length=50)
    reference: str | None = Field(None, pattern=_REFERENCE)
    deadline: UtcDatetime | None = None
    created_at: UtcDatetime | None = None

    @field_validator("keys")
    @classmethod
    def _valid_keys(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _keys(v)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        header = (self.kind, self.legal_basis, self.case_id, self.keys, self.reference, self.deadline, self.created_at)
        if self.side == "requester" and any(v is None for v in header):
            raise ValueError("the requester's item carries the request")
        if self.side == "addressee" and any(v is not None for v in header):
            raise ValueError("the addressee's item carries only its events")
        if any(e.side != self.side for e in self.events):
            raise ValueError("an item carries the events of its side only")
        ns = [e.n for e in self.events]
        if ns != list(range(1, len(ns) + 1)):
            raise ValueError("an item carries its side's events numbered 1, 2, ...")
        return self


class Request(Outbound):
    """A request as one end holds it: ``role`` says which end."""

    id: str
    origin_node: str = Field(description="the requester's node")
    role: Side
    org_id: str = Field(description="the organisation holding it here")
    peer: str = Field(description="the other end's node")
    agreement_id: str
    kind: RequestKind
    legal_basis: str
    case_id: str
    keys: list[str]
    reference: str
    from_org: str
    to_org: str
    category: str
    marking: str
    state: RequestState
    deadline: datetime
    initial_deadline: datetime = Field(description="the deadline it was sent with (extensions are events)")
    answer_code: str | None
    answered_at: datetime | None
    created_at: datetime
    changed_at: datetime
    escalated_at: datetime | None
    events: list[RequestEvent]
