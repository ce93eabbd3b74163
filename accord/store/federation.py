"""Federation's records: signed agreements as both parties hold them, received nonces, and envelopes.

``DbNonceStore`` is ``accord.exchange.nonce.NonceStore`` over the ``federation_nonces`` table, bound to
the caller's transaction: the nonce of an accepted envelope commits with the envelope and its custody
leaves, and a refused envelope's transaction rolls back, so a refusal leaves nothing behind (not even
its nonce). Uniqueness is the table's primary key (sender, nonce), so two workers receiving the same
envelope at once cannot both accept it: on PostgreSQL the second insert waits for the first commit and
then finds the row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from accord.errors import Conflict, NotFound
from accord.exchange.agreement import SignedAgreement
from accord.model.agreement import Agreement
from accord.store.schema import federation_envelopes, federation_nonces, signed_agreements

__all__ = [
    "DbNonceStore",
    "EnvelopeRow",
    "envelopes",
    "get_envelope",
    "get_signed_agreement",
    "insert_envelope",
    "insert_signed_agreement",
    "list_signed_agreements",
    "sent_to",
    "set_receipt",
    "spoken_agreement",
]


# --- signed agreements ----------------------------------------------------------------------------


def insert_signed_agreement(conn: Connection, signed: SignedAgreement, at: datetime) -> None:
    a = signed.agreement
    if conn.execute(select(signed_agreements.c.id).where(signed_agreements.c.id == a.id)).first() is not None:
        raise Conflict(f"agreement {a.id} is already stored")
    conn.execute(
        insert(signed_agreements).values(
            id=a.id,
            signed=signed.to_json().decode(),
            parties=list(a.parties),
            valid_from=a.valid_from,
            valid_until=a.valid_until,
            stored_at=at,
        )
    )


def get_signed_agreement(conn: Connection, agreement_id: str) -> SignedAgreement:
    row = conn.execute(select(signed_agreements.c.signed).where(signed_agreements.c.id == agreement_id)).first()
    if row is None:
        raise NotFound(f"no agreement {agreement_id}")
    return SignedAgreement.from_json(row.signed.encode())


def spoken_agreement(conn: Connection, agreement_id: str, node_id: str, org_id: str) -> Agreement:
    """The stored agreement under which this node (``node_id``) speaks for ``org_id``; any other agreement
    is reported missing, as if it were not stored, so a caller learns nothing of other parties' terms."""
    try:
        agreement = get_signed_agreement(conn, agreement_id).agreement
    except NotFound:
        agreement = None
    if agreement is None or agreement.party_of(node_id) != org_id:
        raise NotFound(f"no agreement {agreement_id} that this node speaks for {org_id} under")
    return agreement


def list_signed_agreements(conn: Connection) -> list[SignedAgreement]:
    rows = conn.execute(select(signed_agreements.c.signed).order_by(signed_agreements.c.valid_from))
    return [SignedAgreement.from_json(r.signed.encode()) for r in rows]


# --- nonces ---------------------------------------------------------------------------------------


class DbNonceStore:
    """Replay protection in the database, inside the caller's transaction (module docstring)."""

    def __init__(self, conn: Connection, horizon: timedelta = timedelta(seconds=600)) -> None:
        self.conn = conn
        self.horizon = horizon

    def add(self, sender: str, nonce: str, created: datetime, now: datetime) -> bool:
        n = federation_nonces
        self.conn.execute(delete(n).where(n.c.created < now - self.horizon))
        dialect_insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        stmt = dialect_insert(n).values(sender=sender, nonce=nonce, created=created).on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports no reliable rowcount for a skipped conflict
        return self.conn.execute(stmt.returning(n.c.nonce)).first() is not None

    def __len__(self) -> int:
        return len(self.conn.execute(select(federation_nonces.c.nonce)).all())


# --- envelopes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvelopeRow:
    id: str
    org_id: str
    direction: str  # "in" (accepted here) or "out" (sent from here)
    peer: str
    agreement_id: str
    digest: str
    raw: bytes
    receipt: bytes | None
    verdict: str | None
    reason: str | None
    clause: str | None
    at: datetime


def _row(r: Any) -> EnvelopeRow:
    return EnvelopeRow(
        r.id,
        r.org_id,
        r.direction,
        r.peer,
        r.agreement_id,
        r.digest,
        bytes(r.raw),
        None if r.receipt is None else bytes(r.receipt),
        r.verdict,
        r.reason,
        r.clause,
        r.at,
    )


def insert_envelope(conn: Connection, row: EnvelopeRow) -> None:
    conn.execute(
        insert(federation_envelopes).values(
            id=row.id,
            org_id=row.org_id,
            direction=row.direction,
            peer=row.peer,
            agreement_id=row.agreement_id,
            digest=row.digest,
            raw=row.raw,
            receipt=row.receipt,
            verdict=row.verdict,
            reason=row.reason,
            clause=row.clause,
            at=row.at,
        )
    )


def set_receipt(
    conn: Connection, envelope_id: str, receipt: bytes, verdict: str, reason: str | None, clause: str | None
) -> None:
    t = federation_envelopes
    conn.execute(
        update(t).where(t.c.id == envelope_id).values(receipt=receipt, verdict=verdict, reason=reason, clause=clause)
    )


def get_envelope(conn: Connection, org_id: str, envelope_id: str) -> EnvelopeRow:
    t = federation_envelopes
    row = conn.execute(select(t).where(t.c.id == envelope_id, t.c.org_id == org_id)).first()
    if row is None:
        raise NotFound(f"no envelope {envelope_id}")
    return _row(row)


def sent_to(conn: Connection, peer: str, envelope_digest: str) -> EnvelopeRow:
    """The envelope this node sent to ``peer`` whose raw bytes have this digest (a receipt names it so)."""
    t = federation_envelopes
    q = select(t).where(t.c.digest == envelope_digest, t.c.peer == peer, t.c.direction == "out").order_by(t.c.at)
    row = conn.execute(q).first()
    if row is None:
        raise NotFound(f"no envelope {envelope_digest} sent to {peer}")
    return _row(row)


def envelopes(conn: Connection, org_id: str, direction: str | None = None) -> Iterator[EnvelopeRow]:
    """The organisation's envelopes, oldest first."""
    t = federation_envelopes
    q = select(t).where(t.c.org_id == org_id).order_by(t.c.at, t.c.id)
    if direction is not None:
        q = q.where(t.c.direction == direction)
    for r in conn.execute(q):
        yield _row(r)
