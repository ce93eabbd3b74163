"""Media and URL signals: hashing, match indexes and banks."""

__all__: list[str] = []
