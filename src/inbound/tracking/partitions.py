"""The monthly partitions of `tracking_events` on PostgreSQL, made as events arrive.

A partition is made for each month an event falls in, just before the event is written; no
default partition is kept, since rows in it would stop that month's partition being made.
SQLite keeps one plain table and needs none of this.
"""

import re
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

PARENT = "tracking_events"
# A partition's name: the parent's, then the month (`tracking_events_y2026m12`).
PARTITION_NAME = re.compile(rf"^{PARENT}_y\d{{4}}m\d{{2}}$")


def month_start(at: datetime) -> datetime:
    """The first instant of the UTC month ``at`` falls in."""
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


def partition_name(start: datetime) -> str:
    return f"{PARENT}_y{start.year:04d}m{start.month:02d}"


def is_partition(table_name: str) -> bool:
    """True for a month's partition, which the schema's models do not list."""
    return PARTITION_NAME.match(table_name) is not None


async def ensure_partitions(connection: AsyncConnection, times: Iterable[datetime]) -> None:
    """Make the partitions that events at ``times`` need, in the caller's transaction."""
    if connection.dialect.name != "postgresql":
        return
    for start in sorted({month_start(at) for at in times}):
        name = partition_name(start)
        # Two writers making one month at once would collide in the catalog: one waits.
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": zlib.crc32(name.encode())}
        )
        await connection.execute(
            text(
                f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF {PARENT} '
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{next_month(start).isoformat()}')"
            )
        )
