"""Writing and reading behaviour events."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.tracking.models import TrackingEvent
from inbound.tracking.partitions import ensure_partitions

EVENTS = TrackingEvent.__table__  # type: ignore[attr-defined]


async def insert_events(connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store events as they are, in the caller's transaction (the portable, plain path)."""
    if not rows:
        return
    await ensure_partitions(connection, (row["occurred_at"] for row in rows))
    await connection.execute(insert(EVENTS), [dict(row) for row in rows])
