"""Forgetting events past the retention period, and message ids past the dedupe window.

On PostgreSQL a month leaves whole: its partition is detached and dropped once every day of
it is older than the retention, which costs nothing like deleting its rows one by one. SQLite
deletes the rows. Message ids are kept for 48 hours only (a retry after that is new).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.tracking.partitions import PARENT, PARTITION_NAME, next_month
from inbound.tracking.repository import DEDUPE_WINDOW, EVENTS, MESSAGES

PARTITIONS = text(
    """
    SELECT child.relname
    FROM pg_inherits
    JOIN pg_class AS parent ON parent.oid = pg_inherits.inhparent
    JOIN pg_class AS child ON child.oid = pg_inherits.inhrelid
    WHERE parent.relname = :parent
    """
)


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one prune removed."""

    months: list[str]
    events: int
    messages: int


async def prune(connection: AsyncConnection, now: datetime, retention: timedelta) -> Pruned:
    """Remove the events older than ``retention`` and the message ids older than 48 hours,
    in the caller's transaction."""
    cutoff = now - retention
    months: list[str] = []
    events = 0
    if connection.dialect.name == "postgresql":
        months = await _drop_old_partitions(connection, cutoff)
    else:
        result = await connection.execute(delete(EVENTS).where(EVENTS.c.occurred_at < cutoff))
        events = result.rowcount
    result = await connection.execute(
        delete(MESSAGES).where(MESSAGES.c.received_at < now - DEDUPE_WINDOW)
    )
    return Pruned(months=months, events=events, messages=result.rowcount)


async def _drop_old_partitions(connection: AsyncConnection, cutoff: datetime) -> list[str]:
    """Detach and drop the months that end before ``cutoff``; their names."""
    dropped = []
    names = (await connection.execute(PARTITIONS, {"parent": PARENT})).scalars().all()
    for name in sorted(names):
        if PARTITION_NAME.match(name) is None:
            continue
        start = datetime(int(name[-7:-3]), int(name[-2:]), 1, tzinfo=cutoff.tzinfo)
        if next_month(start) > cutoff:
            continue
        await connection.execute(text(f'ALTER TABLE {PARENT} DETACH PARTITION "{name}"'))
        await connection.execute(text(f'DROP TABLE "{name}"'))
        dropped.append(name)
    return dropped
