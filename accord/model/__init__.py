"""The domain objects (DESIGN section 3) as pydantic models: validated on the way in, typed throughout."""

from accord.model.agreement import Agreement, AgreementIn
from accord.model.audit import AuditEvent
from accord.model.case import TRANSITIONS, Case, CaseIn, CaseStatus, CaseUpdate, LinkReports
from accord.model.identifier import Identifier, IdentifierKind
from accord.model.media import Media
from accord.model.observable import Observable, ObservableKind
from accord.model.organisation import (
    Actor,
    ActorKind,
    Credential,
    CredentialIn,
    Organisation,
    OrganisationIn,
    OrgKind,
    Role,
)
from accord.model.report import Location, Report, ReportIn, Subject, SubjectRole

__all__ = [
    "TRANSITIONS",
    "Actor",
    "ActorKind",
    "Agreement",
    "AgreementIn",
    "AuditEvent",
    "Case",
    "CaseIn",
    "CaseStatus",
    "CaseUpdate",
    "Credential",
    "CredentialIn",
    "Identifier",
    "IdentifierKind",
    "LinkReports",
    "Location",
    "Media",
    "Observable",
    "ObservableKind",
    "OrgKind",
    "Organisation",
    "OrganisationIn",
    "Report",
    "ReportIn",
    "Role",
    "Subject",
    "SubjectRole",
]
