"""Writing and reading behaviour events."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import bindparam, insert, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.db import table_of
from inbound.tracking.models import TrackingEvent, TrackingMessage
from inbound.tracking.partitions import ensure_partitions

EVENTS = table_of(TrackingEvent)
MESSAGES = table_of(TrackingMessage)
# How long a message id stays taken: a retry within it is a duplicate.
DEDUPE_WINDOW = timedelta(hours=48)
JSON_COLUMNS = ("properties", "context")
# In COPY's order: the JSON columns last, as they are encoded apart.
PLAIN_COLUMNS = tuple(column.name for column in EVENTS.columns if column.name not in JSON_COLUMNS)
COLUMNS = (*PLAIN_COLUMNS, *JSON_COLUMNS)
# SQLite takes at most 32,766 values in one statement; three per message id.
SQLITE_CHUNK = 5_000

MessageKey = tuple[uuid.UUID, str]

# Message ids taken, or taken again after the window: a conflict within it returns nothing.
CLAIM_MESSAGES_POSTGRES = text(
    """
    WITH claimed AS (
        INSERT INTO tracking_messages (site_id, message_id, received_at)
        SELECT site_id, message_id, :received_at
        FROM unnest(CAST(:site_ids AS uuid[]), CAST(:message_ids AS varchar[]))
            AS sent (site_id, message_id)
        ON CONFLICT (site_id, message_id) DO UPDATE SET received_at = excluded.received_at
        WHERE tracking_messages.received_at < :expired
        RETURNING site_id, message_id
    )
    SELECT array_agg(site_id), array_agg(message_id) FROM claimed
    """
).bindparams(bindparam("received_at", type_=MESSAGES.c.received_at.type))


async def insert_events(connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store events as they are, in the caller's transaction (the portable, plain path)."""
    if not rows:
        return
    await ensure_partitions(connection, (row["occurred_at"] for row in rows))
    await connection.execute(insert(EVENTS), [dict(row) for row in rows])


async def copy_events(connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store events with PostgreSQL's COPY, in the caller's transaction, which must have begun
    on the server; partitions must exist."""
    raw = await connection.get_raw_connection()
    plain, encode = itemgetter(*PLAIN_COLUMNS), msgspec.json.encode
    records = [
        (*plain(row), encode(row["properties"]).decode(), encode(row["context"]).decode())
        for row in rows
    ]
    driver: asyncpg.Connection = raw.driver_connection
    await driver.copy_records_to_table(EVENTS.name, records=records, columns=COLUMNS)


async def claim_messages(
    connection: AsyncConnection, keys: Sequence[MessageKey], received_at: datetime
) -> set[MessageKey]:
    """Take the message ids not taken within the dedupe window; the ones taken now."""
    expired = received_at - DEDUPE_WINDOW
    if connection.dialect.name == "postgresql":
        result = await connection.execute(
            CLAIM_MESSAGES_POSTGRES,
            {
                "site_ids": [site_id for site_id, _ in keys],
                "message_ids": [message_id for _, message_id in keys],
                "received_at": received_at,
                "expired": expired,
            },
        )
        # Two arrays in one row: thousands of rows through SQLAlchemy's result cost more.
        site_ids, message_ids = result.one()
        return set(zip(site_ids or (), message_ids or (), strict=True))
    claimed: set[MessageKey] = set()
    for start in range(0, len(keys), SQLITE_CHUNK):
        chunk = keys[start : start + SQLITE_CHUNK]
        values = sqlite.insert(MESSAGES).values(
            [{"site_id": s, "message_id": m, "received_at": received_at} for s, m in chunk]
        )
        statement = values.on_conflict_do_update(
            index_elements=[MESSAGES.c.site_id, MESSAGES.c.message_id],
            set_={"received_at": values.excluded.received_at},
            where=MESSAGES.c.received_at < expired,
        ).returning(MESSAGES.c.site_id, MESSAGES.c.message_id)
        claimed.update(
            (site_id, message_id) for site_id, message_id in await connection.execute(statement)
        )
    return claimed
