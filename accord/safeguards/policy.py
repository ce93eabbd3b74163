"""Who may do what: the role → permission table, checked before every service call does any work.

Why a table and not checks scattered through routes: auditors and partners can read it, a test can
enumerate it, and a route cannot forget it because the service function asks for it.
"""

from __future__ import annotations

from enum import StrEnum

from accord.errors import Forbidden
from accord.model.organisation import Actor, Role

__all__ = ["PERMISSIONS", "SEALING_PERMISSIONS", "Action", "allowed", "require"]


class Action(StrEnum):
    report_create = "report.create"
    report_read = "report.read"
    report_export = "report.export"
    job_read = "job.read"
    case_create = "case.create"
    case_read = "case.read"
    case_update = "case.update"
    # Sharing a reference to one of the organisation's cases with a partner under an agreement (and stopping
    # it): for those who own cases, investigators and supervisors (docs/federation.md, "Case references").
    case_share = "case.share"
    identifier_search = "identifier.search"
    # Apart from identifier search: an identifier names a person, a media hash a file. A deployment can
    # grant hash look-ups (a hash-matching service's key) without search for people, and auditors filter
    # the two apart by action.
    media_search = "media.search"
    org_read = "org.read"
    org_create = "org.create"
    credential_manage = "credential.manage"
    audit_read = "audit.read"
    audit_verify = "audit.verify"
    custody_proof = "custody.proof"
    custody_entry_read = "custody.entry.read"
    custody_export = "custody.export"
    audit_export = "audit.export"
    custodian_manage = "custodian.manage"
    custodian_read = "custodian.read"
    warrant_record = "warrant.record"
    warrant_read = "warrant.read"
    unseal_request = "unseal.request"
    unseal_read = "unseal.read"
    unseal_approve = "unseal.approve"
    unseal_open = "unseal.open"
    unseal_emergency = "unseal.emergency"
    unseal_review = "unseal.review"
    # Retention rules say how long the organisation keeps each category of data; purges themselves run
    # as the node (``accord retention run`` and the server's background runner), not as an actor.
    retention_read = "retention.read"
    retention_manage = "retention.manage"
    # Banks (docs/matching.md): reading a visible bank and its entries; creating and changing the
    # organisation's own banks; matching hashes against every visible bank. match.run is apart from
    # bank.read so that a deployment can grant hash checks without reading the lists. Submitters get
    # neither: a submitting key reads nothing back (its reports are matched on intake all the same).
    bank_read = "bank.read"
    bank_manage = "bank.manage"
    match_run = "match.run"
    # The signal-quality loop: a verdict on one of the organisation's recorded matches, and the reviews a
    # retraction leaves (a report or case to look at again). Those who read reports and act on them.
    match_verdict = "match.verdict"
    review_read = "review.read"
    review_resolve = "review.resolve"
    # Analytics (docs/analytics.md): running an analysis of the organisation's reports (network,
    # communities, key players, timeline) and reading its stored results. Apart from report.read because a
    # result is a derived view over every report at once, which a deployment may grant or withhold apart.
    analytics_run = "analytics.run"
    analytics_read = "analytics.read"
    # Federation (docs/federation.md): the peer registry and the signed agreements stored for it speak for
    # the whole node, so only the operator's admins manage them; sharing an object with a peer under one
    # of the organisation's agreements is for those who act on reports.
    peer_manage = "peer.manage"
    federation_share = "federation.share"
    # Local agreements (between organisations hosted here: banks, retention caps, TAXII collections):
    # making and ending one binds several organisations, so only the operator's admins do it; reading
    # the organisation's own is for every role that works with what they share, submitters aside.
    agreement_manage = "agreement.manage"
    agreement_read = "agreement.read"
    # Deconfliction (docs/federation.md): asking a peer which of the organisation's identifiers or hashes it
    # holds too (a PSI run), and reading the runs and their alerts. For those who act on reports.
    deconfliction_run = "deconfliction.run"
    deconfliction_read = "deconfliction.read"
    # Cross-border requests (docs/federation.md, "Requests"): preservation, disclosure and urgent disclosure.
    # Creating, sending, withdrawing and extending the organisation's own; acknowledging, answering and
    # refusing those addressed to it; reading both. For investigators and supervisors, who act on cases.
    request_send = "request.send"
    request_answer = "request.answer"
    request_read = "request.read"


_A = Action
# Proofs are hashes only: any authenticated key may ask for one (the checkpoint needs no key at all).
_EVERYONE = frozenset({_A.custody_proof})
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.submitter: _EVERYONE | {_A.report_create, _A.job_read, _A.org_read},
    Role.analyst: _EVERYONE
    | {
        _A.report_create,
        _A.report_read,
        _A.report_export,
        _A.job_read,
        _A.case_create,
        _A.case_read,
        _A.identifier_search,
        _A.media_search,
        _A.org_read,
        _A.custody_entry_read,
        _A.custody_export,
        _A.bank_read,
        _A.bank_manage,
        _A.match_run,
        _A.match_verdict,
        _A.review_read,
        _A.review_resolve,
        _A.analytics_run,
        _A.analytics_read,
        _A.federation_share,
    },
    Role.investigator: _EVERYONE
    | {
        _A.report_read,
        _A.report_export,
        _A.job_read,
        _A.case_create,
        _A.case_read,
        _A.case_update,
        _A.case_share,
        _A.identifier_search,
        _A.media_search,
        _A.org_read,
        _A.custody_entry_read,
        _A.custody_export,
        _A.bank_read,
        _A.match_run,
        _A.match_verdict,
        _A.review_read,
        _A.review_resolve,
        _A.analytics_run,
        _A.analytics_read,
        _A.federation_share,
    },
    Role.supervisor: _EVERYONE
    | {
        _A.report_read,
        _A.report_export,
        _A.job_read,
        _A.case_create,
        _A.case_read,
        _A.case_update,
        _A.case_share,
        _A.identifier_search,
        _A.media_search,
        _A.org_read,
        _A.custody_entry_read,
        _A.custody_export,
        _A.bank_read,
        _A.bank_manage,
        _A.match_run,
        _A.match_verdict,
        _A.review_read,
        _A.review_resolve,
        _A.analytics_run,
        _A.analytics_read,
        _A.federation_share,
    },
    Role.custodian: _EVERYONE | {_A.org_read, _A.custody_entry_read},
    Role.auditor: _EVERYONE | {_A.audit_read, _A.audit_verify, _A.org_read, _A.custody_entry_read, _A.retention_read},
    Role.admin: _EVERYONE
    | {_A.org_read, _A.credential_manage, _A.audit_verify, _A.retention_read, _A.retention_manage},
}

# Sealing: who records warrants, asks, approves, opens, reviews and watches. Kept as one table of its own
# so the separation of duties reads in one place: those who ask and open (investigators, supervisors)
# never approve or review; custodians approve and review but never open; admins register custodians'
# keys but neither ask nor approve; auditors see every step and open nothing.
SEALING_PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.investigator: frozenset(
        {_A.warrant_record, _A.warrant_read, _A.unseal_request, _A.unseal_read, _A.unseal_open, _A.custodian_read}
    ),
    Role.supervisor: frozenset(
        {
            _A.warrant_record,
            _A.warrant_read,
            _A.unseal_request,
            _A.unseal_read,
            _A.unseal_open,
            _A.unseal_emergency,
            _A.custodian_read,
        }
    ),
    Role.custodian: frozenset(
        {_A.warrant_read, _A.unseal_read, _A.unseal_approve, _A.unseal_review, _A.custodian_read}
    ),
    Role.auditor: frozenset({_A.warrant_read, _A.unseal_read, _A.custodian_read, _A.audit_export}),
    Role.admin: frozenset({_A.custodian_manage, _A.custodian_read}),
}
for _role, _granted in SEALING_PERMISSIONS.items():
    PERMISSIONS[_role] = PERMISSIONS[_role] | _granted

DECONFLICTION_PERMISSIONS: dict[Role, frozenset[Action]] = {
    role: frozenset({_A.deconfliction_run, _A.deconfliction_read})
    for role in (Role.analyst, Role.investigator, Role.supervisor)
}
__all__ += ["DECONFLICTION_PERMISSIONS"]
for _role, _granted in DECONFLICTION_PERMISSIONS.items():
    PERMISSIONS[_role] = PERMISSIONS[_role] | _granted
for _role in set(Role) - {Role.submitter}:
    PERMISSIONS[_role] = PERMISSIONS[_role] | {_A.agreement_read}

REQUEST_PERMISSIONS: dict[Role, frozenset[Action]] = {
    role: frozenset({_A.request_send, _A.request_answer, _A.request_read})
    for role in (Role.investigator, Role.supervisor)
}
__all__ += ["REQUEST_PERMISSIONS"]
for _role, _granted in REQUEST_PERMISSIONS.items():
    PERMISSIONS[_role] = PERMISSIONS[_role] | _granted

# Actions that only the node operator's admins hold: they reach beyond one organisation.
OPERATOR_ONLY = frozenset({Action.org_create, Action.peer_manage, Action.agreement_manage})


def allowed(actor: Actor, action: Action) -> bool:
    if action in OPERATOR_ONLY:
        return actor.operator and actor.has(Role.admin)
    return any(action in PERMISSIONS[role] for role in actor.roles)


def require(actor: Actor, action: Action) -> None:
    if not allowed(actor, action):
        raise Forbidden(f"your roles ({', '.join(sorted(actor.roles))}) do not allow {action.value}")
