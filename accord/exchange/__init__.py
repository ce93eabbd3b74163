"""Federation between nodes: identities, agreements as signed data, signed envelopes and receipts.

This package is pure: it signs, verifies and judges bytes; storing envelopes in custody, the peer
registry and the transport come in the layers above (docs/federation.md).
"""

from accord.exchange.agreement import (
    AgreementSignature,
    ObjectMeta,
    Refusal,
    SignedAgreement,
    check_incoming,
    check_outgoing,
)
from accord.exchange.envelope import DEFAULT_SKEW, Opened, Refused, digest, open_envelope, seal
from accord.exchange.identity import IdentityDocument, NodeIdentity, NodeKey, fingerprint
from accord.exchange.nonce import InMemoryNonceStore, NonceStore
from accord.exchange.receipt import Receipt, receipt, verify_receipt

__all__ = [
    "DEFAULT_SKEW",
    "AgreementSignature",
    "IdentityDocument",
    "InMemoryNonceStore",
    "NodeIdentity",
    "NodeKey",
    "NonceStore",
    "ObjectMeta",
    "Opened",
    "Receipt",
    "Refusal",
    "Refused",
    "SignedAgreement",
    "check_incoming",
    "check_outgoing",
    "digest",
    "fingerprint",
    "open_envelope",
    "receipt",
    "seal",
    "verify_receipt",
]
