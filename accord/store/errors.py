"""Store-level outcomes the services act on, kept free of driver exception types."""

from __future__ import annotations

__all__ = ["DuplicateKey"]


class DuplicateKey(Exception):
    """A unique constraint refused a row another transaction committed first; retry the lookup."""
