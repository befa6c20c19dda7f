"""The sync queue: contacts made pending by their changes, and those HubSpot deleted, which
are no longer sent. The sync's own reads and writes of the queue are in `repository`."""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import case, literal, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.crm.models import PENDING, UNLINKED, CrmContact
from inbound.db import dialect_insert_for, table_of
from inbound.leads.models import Contact

QUEUE = table_of(CrmContact)
CONTACTS = table_of(Contact)


async def enqueue(
    connection: AsyncConnection,
    contact_ids: Iterable[uuid.UUID] | None,
    now: datetime,
    *,
    resync_id: uuid.UUID | None = None,
    chosen: Any = None,
    revive: bool = False,
) -> int:
    """Make contacts pending: those named, or those the ``chosen`` condition on contacts picks.

    A contact already pending keeps its place and backoff; the new generation makes its sync
    send the latest state. Contacts erased meanwhile are skipped, and so are those deleted in
    HubSpot, unless ``revive`` (a new capture, a backfill that asks). How many were queued.
    """
    source = select(
        CONTACTS.c.id, literal(PENDING), literal(1), literal(now), literal(0), literal(resync_id)
    )
    if contact_ids is not None:
        source = source.where(CONTACTS.c.id.in_(list(contact_ids)))
    if chosen is not None:
        source = source.where(chosen)
    if contact_ids is None and chosen is None:
        # SQLite reads `SELECT ... FROM t ON CONFLICT` as a join; a WHERE ends the SELECT.
        source = source.where(true())
    statement = dialect_insert_for(connection, QUEUE).from_select(
        ["contact_id", "state", "generation", "due_at", "attempts", "resync_id"], source
    )
    was_pending = QUEUE.c.state == PENDING
    changes: dict[str, Any] = {
        "generation": QUEUE.c.generation + 1,
        "state": PENDING,
        "due_at": case((was_pending, QUEUE.c.due_at), else_=statement.excluded.due_at),
        "attempts": case((was_pending, QUEUE.c.attempts), else_=0),
    }
    if resync_id is not None:
        changes["resync_id"] = resync_id
    statement = statement.on_conflict_do_update(
        index_elements=["contact_id"], set_=changes,
        where=None if revive else QUEUE.c.state != UNLINKED,
    )  # fmt: skip
    result = await connection.execute(statement)
    return int(result.rowcount or 0)


async def unlink(connection: AsyncConnection, crm_id: str) -> bool:
    """Forget a HubSpot id whose contact was deleted there, and stop sending its changes;
    False when no contact of ours has that id."""
    result = await connection.execute(
        update(QUEUE)
        .where(QUEUE.c.crm_id == crm_id)
        .values(
            crm_id=None, state=UNLINKED, due_at=None, attempts=0, error=None, failed_at=None,
            last_sent=None, resync_id=None,
        )
    )  # fmt: skip
    return bool(result.rowcount)
