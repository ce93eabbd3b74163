"""/v1/banks: hash and URL banks, their entries, and their export (docs/matching.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.bank import Bank, BankIn, EntriesAdded, EntriesIn, Entry, RetractIn
from accord.model.verdict import EntryFlag
from accord.services import banks as service
from accord.signals.bank_files import write_csv

router = APIRouter(prefix="/v1/banks", tags=["banks"])


class EntryPage(BaseModel):
    items: list[Entry]
    next_cursor: int | None


@router.post("", status_code=201, response_model=Bank)
def create_bank(body: BankIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Bank:
    """Create a bank of the organisation's (a duplicate name is a 409)."""
    return service.create(node, actor, body, rid)


@router.get("", response_model=list[Bank])
def list_banks(actor: CurrentActor, node: NodeDep, rid: RequestId) -> list[Bank]:
    """The organisation's banks and those shared with it through a valid agreement."""
    return service.list_banks(node, actor, rid)


@router.get("/{bank_id}", response_model=Bank)
def read_bank(bank_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Bank:
    return service.get(node, actor, bank_id, rid)


@router.post("/{bank_id}/entries", response_model=EntriesAdded)
def add_entries(bank_id: str, body: EntriesIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> EntriesAdded:
    """Add a batch of entries (all or none); values already in the bank are counted, not added again."""
    return service.add_entries(node, actor, bank_id, body, rid)


@router.get("/{bank_id}/entries", response_model=EntryPage)
def list_entries(
    bank_id: str,
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    after: Annotated[int | None, Query(description="the next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
    removed: Annotated[bool, Query(description="include removed and retracted entries")] = False,
) -> EntryPage:
    page = service.list_entries(node, actor, bank_id, after, limit, include_removed=removed, request_id=rid)
    return EntryPage(items=page.items, next_cursor=page.next_cursor)


@router.delete("/{bank_id}/entries/{entry_id}", response_model=Entry)
def remove_entry(bank_id: str, entry_id: int, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Entry:
    """Remove an entry: it stops matching from the bank's next version. Removing it again changes nothing."""
    return service.remove_entry(node, actor, bank_id, entry_id, rid)


@router.post("/{bank_id}/entries/{entry_id}:retract", response_model=Entry)
def retract_entry(
    bank_id: str, entry_id: int, body: RetractIn, actor: CurrentActor, node: NodeDep, rid: RequestId
) -> Entry:
    """Retract an entry (it was wrong): removed, and flagged with the reason."""
    return service.retract_entry(node, actor, bank_id, entry_id, body.reason, rid)


@router.get("/{bank_id}/flags", response_model=list[EntryFlag])
def bank_flags(bank_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> list[EntryFlag]:
    """The bank's entries flagged for false positives (the owner's to read: counts, never whose matches)."""
    return service.flags(node, actor, bank_id, rid)


@router.get("/{bank_id}/export")
def export_bank(
    bank_id: str,
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    format: Annotated[Literal["csv"], Query(description="csv: HMA's signal-exchange CSV layout")] = "csv",
) -> Response:
    out = service.export(node, actor, bank_id, rid)
    body = write_csv(out.bank.name, out.bank.type, out.values)
    return Response(body, media_type="text/csv; charset=utf-8")
