"""Signals: media hashes and URLs, the signal types that banks hold, and the indexes that match them."""

__all__: list[str] = []
