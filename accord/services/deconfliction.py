"""Deconfliction between nodes: a PSI run over signed envelopes, rate-limited per peer, audited on both sides.

The three PSI messages (``accord.exchange.psi``: offer, reply, finish) travel as signed envelopes under a
stored agreement whose purposes include ``deconfliction``; each side opens what it receives with the same
checks as the inbox (signature, freshness, replay, agreement) and keeps every envelope verbatim with a
custody leaf, so both logs prove what was exchanged: blinded points and truncated tags, never an item::

    initiator (A)                                        responder (B), POST /v1/deconfliction/envelopes
    offer envelope  ------------------------------------>  opened, rate limit checked, reply sealed
                    <------------------------------------  reply envelope (names the offer's digest)
    A learns its result, records it (alert if any)
    finish envelope ------------------------------------>  B learns its result, records it (alert if any)
                    <------------------------------------  signed receipt

Set ``pdq`` (near-duplicate PDQ hashes, ``accord.exchange.psi_pdq``) puts two messages before the finish:
the offer is round 1's (chunk keys), then ``pdq-candidates`` (round 1's finish and round 2's offers) is
answered with ``pdq-distances`` (A learns its result), then ``pdq-finish`` with a signed receipt.

Between two messages the responder keeps its half of the session in the database
(``deconfliction_sessions``: the message it expects, its state, 10 minutes), so a restart or another
worker goes on with it; at most ``ACCORD_DECONFLICTION_OPEN_SESSIONS`` per peer at once.

The result is stored for the organisation each node speaks for under the agreement: which of its own
items the other holds (members mode) or only how many (count mode), under a reference number that both
sides hold. A run that found overlaps raises a deconfliction alert on each side carrying only the
reference, the two organisations, the agreement and the count, so that the two can be introduced.

Rate limits: ``ACCORD_DECONFLICTION_DAILY_LIMIT`` runs per peer over the last 24 hours, counted apart for
the runs a node starts (refused before anything leaves) and those it answers (a peer's offer beyond the
limit is refused with a signed receipt, reason ``rate-limit``, HTTP 429). Every run and every refusal is
an audit event: ``deconfliction.query`` on the initiator, ``deconfliction.answer`` on the responder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from accord.custody.entry import CustodyAction, CustodyEntry
from accord.errors import AccordError, Invalid, NotFound, RateLimited, Unavailable
from accord.exchange.agreement import ObjectMeta, check_outgoing
from accord.exchange.envelope import Opened, Refused, digest, open_envelope, seal
from accord.exchange.psi import Finish, Initiator, Mode, Offer, Reply, Responder
from accord.exchange.psi_pdq import (
    MAX_THRESHOLD,
    Candidates,
    Distances,
    Finishes,
    PdqInitiator,
    PdqResponder,
    radius_for,
)
from accord.exchange.receipt import receipt, verify_receipt
from accord.ids import ActorId, OrgId
from accord.model.agreement import Agreement
from accord.model.organisation import Actor
from accord.safeguards.policy import Action
from accord.services import custody
from accord.services.audit import authorize, draft
from accord.services.audit import record as audit_record
from accord.services.federation import post_signed
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import deconfliction as store
from accord.store import federation as fed_store
from accord.store import orgs as org_store
from accord.store import peers as peer_store
from accord.store.deconfliction import Alert, Run
from accord.store.federation import DbNonceStore, EnvelopeRow

__all__ = [
    "MARKING",
    "PATH",
    "PURPOSE",
    "SETS",
    "Answer",
    "answer",
    "default_threshold",
    "get_run",
    "list_alerts",
    "list_runs",
    "start",
]

PATH = "/v1/deconfliction/envelopes"
PURPOSE = "deconfliction"
"""The purpose an agreement must list for its parties to deconflict, and every PSI envelope states."""
SETS = ("identifiers", "hashes", "pdq")
MARKING = "GREEN"
"""The marking of PSI envelopes: they carry blinded points and truncated tags, which no one can read."""
DAY = timedelta(days=1)
SESSION_TTL = timedelta(minutes=10)
"""How long the responder keeps a session's state for the initiator's next message."""


def _category(agreement: Agreement) -> str:
    """A PSI envelope carries no case content, but an envelope names a category the agreement allows; the
    agreement's first is taken (its purpose, ``deconfliction``, is the clause that allows the exchange)."""
    return agreement.categories[0] if agreement.categories else "other"


def _skew(node: Node) -> timedelta:
    return timedelta(seconds=node.settings.federation_skew_s)


def _nonces(node: Node, conn: Any) -> DbNonceStore:
    return DbNonceStore(conn, horizon=max(_skew(node) * 2, timedelta(seconds=600)))


def _entry(action: CustodyAction, actor_id: str, org_id: str, at: datetime, object_id: str, raw: bytes) -> CustodyEntry:
    object_type = "receipt" if action == CustodyAction.RECEIPT else "envelope"
    return CustodyEntry(
        action=action,
        actor_id=ActorId(actor_id),
        org_id=OrgId(org_id),
        at=at,
        object_type=object_type,
        object_id=object_id,
        digest=digest(raw).removeprefix("sha256:"),
        detail={"purpose": PURPOSE},
    )


def _store_envelope(
    node: Node,
    conn: Any,
    *,
    org: str,
    direction: str,
    peer: str,
    agreement_id: str,
    raw: bytes,
    at: datetime,
    actor_id: str,
    answer: bytes | None = None,
) -> str:
    """One envelope verbatim (``federation_envelopes``) with its custody leaf, in the caller's transaction."""
    env_id = node.ids("env")
    verdict = "accepted" if direction == "in" or answer is not None else None
    row = EnvelopeRow(env_id, org, direction, peer, agreement_id, digest(raw), raw, answer, verdict, None, None, at)
    fed_store.insert_envelope(conn, row)
    action = CustodyAction.SHARED_IN if direction == "in" else CustodyAction.SHARED_OUT
    leaves = [_entry(action, actor_id, org, at, env_id, raw)]
    if answer is not None:
        leaves.append(_entry(CustodyAction.RECEIPT, node.me.node_id, org, at, env_id, answer))
    custody.record(node, conn, leaves)
    return env_id


def _alert(node: Node, conn: Any, run: Run, count: int, at: datetime) -> Alert:
    alert = Alert(node.ids("dca"), run.org_id, run.reference, run.peer, run.peer_org, run.agreement_id, count, at)
    store.insert_alert(conn, alert)
    return alert


# --- the initiator ----------------------------------------------------------------------------------


def _agreement_with(node: Node, actor: Actor, peer: str, agreement_id: str | None) -> Agreement:
    """A stored agreement under which this node speaks for the actor's organisation, the peer speaks for
    another party, and deconfliction is a purpose; otherwise missing (never told apart)."""
    with node.db.read() as conn:
        stored = [s.agreement for s in fed_store.list_signed_agreements(conn)]
    for a in stored:
        if agreement_id is not None and a.id != agreement_id:
            continue
        mine, theirs = a.party_of(node.me.node_id), a.party_of(peer)
        if mine == actor.org_id and theirs is not None and theirs != mine and PURPOSE in a.purposes:
            return a
    named = f"agreement {agreement_id}" if agreement_id else "agreement"
    raise NotFound(f"no {named} with peer {peer} that allows deconfliction for this organisation")


def _refuse_query(node: Node, actor: Actor, peer: str, request_id: str | None, why: str, **detail: Any) -> None:
    audit_record(
        node,
        draft(
            node,
            actor,
            "deconfliction.query",
            "peer",
            peer,
            request_id=request_id,
            outcome="refused",
            detail={"peer": peer, "detail": why[:300], **detail},
        ),
    )


async def start(
    node: Node,
    actor: Actor,
    *,
    peer: str,
    kind: str,
    mode: str = "members",
    agreement_id: str | None = None,
    threshold: int | None = None,
    request_id: str | None = None,
) -> Run:
    """Run a deconfliction toward ``peer`` (module docstring) and return the initiator's stored run."""
    authorize(node, actor, Action.deconfliction_run, request_id)
    if kind not in SETS:
        raise Invalid.at("/set", f"set must be one of {', '.join(SETS)}")
    if mode not in ("members", "count"):
        raise Invalid.at("/mode", "mode must be members or count")
    if kind == "pdq":
        threshold = default_threshold(node) if threshold is None else threshold
        radius_for(threshold)  # refuses what psi_pdq cannot find
    elif threshold is not None:
        raise Invalid.at("/threshold", "a threshold is for set pdq only")
    with node.db.read() as conn:
        try:
            target = peer_store.get_peer(conn, peer)
        except NotFound:
            target = None
    if target is None or target.state != "trusted":
        _refuse_query(node, actor, peer, request_id, "no trusted peer", reason="unknown-peer")
        raise NotFound(f"no trusted peer {peer}")
    try:
        agreement = _agreement_with(node, actor, peer, agreement_id)
    except NotFound as e:
        _refuse_query(node, actor, peer, request_id, e.detail, reason="agreement")
        raise
    now = node.clock.now()
    category = _category(agreement)
    refusal = check_outgoing(agreement, ObjectMeta(node.me.node_id, peer, PURPOSE, MARKING, category, None), now)
    if refusal is not None:
        _refuse_query(node, actor, peer, request_id, str(refusal), reason="agreement", clause=refusal.clause)
        raise Refused("agreement", str(refusal), clause=refusal.clause)
    limit = node.settings.deconfliction_daily_limit
    with node.db.read() as conn:
        used = store.count_recent(conn, peer, "initiator", now - DAY)
        items = store.own_items(conn, actor.org_id, kind)
    if used >= limit:
        why = f"{used} deconfliction runs toward {peer} in the last 24 hours: the limit is {limit}"
        _refuse_query(node, actor, peer, request_id, why, reason="rate-limit")
        raise RateLimited(why, retry_after=int(DAY.total_seconds()))
    peer_org = agreement.party_of(peer)
    assert peer_org is not None
    psi: Initiator | PdqInitiator
    obj: dict[str, Any]
    if kind == "pdq":
        assert threshold is not None
        psi = PdqInitiator([i.removeprefix("pdq:") for i in items], threshold=threshold, mode=_mode(mode))
        obj = {"pdq": {"mode": mode, "threshold": threshold}}
    else:
        psi = Initiator(items, kind=kind, mode=_mode(mode))
        obj = {}
    offer = psi.offer()
    reference = node.ids("dcr")
    raw = seal(
        node.me,
        recipient=peer,
        agreement_id=agreement.id,
        purpose=PURPOSE,
        marking=MARKING,
        category=category,
        obj={**obj, "offer": offer.to_json(), "reference": reference, "type": "psi-offer"},
        now=now,
    )
    run = Run(
        node.ids("dcf"),
        actor.org_id,
        reference,
        "initiator",
        peer,
        peer_org,
        agreement.id,
        kind,
        mode,
        psi.session,
        "running",
        len(items),
        None,
        None,
        None,
        None,
        now,
        None,
        threshold,
    )
    with node.db.write() as conn:
        store.insert_run(conn, run)
        _store_envelope(
            node,
            conn,
            org=actor.org_id,
            direction="out",
            peer=peer,
            agreement_id=agreement.id,
            raw=raw,
            at=now,
            actor_id=actor.id,
        )
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "deconfliction.query",
                    "deconfliction",
                    run.id,
                    request_id=request_id,
                    detail=_detail(run),
                )
            ],
        )
    send = _Sender(node, actor, run, agreement, target.base_url, target.identity)
    try:
        reply_raw = await _post(node, target.base_url, raw, target.identity)
        reply = Reply.from_json(_open_answer(node, reply_raw, run, raw, agreement, "psi-reply", "reply"))
        if isinstance(psi, PdqInitiator):
            _keep_in(node, run, agreement, reply_raw)
            candidates = psi.candidates(reply)
            sent = send.seal(
                {"candidates": candidates.to_json(), "answers": digest(reply_raw), "type": "pdq-candidates"}
            )
            answer_raw = await _post(node, target.base_url, sent, target.identity)
            distances = Distances.from_json(
                _open_answer(node, answer_raw, run, sent, agreement, "pdq-distances", "distances")
            )
            found = psi.distances(distances)
            count, peer_size, members = found.count, found.peer_size, found.members
            members = frozenset(f"pdq:{h}" for h in members) if members is not None else None
        else:
            answer_raw = reply_raw
            result = psi.receive(reply)
            count, peer_size, members = result.count, result.peer_size, result.members
    except AccordError as e:
        _fail(node, actor, run, request_id, e)
        if isinstance(e, Refused) and e.reason == "rate-limit":
            raise RateLimited(f"peer {peer} refused: {e.detail}", retry_after=int(DAY.total_seconds())) from None
        raise
    at = node.clock.now()
    with node.db.write() as conn:
        _store_envelope(
            node,
            conn,
            org=actor.org_id,
            direction="in",
            peer=peer,
            agreement_id=agreement.id,
            raw=answer_raw,
            at=at,
            actor_id=peer,
        )
        listed = sorted(members) if members is not None else None
        store.finish_run(conn, run.id, state="done", at=at, count=count, peer_size=peer_size, members=listed)
        events = [_done_event(node, actor, "deconfliction.query", run, count, peer_size, request_id)]
        if count:
            alert = _alert(node, conn, run, count, at)
            events.append(_alert_event(node, actor, alert, request_id))
        audit_store.append(conn, events)
    if isinstance(psi, PdqInitiator):
        await send.finish({"finishes": psi.finishes().to_json(), "type": "pdq-finish"})
    else:
        await send.finish({"finish": psi.finish().to_json(), "type": "psi-finish"})
    with node.db.read() as conn:
        return store.get_run(conn, actor.org_id, run.id)


def default_threshold(node: Node) -> int:
    """The node's PDQ match threshold, within what PDQ deconfliction can find (``psi_pdq.MAX_THRESHOLD``)."""
    return min(node.settings.pdq_threshold, MAX_THRESHOLD)


def _mode(mode: str) -> Mode:
    return "count" if mode == "count" else "members"


def _detail(run: Run) -> dict[str, Any]:
    detail = {
        "peer": run.peer,
        "peer_org": run.peer_org,
        "agreement": run.agreement_id,
        "reference": run.reference,
        "set": run.set,
        "mode": run.mode,
        "own_size": run.own_size,
    }
    return detail | ({"threshold": run.threshold} if run.threshold is not None else {})


def _done_event(
    node: Node, actor: Actor | None, action: str, run: Run, count: int, peer_size: int, request_id: str | None
) -> audit_store.AuditDraft:
    detail = {**_detail(run), "step": "result", "count": count, "peer_size": peer_size}
    return draft(node, actor, action, "deconfliction", run.id, request_id=request_id, detail=detail, org_id=run.org_id)


def _alert_event(node: Node, actor: Actor | None, alert: Alert, request_id: str | None) -> audit_store.AuditDraft:
    detail = {"reference": alert.reference, "peer_org": alert.peer_org, "agreement": alert.agreement_id}
    return draft(
        node,
        actor,
        "deconfliction.alert",
        "deconfliction_alert",
        alert.id,
        request_id=request_id,
        detail={**detail, "count": alert.count},
        org_id=alert.org_id,
    )


def _fail(node: Node, actor: Actor, run: Run, request_id: str | None, e: AccordError) -> None:
    reason = e.reason if isinstance(e, Refused) else e.code
    with node.db.write() as conn:
        store.finish_run(conn, run.id, state="failed", at=node.clock.now(), detail=f"{reason}: {e.detail}")
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "deconfliction.query",
                    "deconfliction",
                    run.id,
                    request_id=request_id,
                    outcome="refused" if isinstance(e, Refused) else "failed",
                    detail={**_detail(run), "reason": reason, "detail": e.detail[:300]},
                )
            ],
        )


def _keep_in(node: Node, run: Run, agreement: Agreement, raw: bytes) -> None:
    """Store an envelope the peer answered with (a step before the result) with its custody leaf."""
    with node.db.write() as conn:
        _store_envelope(
            node,
            conn,
            org=run.org_id,
            direction="in",
            peer=run.peer,
            agreement_id=agreement.id,
            raw=raw,
            at=node.clock.now(),
            actor_id=run.peer,
        )


def _open_answer(node: Node, raw: bytes, run: Run, sent: bytes, agreement: Agreement, kind: str, name: str) -> Any:
    """The responder's answer envelope (``psi-reply`` or ``pdq-distances``), opened with the inbox's checks,
    naming the digest of the envelope it answers; its ``name`` member."""
    with node.db.write() as conn:  # its nonce commits now: an answer seen twice is a replay
        peers = peer_store.trusted_documents(conn, [run.peer])
        opened = open_envelope(
            raw,
            me=node.me.node_id,
            peers=peers,
            agreements={agreement.id: agreement},
            nonces=_nonces(node, conn),
            now=node.clock.now(),
            skew=_skew(node),
        )
    obj = opened.object
    if opened.sender != run.peer or opened.purpose != PURPOSE or obj.get("type") != kind:
        raise Refused("malformed", f"the answer is no {kind} from the peer asked", sender=opened.sender)
    if obj.get("reference") != run.reference or obj.get("answers") != digest(sent):
        raise Refused("malformed", f"the {kind} answers another message", sender=opened.sender)
    return obj.get(name)


@dataclass
class _Sender:
    """The initiator's envelopes after the offer, toward one peer for one run."""

    node: Node
    actor: Actor
    run: Run
    agreement: Agreement
    base_url: str
    identity: Any
    env_id: str = ""  # the last envelope sealed

    def seal(self, obj: dict[str, Any]) -> bytes:
        """Seal a message of the run and store it (with its custody leaf) before it leaves."""
        now = self.node.clock.now()
        raw = seal(
            self.node.me,
            recipient=self.run.peer,
            agreement_id=self.agreement.id,
            purpose=PURPOSE,
            marking=MARKING,
            category=_category(self.agreement),
            obj={**obj, "reference": self.run.reference},
            now=now,
        )
        with self.node.db.write() as conn:
            self.env_id = _store_envelope(
                self.node,
                conn,
                org=self.run.org_id,
                direction="out",
                peer=self.run.peer,
                agreement_id=self.agreement.id,
                raw=raw,
                at=now,
                actor_id=self.actor.id,
            )
        return raw

    async def finish(self, obj: dict[str, Any]) -> None:
        """Send the last message, which lets the responder learn its side; its receipt is kept. A responder
        that does not confirm leaves the initiator's result as it is (recorded in the run's detail)."""
        node, run = self.node, self.run
        raw = self.seal(obj)
        try:
            answer = await _post(node, self.base_url, raw, self.identity)
            got = verify_receipt(answer, sent=raw, receiver=self.identity)
        except AccordError as e:
            why = e.reason if isinstance(e, Refused) else e.code
            with node.db.write() as conn:
                store.finish_run(
                    conn, run.id, state="done", at=node.clock.now(), count=None, detail=f"finish not confirmed: {why}"
                )
            return
        at = node.clock.now()
        with node.db.write() as conn:
            fed_store.set_receipt(conn, self.env_id, answer, got.verdict, got.reason, got.clause)
            custody.record(
                node, conn, [_entry(CustodyAction.RECEIPT, self.actor.id, run.org_id, at, self.env_id, answer)]
            )
            if got.verdict != "accepted":
                store.finish_run(conn, run.id, state="done", at=at, detail=f"finish refused: {got.reason}")


async def _post(node: Node, base_url: str, raw: bytes, identity: Any) -> bytes:
    """The peer's answer to an envelope: the body of a 200; a refusal's signed receipt raises ``Refused``."""
    r = await post_signed(node, base_url + PATH, raw)
    if r.status_code == 200:
        return r.content
    try:
        signed = orjson.loads(r.content)["receipt"].encode()
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise Unavailable(f"peer at {base_url} answered {r.status_code} without a receipt") from None
    got = verify_receipt(signed, sent=raw, receiver=identity)
    raise Refused(
        got.reason or "refused", f"the peer refused the message ({got.reason}, {got.clause})", clause=got.clause
    )


# --- the responder ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the peer-facing endpoint answers: 200 with ``body`` (a reply envelope or a receipt), or a
    refusal with its signed receipt (HTTP 429 for the rate limit, 403 otherwise)."""

    body: bytes
    refused: Refused | None = None

    @property
    def status(self) -> int:
        if self.refused is None:
            return 200
        return 429 if self.refused.reason == "rate-limit" else 403


# the messages after an offer: the session state each needs, and the member that carries it
_NEXT = {"psi-finish": "finish", "pdq-candidates": "candidates", "pdq-finish": "finishes"}


def answer(node: Node, raw: bytes, request_id: str | None = None) -> Answer:
    """A peer's PSI envelope: an offer is answered with a reply envelope, PDQ candidates with a distances
    envelope, a finish (``psi-finish``, ``pdq-finish``) with a receipt."""
    me, now = node.me, node.clock.now()
    audit_org: str | None = None
    session_key: tuple[str, str] | None = None
    try:
        with node.db.write() as conn:
            peers = peer_store.trusted_documents(conn)
            agreements = {s.agreement.id: s.agreement for s in fed_store.list_signed_agreements(conn)}
            opened = open_envelope(
                raw,
                me=me.node_id,
                peers=peers,
                agreements=agreements,
                nonces=_nonces(node, conn),
                now=now,
                skew=_skew(node),
            )
            agreement = agreements[opened.agreement_id]
            org = agreement.party_of(me.node_id)
            assert org is not None  # check_incoming refused otherwise (parties)
            audit_org = org
            if opened.purpose != PURPOSE:
                raise Refused(
                    "agreement",
                    f"purpose {opened.purpose!r}: this endpoint takes deconfliction only",
                    clause="purposes",
                    sender=opened.sender,
                )
            kind = opened.object.get("type")
            if kind == "psi-offer":
                return _on_offer(node, conn, opened, agreement, org, request_id)
            if isinstance(kind, str) and kind in _NEXT:
                session_key = _session_key(opened, _NEXT[kind])
                return _on_next(node, conn, opened, kind, org, request_id)
            raise Refused("malformed", f"the object is none of psi-offer, {', '.join(_NEXT)}", sender=opened.sender)
    except Refused as refused:
        if session_key is not None:
            _spend(node, session_key, refused, now)
        signed = receipt(me, refused, raw=raw, now=now)
        if audit_org is None:
            with node.db.read() as conn:
                audit_org = org_store.operator_org_id(conn)
        detail: dict[str, object] = {
            "reason": refused.reason,
            "clause": refused.clause,
            "sender": refused.sender,
            "envelope": digest(raw),
            "detail": refused.detail[:300],
        }
        audit_record(
            node,
            draft(
                node,
                None,
                "deconfliction.answer",
                "envelope",
                None,
                request_id=request_id,
                outcome="refused",
                org_id=audit_org,
                detail=detail,
            ),
        )
        return Answer(signed, refused)


def _session_key(opened: Opened, name: str) -> tuple[str, str]:
    message = opened.object.get(name)
    session = message.get("session") if isinstance(message, dict) else None
    return (opened.sender, str(session))


def _spend(node: Node, key: tuple[str, str], refused: Refused, now: datetime) -> None:
    """A refused message spends its session: the state is deleted and the run fails with the reason."""
    with node.db.write() as conn:
        held = store.get_session(conn, *key)
        if held is not None and store.delete_session(conn, held.run_id):
            detail = f"{refused.reason}: {refused.detail}"
            store.finish_run(conn, held.run_id, state="failed", at=now, detail=detail)


def _expire(node: Node, conn: Any, now: datetime) -> None:
    """Forget every expired session; its run fails (the initiator never sent the next message in time)."""
    for run_id in store.expire_sessions(conn, now):
        store.finish_run(conn, run_id, state="failed", at=now, detail="session-expired: no next message in time")


def _keep(node: Node, conn: Any, run: Run, step: str, state: dict[str, Any], answers: str, now: datetime) -> None:
    blob = orjson.dumps({"answers": answers, "psi": state})
    held = store.Session(run.id, run.peer, run.session, run.org_id, run.agreement_id, step, blob, now + SESSION_TTL)
    store.put_session(conn, held)


def _pdq_terms(obj: dict[str, Any], sender: str) -> tuple[str, int]:
    terms = obj.get("pdq")
    if not isinstance(terms, dict) or set(terms) != {"mode", "threshold"} or terms["mode"] not in ("members", "count"):
        raise Refused("malformed", "a pdq-chunks offer states pdq: {mode, threshold}", sender=sender)
    try:
        radius_for(terms["threshold"])
    except Invalid as e:
        raise Refused("malformed", f"offer: {e.detail}", sender=sender) from None
    return terms["mode"], terms["threshold"]


def _on_offer(node: Node, conn: Any, opened: Opened, agreement: Agreement, org: str, request_id: str | None) -> Answer:
    now, sender = node.clock.now(), opened.sender
    _expire(node, conn, now)
    limit = node.settings.deconfliction_daily_limit
    used = store.count_recent(conn, sender, "responder", now - DAY)
    if used >= limit:
        raise Refused(
            "rate-limit",
            f"{used} deconfliction runs from {sender} in the last 24 hours: the limit is {limit}",
            sender=sender,
        )
    bound = node.settings.deconfliction_open_sessions
    held = store.count_sessions(conn, sender, now)
    if held >= bound:
        raise Refused(
            "rate-limit", f"{held} deconfliction sessions from {sender} are open: the bound is {bound}", sender=sender
        )
    reference = opened.object.get("reference")
    if not isinstance(reference, str) or not 1 <= len(reference) <= 40:
        raise Refused("malformed", "reference must be a string of at most 40 characters", sender=sender)
    psi: Responder | PdqResponder
    threshold: int | None = None
    try:
        offer = Offer.from_json(opened.object.get("offer"))
        if offer.kind == "pdq-chunks":
            mode, threshold = _pdq_terms(opened.object, sender)
            run_set, step = "pdq", "pdq-candidates"
            items = store.own_items(conn, org, "pdq")
            psi = PdqResponder([i.removeprefix("pdq:") for i in items], threshold=threshold, mode=_mode(mode))
        elif offer.kind in SETS:
            mode, run_set, step = offer.mode, offer.kind, "psi-finish"
            items = store.own_items(conn, org, offer.kind)
            psi = Responder(items, kind=offer.kind, mode=offer.mode)
        else:
            raise Invalid.at("/set", "set must be one of identifiers, hashes, pdq-chunks")
        reply = psi.reply(offer)
    except Invalid as e:
        raise Refused("malformed", f"offer: {e.detail}", sender=sender) from None
    peer_org = agreement.party_of(sender)
    assert peer_org is not None
    run = Run(
        node.ids("dcf"),
        org,
        reference,
        "responder",
        sender,
        peer_org,
        agreement.id,
        run_set,
        mode,
        offer.session,
        "running",
        len(items),
        len(offer.points) // 32,
        None,
        None,
        None,
        now,
        None,
        threshold,
    )
    body = seal(
        node.me,
        recipient=sender,
        agreement_id=agreement.id,
        purpose=PURPOSE,
        marking=opened.marking,
        category=opened.category,
        obj={"answers": opened.digest, "reference": reference, "reply": reply.to_json(), "type": "psi-reply"},
        now=now,
    )
    if store.has_session(conn, sender, "responder", offer.session):
        raise Refused("replay", f"session {offer.session} from {sender} was already answered", sender=sender)
    store.insert_run(conn, run)
    _store_pair(node, conn, run, opened, body, now)
    audit_store.append(
        conn,
        [
            draft(
                node,
                None,
                "deconfliction.answer",
                "deconfliction",
                run.id,
                request_id=request_id,
                org_id=org,
                detail={**_detail(run), "step": "reply", "envelope": opened.digest},
            )
        ],
    )
    _keep(node, conn, run, step, psi.state(), digest(body), now)
    return Answer(body)


def _store_pair(node: Node, conn: Any, run: Run, opened: Opened, body: bytes, now: datetime) -> None:
    """The peer's envelope and this node's answer envelope, each with its custody leaf."""
    for direction, raw, actor_id in (("in", opened.raw, run.peer), ("out", body, node.me.node_id)):
        _store_envelope(
            node,
            conn,
            org=run.org_id,
            direction=direction,
            peer=run.peer,
            agreement_id=run.agreement_id,
            raw=raw,
            at=now,
            actor_id=actor_id,
        )


def _on_next(node: Node, conn: Any, opened: Opened, kind: str, org: str, request_id: str | None) -> Answer:
    """A message after the offer, to the session the database holds for it (whichever worker, since any
    restart): PDQ candidates are answered with distances, a finish with a receipt and the result."""
    now, sender = node.clock.now(), opened.sender
    name = _NEXT[kind]
    _, session = _session_key(opened, name)
    held = store.get_session(conn, sender, session)
    if held is None or held.org_id != org or held.agreement_id != opened.agreement_id:
        raise Refused("unknown-session", f"no PSI session {session} from {sender} is waiting here", sender=sender)
    if held.expires_at <= now:
        raise Refused(
            "session-expired", f"PSI session {session} from {sender} expired at {held.expires_at}", sender=sender
        )
    if held.step != kind:
        raise Refused("malformed", f"session {session} waits for {held.step}, not {kind}", sender=sender)
    if not store.delete_session(conn, held.run_id):  # another worker took it meanwhile
        raise Refused("unknown-session", f"no PSI session {session} from {sender} is waiting here", sender=sender)
    kept = orjson.loads(held.state)
    run = store.get_run(conn, org, held.run_id)
    if kind == "pdq-candidates" and opened.object.get("answers") != kept["answers"]:
        raise Refused("malformed", "the candidates answer another reply", sender=sender)
    try:
        if kind == "pdq-candidates":
            pdq = PdqResponder.resume(kept["psi"])
            distances = pdq.distances(Candidates.from_json(opened.object.get(name)))
        elif kind == "pdq-finish":
            found = PdqResponder.resume(kept["psi"]).receive(Finishes.from_json(opened.object.get(name)))
            count, peer_size = found.count, found.peer_size
            members = sorted(f"pdq:{h}" for h in found.members) if found.members is not None else None
        else:
            result = Responder.resume(kept["psi"]).receive(Finish.from_json(opened.object.get(name)))
            count, peer_size = result.count, result.peer_size
            members = sorted(result.members) if result.members is not None else None
    except (Invalid, AccordError) as e:
        raise Refused("malformed", f"{name}: {e.detail}", sender=sender) from None
    if kind == "pdq-candidates":
        body = seal(
            node.me,
            recipient=sender,
            agreement_id=run.agreement_id,
            purpose=PURPOSE,
            marking=opened.marking,
            category=opened.category,
            obj={
                "answers": opened.digest,
                "distances": distances.to_json(),
                "reference": run.reference,
                "type": "pdq-distances",
            },
            now=now,
        )
        _store_pair(node, conn, run, opened, body, now)
        detail = {**_detail(run), "step": "distances", "slots": len(distances.replies), "envelope": opened.digest}
        event = draft(
            node,
            None,
            "deconfliction.answer",
            "deconfliction",
            run.id,
            request_id=request_id,
            org_id=org,
            detail=detail,
        )
        audit_store.append(conn, [event])
        _keep(node, conn, run, "pdq-finish", pdq.state(), digest(body), now)
        return Answer(body)
    signed = receipt(node.me, opened, raw=opened.raw, now=now)
    _store_envelope(
        node,
        conn,
        org=org,
        direction="in",
        peer=sender,
        agreement_id=run.agreement_id,
        raw=opened.raw,
        at=now,
        actor_id=sender,
        answer=signed,
    )
    store.finish_run(conn, run.id, state="done", at=now, count=count, peer_size=peer_size, members=members)
    events = [_done_event(node, None, "deconfliction.answer", run, count, peer_size, request_id)]
    if count:
        events.append(_alert_event(node, None, _alert(node, conn, run, count, now), request_id))
    audit_store.append(conn, events)
    return Answer(signed)


# --- reading ----------------------------------------------------------------------------------------


def list_runs(node: Node, actor: Actor, request_id: str | None = None) -> list[Run]:
    authorize(node, actor, Action.deconfliction_read, request_id)
    with node.db.read() as conn:
        return store.list_runs(conn, actor.org_id)


def get_run(node: Node, actor: Actor, run_id: str, request_id: str | None = None) -> Run:
    authorize(node, actor, Action.deconfliction_read, request_id)
    with node.db.read() as conn:
        return store.get_run(conn, actor.org_id, run_id)


def list_alerts(node: Node, actor: Actor, request_id: str | None = None) -> list[Alert]:
    authorize(node, actor, Action.deconfliction_read, request_id)
    with node.db.read() as conn:
        return store.list_alerts(conn, actor.org_id)
