"""Custody: the append-only Merkle log of evidence actions (RFC 9162), its signed checkpoints and proofs.

Everything here is pure (DESIGN section 7): hashing, proofs, the C2SP signed-note and checkpoint formats
and the canonical leaf encoding. The store keeps the leaves and subtree hashes; the API and the offline
``accord custody verify`` only call these functions, so a partner can check a bundle with the same code.
"""
