"""Signals: hashing media and URLs, hash banks, the match index and its thresholds."""

__all__: list[str] = []
