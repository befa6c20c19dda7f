"""A known contact's behaviour, read through the identity map at query time: the events of its
anonymous ids and its user ids, newest first; and erasing all of it.
"""

import base64
import binascii
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import table_of
from inbound.errors import BadRequest
from inbound.tracking.engagement import CONTACTS, activity_of
from inbound.tracking.hooks import TASKS
from inbound.tracking.identity_sql import IDENTITIES, MERGES, IdKind
from inbound.tracking.models import TrackingEvent

EVENTS = table_of(TrackingEvent)
CLICKS = frozenset({"Content Clicked", "Recommendation Clicked"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR = struct.Struct(">q16s")
EARLIEST_MICROS = (datetime(1, 1, 2, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
LATEST_MICROS = (datetime(9999, 12, 30, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{32}$"


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """Where a page of a contact's events starts, how long it is and what it keeps."""

    limit: int
    before: tuple[datetime, uuid.UUID] | None = None
    event_type: str | None = None
    since: datetime | None = None


def encode_activity_cursor(occurred_at: datetime, event_id: uuid.UUID) -> str:
    """An opaque cursor just past this event, in newest-first order."""
    micros = (occurred_at - EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(CURSOR.pack(micros, event_id.bytes)).rstrip(b"=").decode()


def decode_activity_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Read a cursor made by ``encode_activity_cursor``; anything else is the client's error."""
    try:
        micros, raw = CURSOR.unpack(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, struct.error):
        raise BadRequest("not a cursor this API returned", field="cursor") from None
    # Like an id cursor, any cursor of the right shape is a place in the order: one past the
    # times a database holds is the start or the end of the list.
    micros = min(max(micros, EARLIEST_MICROS), LATEST_MICROS)
    return EPOCH + timedelta(microseconds=micros), uuid.UUID(bytes=raw)


def of_contact(contact_id: uuid.UUID) -> ColumnElement[bool]:
    """Events whose anonymous id or user id is linked to the contact now."""

    def ids(kind: IdKind) -> Any:
        return select(IDENTITIES.c.external_id).where(
            IDENTITIES.c.contact_id == contact_id, IDENTITIES.c.kind == kind
        )

    return or_(
        EVENTS.c.anonymous_id.in_(ids(IdKind.ANONYMOUS)), EVENTS.c.user_id.in_(ids(IdKind.USER))
    )


async def activity(
    session: AsyncSession, contact_id: uuid.UUID, page: ActivityPage
) -> tuple[Sequence[RowMapping], str | None]:
    """A page of the contact's events, newest first."""
    statement = select(EVENTS).where(of_contact(contact_id))
    if page.event_type is not None:
        statement = statement.where(EVENTS.c.type == page.event_type)
    if page.since is not None:
        statement = statement.where(EVENTS.c.occurred_at >= page.since)
    if page.before is not None:
        at, event_id = page.before
        statement = statement.where(
            or_(EVENTS.c.occurred_at < at, and_(EVENTS.c.occurred_at == at, EVENTS.c.id < event_id))
        )
    statement = statement.order_by(EVENTS.c.occurred_at.desc(), EVENTS.c.id.desc())
    rows = (await session.execute(statement.limit(page.limit + 1))).mappings().all()
    if len(rows) <= page.limit:
        return rows, None
    last = rows[page.limit - 1]
    return rows[: page.limit], encode_activity_cursor(last["occurred_at"], last["id"])


def behaviour_kind(row: RowMapping) -> str | None:
    """What a timeline shows an event as: a click, a content view or a page view."""
    if row["type"] == "track" and row["event"] in CLICKS:
        return "click"
    return activity_of(row["type"], row["event"], row["asset_id"])


async def behaviour_timeline(
    session: AsyncSession, contact_id: uuid.UUID, limit: int
) -> list[dict[str, Any]]:
    """The contact's newest page views, content views and clicks, as timeline entries."""
    statement = (
        select(EVENTS)
        .where(of_contact(contact_id), EVENTS.c.type.in_(("page", "track")))
        .order_by(EVENTS.c.occurred_at.desc(), EVENTS.c.id.desc())
        .limit(limit)
    )
    entries = []
    for row in (await session.execute(statement)).mappings():
        kind = behaviour_kind(row)
        if kind is not None:
            entries.append({"type": kind, "at": row["occurred_at"], "id": row["id"], "detail": {
                "event": row["event"], "url": row["url"], "title": row["title"],
                "asset_id": str(row["asset_id"]) if row["asset_id"] else None,
                "anonymous_id": row["anonymous_id"], "user_id": row["user_id"],
            }})  # fmt: skip
    return entries


async def erase_behaviour(session: AsyncSession, contact_id: uuid.UUID) -> None:
    """Delete every event of the contact's ids, the work queued for them or for its email,
    its links and its merge log (the right to erasure)."""
    connection = await session.connection()
    # An identify call not linked yet (the worker's next round, or one that named the email
    # before the first capture) holds the email in its task only.
    email = select(CONTACTS.c.email).where(CONTACTS.c.id == contact_id).scalar_subquery()
    await connection.execute(TASKS.delete().where(TASKS.c.email == email))
    linked = (
        await connection.execute(
            select(IDENTITIES.c.kind, IDENTITIES.c.external_id).where(
                IDENTITIES.c.contact_id == contact_id
            )
        )
    ).all()
    anonymous = [external_id for kind, external_id in linked if kind == IdKind.ANONYMOUS]
    users = [external_id for kind, external_id in linked if kind == IdKind.USER]
    if anonymous or users:
        await connection.execute(
            EVENTS.delete().where(
                or_(EVENTS.c.anonymous_id.in_(anonymous), EVENTS.c.user_id.in_(users))
            )
        )
        await connection.execute(
            TASKS.delete().where(
                or_(TASKS.c.anonymous_id.in_(anonymous), TASKS.c.user_id.in_(users))
            )
        )
    await connection.execute(IDENTITIES.delete().where(IDENTITIES.c.contact_id == contact_id))
    await connection.execute(MERGES.delete().where(MERGES.c.contact_id == contact_id))
