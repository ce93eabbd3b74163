"""The federation inbox's rate counts (docs/federation.md, "Inbox rate limits"): one row per sender and
fixed window, in the database so that every worker process on it spends one budget.

The count is one atomic statement, ``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING
count``, on both backends: PostgreSQL serialises two workers' increments of one row (the second waits for
the first to commit and adds to its count), and SQLite has one writer at a time. Windows before the current
one are deleted by the first request of each new window and sender, so the table holds about one window's
senders.

Why ``synchronous_commit = off`` for the count's transaction on PostgreSQL: a count lost in a crash lets a
sender a few more requests, nothing else, so it need not wait for the WAL flush (measured: most of the added
cost per request). SQLite's synchronous setting belongs to the one writer connection, so there it stays FULL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from accord.store.schema import inbox_rate_windows

__all__ = ["count_request"]


def count_request(conn: Connection, sender: str, window_start: datetime) -> int:
    """Add one request to the sender's count in the window starting at ``window_start``; the new count."""
    t = inbox_rate_windows
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL synchronous_commit = off"))
    ins = pg_insert(t) if conn.dialect.name == "postgresql" else sqlite_insert(t)
    stmt = (
        ins.values(sender=sender, window_start=window_start, count=1)
        .on_conflict_do_update(index_elements=[t.c.sender, t.c.window_start], set_={"count": t.c.count + 1})
        .returning(t.c.count)
    )
    n = int(conn.execute(stmt).scalar_one())
    if n == 1:
        conn.execute(delete(t).where(t.c.window_start < window_start))
    return n
