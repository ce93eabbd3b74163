"""/v1/custody: the signed checkpoint (public), inclusion and consistency proofs, and one's own entries.

Hashes are lower-case hex here, as everywhere else in the API; only the checkpoint note carries its root
in base64, as the C2SP format prescribes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.services import custody as service

router = APIRouter(prefix="/v1/custody", tags=["custody"])

_MAX = 2**63 - 1  # sizes and sequence numbers are stored as signed 64-bit integers
_HEX = "^[0-9a-f]{64}$"


class InclusionProofOut(BaseModel):
    seq: int = Field(description="the leaf's position in the log, from 0")
    tree_size: int
    leaf_hash: str = Field(description="RFC 9162 leaf hash: SHA-256(0x00 || leaf)")
    root_hash: str = Field(description="the root of the tree of tree_size leaves: check it against a signed checkpoint")
    proof: list[str] = Field(description="RFC 9162 section 2.1.3 inclusion proof, bottom up")


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str] = Field(description="RFC 9162 section 2.1.4 consistency proof")


class EntryOut(BaseModel):
    seq: int
    leaf_hash: str
    leaf: str = Field(description="the leaf's exact bytes: RFC 8785 canonical JSON of the entry")
    entry: dict[str, Any] = Field(description="the same entry, parsed")


@router.get(
    "/checkpoint",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "a C2SP signed note (tlog-checkpoint)"}},
)
def checkpoint(node: NodeDep) -> Response:
    """The log's newest signed checkpoint (public: it names only the log's size and root)."""
    signed = service.current_checkpoint(node)
    return Response(signed.note, media_type="text/plain; charset=utf-8")


@router.get("/proof/inclusion", response_model=InclusionProofOut)
def inclusion_proof(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    seq: int | None = Query(default=None, ge=0, le=_MAX, description="the entry's sequence number"),
    leaf_hash: str | None = Query(default=None, pattern=_HEX, description="or the leaf hash, hex"),
    size: int | None = Query(default=None, ge=0, le=_MAX, description="tree size (default: the current one)"),
) -> InclusionProofOut:
    p = service.inclusion_proof(
        node, actor, seq=seq, leaf_hash=bytes.fromhex(leaf_hash) if leaf_hash else None, size=size, request_id=rid
    )
    return InclusionProofOut(
        seq=p.seq,
        tree_size=p.tree_size,
        leaf_hash=p.leaf_hash.hex(),
        root_hash=p.root_hash.hex(),
        proof=[h.hex() for h in p.proof],
    )


@router.get("/proof/consistency", response_model=ConsistencyProofOut)
def consistency_proof(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    first: int = Query(ge=0, le=_MAX, description="the older tree size"),
    second: int | None = Query(default=None, ge=0, le=_MAX, description="the newer tree size (default: current)"),
) -> ConsistencyProofOut:
    p = service.consistency_proof(node, actor, first, second, rid)
    return ConsistencyProofOut(
        first=p.first,
        second=p.second,
        first_root=p.first_root.hex(),
        second_root=p.second_root.hex(),
        proof=[h.hex() for h in p.proof],
    )


@router.get("/entries/{seq}", response_model=EntryOut)
def read_entry(actor: CurrentActor, node: NodeDep, rid: RequestId, seq: int = Path(ge=0, le=_MAX)) -> EntryOut:
    """One custody entry of your own organisation (another organisation's is 404, as a missing one)."""
    e = service.entry(node, actor, seq, rid)
    return EntryOut(seq=e.seq, leaf_hash=e.leaf_hash.hex(), leaf=e.leaf.decode(), entry=e.document())
