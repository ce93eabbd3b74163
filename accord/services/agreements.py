"""Local agreements: made, listed and ended between organisations hosted on this node (docs/federation.md,
"Stored agreements").

The other kind, signed agreements with peers, is ``accord.services.peers``. A local agreement is what
banks (who may match against a bank bound to it), retention caps and TAXII collections (one per agreement)
refer to. Making or ending one binds several organisations, so it is an operator admin's act
(``agreement.manage``, operator-only) or the operator's at the console (``actor`` None, audited as the
node); an organisation reads the agreements it is party to. Ending one closes its window and never
deletes it: banks, retention rules and custody leaves name it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from accord.errors import Conflict, Invalid
from accord.model.agreement import LocalAgreement, LocalAgreementIn
from accord.model.organisation import Actor
from accord.safeguards.policy import Action, allowed
from accord.services.audit import authorize, draft, refusals
from accord.services.node import Node
from accord.store import agreements as store
from accord.store import audit as audit_store
from accord.store import orgs as org_store

__all__ = ["create", "end", "get", "list_agreements"]


def _scope(node: Node, actor: Actor | None) -> str | None:
    """Whose agreements the caller reads: None (all) for the console and the operator's admins."""
    if actor is None:
        return None
    authorize(node, actor, Action.agreement_read)
    return None if allowed(actor, Action.agreement_manage) else actor.org_id


@contextmanager
def _managing(node: Node, actor: Actor | None, action: str, request_id: str | None) -> Iterator[None]:
    """An operator admin's or the console's change. An actor's refusal is audited (outcome ``refused``);
    at the console the operator reads the message."""
    if actor is None:
        yield
        return
    authorize(node, actor, Action.agreement_manage, request_id)
    with refusals(node, actor, action, request_id):
        yield


def create(node: Node, actor: Actor | None, terms: LocalAgreementIn, request_id: str | None = None) -> LocalAgreement:
    """Make an agreement between organisations hosted here, in force from ``valid_from`` (default now);
    audited ``agreement.create``. Every party must be an organisation of this node, and the window must
    still be open now; a refusal names the field (``/parties/1``, ``/valid_until``) and stores nothing."""
    with _managing(node, actor, "agreement.create", request_id):
        now = node.clock.now()
        start = terms.valid_from or now
        if terms.valid_until is not None and terms.valid_until <= now:
            raise Invalid.at(
                "/valid_until", f"{terms.valid_until.isoformat()} is past: the agreement would never be in force"
            )
        if terms.valid_until is not None and terms.valid_until <= start:
            raise Invalid.at("/valid_until", f"must be after valid_from ({start.isoformat()})")
        with node.db.write() as conn:
            for i, org in enumerate(terms.parties):
                if not org_store.org_exists(conn, org):
                    raise Invalid.at(f"/parties/{i}", f"{org} is no organisation hosted on this node")
            agreement = LocalAgreement(
                id=node.ids("agr"),
                parties=list(terms.parties),
                purposes=list(terms.purposes),
                legal_bases=list(terms.legal_bases),
                categories=list(terms.categories),
                max_marking=terms.max_marking,
                retention_days=terms.retention_days,
                onward_sharing=terms.onward_sharing,
                valid_from=start,
                valid_until=terms.valid_until,
                created_at=now,
                in_force=start <= now,
            )
            store.insert_agreement(conn, agreement)
            audit_store.append(conn, [_event(node, conn, actor, "agreement.create", agreement, request_id)])
    return agreement


def _event(
    node: Node, conn: Connection, actor: Actor | None, action: str, a: LocalAgreement, request_id: str | None
) -> audit_store.AuditDraft:
    org = None if actor is not None else org_store.operator_org_id(conn)
    detail: dict[str, object] = {"parties": list(a.parties), "categories": list(a.categories)}
    if a.valid_until is not None:
        detail["valid_until"] = a.valid_until.isoformat()
    return draft(node, actor, action, "agreement", a.id, request_id=request_id, detail=detail, org_id=org)


def list_agreements(node: Node, actor: Actor | None, *, in_force: bool = False) -> list[LocalAgreement]:
    """The agreements the caller's organisation is party to (the operator's admins and the console: all),
    oldest first; ``in_force``: only those valid now."""
    org_id = _scope(node, actor)
    with node.db.read() as conn:
        return store.list_agreements(conn, org_id, node.clock.now(), in_force=in_force)


def get(node: Node, actor: Actor | None, agreement_id: str) -> LocalAgreement:
    """One agreement; one the organisation is no party to is "not found", as a missing one."""
    org_id = _scope(node, actor)
    with node.db.read() as conn:
        return store.get(conn, org_id, agreement_id, node.clock.now())


def end(node: Node, actor: Actor | None, agreement_id: str, request_id: str | None = None) -> LocalAgreement:
    """End an agreement now: ``valid_until`` becomes now (or ``valid_from``, for one not yet in force, so
    it never comes into force). From then on its TAXII collection is not served, banks bound to it are
    their owner's alone and nothing more is shared under it; the row stays. Audited ``agreement.end``;
    one that is over already is a conflict."""
    with _managing(node, actor, "agreement.end", request_id), node.db.write() as conn:
        now = node.clock.now()
        current = store.get(conn, None, agreement_id, now, lock=True)
        if current.valid_until is not None and current.valid_until <= now:
            raise Conflict(f"agreement {agreement_id} is over already (valid until {current.valid_until.isoformat()})")
        ended = store.end(conn, agreement_id, max(now, current.valid_from), now)
        audit_store.append(conn, [_event(node, conn, actor, "agreement.end", ended, request_id)])
    return ended
