"""Builders for the identity and engagement tests: events put straight into the database (as
the event writer would store them), and the worker's engagement round."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlmodel import col

from inbound.db import new_id, utcnow
from inbound.tracking.hooks import events_stored
from inbound.tracking.identity import engagement_step
from inbound.tracking.models import IdentityMerge, VisitorIdentity
from inbound.tracking.repository import insert_events
from tests.problems import body_of
from tests.support.world import World, capture

MERGES = "/api/v1/identity-merges"


def event(site_id: str | uuid.UUID, **fields: Any) -> dict[str, Any]:
    """A stored event's columns: a page view now, unless ``fields`` say otherwise; an
    identify call's email goes beside them as `identify_email`, as the writer hands it on."""
    now = utcnow()
    return {
        "id": new_id(), "occurred_at": now, "received_at": now,
        "site_id": uuid.UUID(str(site_id)), "message_id": f"m-{uuid.uuid4()}", "type": "page",
        "event": None, "anonymous_id": None, "user_id": None, "url": "https://www.example.com/",
        "referrer": None, "title": None, "asset_id": None, "properties": {}, "context": {},
        **fields,
    }  # fmt: skip


async def store(connection: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Store events and run the writer's hook on them, in one transaction, as the writer does."""
    async with connection.begin_nested():
        await insert_events(connection, rows)
        await events_stored(connection, rows)


async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Run the worker's engagement rounds until nothing is left."""
    total = 0
    while handled := await engagement_step(sessionmaker):
        total += handled
    return total


def page_views(
    site_id: str, anonymous_id: str, times: list[datetime], **fields: Any
) -> list[dict[str, Any]]:
    return [event(site_id, anonymous_id=anonymous_id, occurred_at=at, **fields) for at in times]


def spaced(start: datetime, count: int, step: timedelta) -> list[datetime]:
    return [start + step * i for i in range(count)]


async def capture_with_visitor(
    client: httpx.AsyncClient, world: World, email: str, visitor_id: str
) -> str:
    """Capture ``email`` from the browser ``visitor_id``; the contact's id."""
    response = await capture(client, world, email=email, visitor_id=visitor_id)
    found: str = body_of(response, 201)["contact_id"]
    return found


async def owner(db: AsyncSession, kind: str, external_id: str) -> str | None:
    statement = select(col(VisitorIdentity.contact_id)).where(
        col(VisitorIdentity.kind) == kind, col(VisitorIdentity.external_id) == external_id
    )
    found = (await db.execute(statement)).scalar_one_or_none()
    return str(found) if found else None


async def merges_of(db: AsyncSession, contact_id: str) -> list[IdentityMerge]:
    statement = (
        select(IdentityMerge)
        .where(col(IdentityMerge.contact_id) == uuid.UUID(contact_id))
        .order_by(col(IdentityMerge.id))
    )
    return list((await db.execute(statement)).scalars())


@dataclass(frozen=True)
class Visitors:
    """A site's visitors under test: the client and site they capture through, the session to
    check rows with, and the connection and sessionmaker that events and engagement rounds run
    on."""

    client: httpx.AsyncClient
    world: World
    db: AsyncSession
    connection: AsyncConnection
    sessionmaker: async_sessionmaker[AsyncSession]

    async def capture(self, email: str, visitor_id: str) -> str:
        """Capture ``email`` from the browser ``visitor_id``; the contact's id."""
        return await capture_with_visitor(self.client, self.world, email, visitor_id)

    def event(self, **fields: Any) -> dict[str, Any]:
        """A stored event of the site's: a page view now, unless ``fields`` say otherwise."""
        return event(self.world.site_id, **fields)

    def page_views(
        self, anonymous_id: str, times: list[datetime], **fields: Any
    ) -> list[dict[str, Any]]:
        return page_views(self.world.site_id, anonymous_id, times, **fields)

    async def store(self, rows: list[dict[str, Any]]) -> None:
        await store(self.connection, rows)

    async def work(self) -> int:
        return await work(self.sessionmaker)
