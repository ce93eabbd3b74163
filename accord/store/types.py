"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["UtcDateTime", "sqlite_text"]


def sqlite_text(at: datetime) -> str:
    """The text ``UtcDateTime`` stores on SQLite for an aware time, for writers that hand rows to the
    driver directly (bulk intake, custody appends) and must store exactly what the Core would."""
    return at.astimezone(UTC).isoformat(sep=" ", timespec="microseconds")[:-6]


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns an aware UTC datetime.

    Why: SQLite keeps no zone, so without this a value read back is naive on one backend and aware on
    the other, and comparisons between them fail.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
