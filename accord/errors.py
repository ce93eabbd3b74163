"""Typed errors raised by the core and translated once by each adapter.

    AccordError
    ├── Invalid          input that breaks a rule; ``errors`` maps JSON pointers to messages
    │   └── PayloadTooLarge
    ├── Unauthenticated  no credential, or one that is unknown, expired or revoked
    ├── Forbidden        a known actor whose roles do not allow the action
    │   └── UnsealRefused    an opening that the warrant, its scope or the approvals do not allow
    ├── NotFound         missing, or belonging to another organisation (never told apart)
    ├── Gone             the caller's own object, purged under retention (only a tombstone is left)
    ├── Conflict         the request contradicts stored state (idempotency key reuse, duplicates)
    │   └── UnsealConflict   an unseal step out of turn (approving twice, opening twice, reviewing twice)
    ├── RateLimited      too many attempts from one client address; ``retry_after`` seconds to wait
    ├── Corrupted        stored data failed its integrity check (a sealed blob that does not decrypt)
    └── Unavailable      a dependency (database, peer) did not answer

Why one tree: the API renders every one of these as RFC 9457 problem+json
(``accord.api.problems``) and the CLI as a one-line message with an exit code
(``accord.cli.exit``); nothing else needs to know about HTTP or terminals.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AccordError",
    "Conflict",
    "Corrupted",
    "Forbidden",
    "Gone",
    "Invalid",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Unauthenticated",
    "Unavailable",
    "UnsealConflict",
    "UnsealRefused",
]


class AccordError(Exception):
    """Base of every error the core raises on purpose."""

    code: str = "error"
    title: str = "Error"
    status: int = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Invalid(AccordError):
    """Input that breaks a rule. ``errors`` maps a JSON pointer (``/subjects/0/value``) to a message."""

    code = "invalid"
    title = "Invalid input"
    status = 422

    def __init__(self, detail: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.errors: dict[str, str] = dict(errors or {})

    @classmethod
    def at(cls, pointer: str, message: str) -> Invalid:
        """A fault at ``pointer``; ``""`` is the whole input (a file), whose message names it itself."""
        return cls(f"{pointer}: {message}" if pointer else message, {pointer: message})

    def within(self, prefix: str) -> Invalid:
        """The same error for a document nested at ``prefix`` in a larger one (``/organisation``)."""
        errors = {f"{prefix}{p}": m for p, m in self.errors.items()}
        first = next(iter(errors), prefix)
        return type(self)(f"{first}: {self.errors.get(first[len(prefix) :], self.detail)}", errors)


class PayloadTooLarge(Invalid):
    code = "payload-too-large"
    title = "Payload too large"
    status = 413


class Unauthenticated(AccordError):
    code = "unauthenticated"
    title = "Authentication required"
    status = 401


class Forbidden(AccordError):
    code = "forbidden"
    title = "Forbidden"
    status = 403


class NotFound(AccordError):
    code = "not-found"
    title = "Not found"
    status = 404


class Gone(AccordError):
    """The object was the caller's and was purged under a retention rule; its tombstone remains. Only ever
    raised for the caller's own organisation: another organisation's purged object is a NotFound, as any
    other of its objects. ``reason`` is ``purged`` (a stable code next to the sentence)."""

    code = "gone"
    title = "Gone"
    status = 410
    reason = "purged"


class Conflict(AccordError):
    code = "conflict"
    title = "Conflict"
    status = 409


class RateLimited(AccordError):
    """Too many attempts from one client address (sign-in). ``retry_after`` is the number of seconds until
    the address's window ends, which the API sends as ``Retry-After``."""

    code = "rate-limited"
    title = "Too many requests"
    status = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(AccordError):
    code = "unavailable"
    title = "Service unavailable"
    status = 503


class UnsealRefused(Forbidden):
    """An attempt to open sealed data that the rules refuse. ``reason`` is a stable code (``no-warrant``,
    ``warrant-expired``, ``scope-field``, ``approvals-missing``, ``bad-signature``...) that the problem
    body carries next to the sentence, so a client can act on it and an auditor can count it."""

    code = "unseal-refused"
    title = "Unseal refused"

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


class UnsealConflict(Conflict):
    """A step of the unseal procedure that the request's state does not allow (a second approval by the
    same custodian, a second opening, a review of a request that needs none)."""

    code = "unseal-conflict"
    title = "Unseal step out of turn"

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


class Corrupted(AccordError):
    """Stored data failed its integrity check: a sealed blob that does not decrypt under its record id.
    Never the caller's fault, so a 500; the detail names the record, never the content."""

    code = "corrupted"
    title = "Stored data failed its integrity check"
    status = 500
