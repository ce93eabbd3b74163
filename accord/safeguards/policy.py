"""Who may do what: the role → permission table, checked before every service call does any work.

Why a table and not checks scattered through routes: auditors and partners can read it, a test can
enumerate it, and a route cannot forget it because the service function asks for it.
"""

from __future__ import annotations

from enum import StrEnum

from accord.errors import Forbidden
from accord.model.organisation import Actor, Role

__all__ = ["PERMISSIONS", "Action", "allowed", "require"]


class Action(StrEnum):
    report_create = "report.create"
    report_read = "report.read"
    report_export = "report.export"
    job_read = "job.read"
    case_create = "case.create"
    case_read = "case.read"
    case_update = "case.update"
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


_A = Action
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.submitter: frozenset({_A.report_create, _A.job_read, _A.org_read}),
    Role.analyst: frozenset(
        {
            _A.report_create,
            _A.report_read,
            _A.report_export,
            _A.job_read,
            _A.case_create,
            _A.case_read,
            _A.identifier_search,
            _A.media_search,
            _A.org_read,
        }
    ),
    Role.investigator: frozenset(
        {
            _A.report_read,
            _A.report_export,
            _A.job_read,
            _A.case_create,
            _A.case_read,
            _A.case_update,
            _A.identifier_search,
            _A.media_search,
            _A.org_read,
        }
    ),
    Role.supervisor: frozenset(
        {
            _A.report_read,
            _A.report_export,
            _A.job_read,
            _A.case_create,
            _A.case_read,
            _A.case_update,
            _A.identifier_search,
            _A.media_search,
            _A.org_read,
        }
    ),
    Role.custodian: frozenset({_A.org_read}),
    Role.auditor: frozenset({_A.audit_read, _A.audit_verify, _A.org_read}),
    Role.admin: frozenset({_A.org_read, _A.credential_manage, _A.audit_verify}),
}

# Actions that only the node operator's admins hold: they reach beyond one organisation.
OPERATOR_ONLY = frozenset({Action.org_create})


def allowed(actor: Actor, action: Action) -> bool:
    if action in OPERATOR_ONLY:
        return actor.operator and actor.has(Role.admin)
    return any(action in PERMISSIONS[role] for role in actor.roles)


def require(actor: Actor, action: Action) -> None:
    if not allowed(actor, action):
        raise Forbidden(f"your roles ({', '.join(sorted(actor.roles))}) do not allow {action.value}")
