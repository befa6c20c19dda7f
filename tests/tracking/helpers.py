"""Builders shared by the tracking tests: a site with its public key, events, stored rows."""

import base64
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.tracking.models import TrackingEvent
from tests.conftest import Headers

BATCH = "/api/v1/batch"
ONE = "/api/v1/t"
ORIGIN = "https://www.example.com"


@dataclass(frozen=True)
class Site:
    """A site that sends events, and the admin key that set it up."""

    id: str
    key: str
    admin: Headers

    @property
    def basic(self) -> Headers:
        """The key as Segment's libraries send it: HTTP Basic, key as user, no password."""
        token = base64.b64encode(f"{self.key}:".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    @property
    def bearer(self) -> Headers:
        return {"Authorization": f"Bearer {self.key}"}


async def make_site(
    client: httpx.AsyncClient, admin: Headers, consent: str = "granted", name: str = "Main site"
) -> Site:
    response = await client.post(
        "/api/v1/sites",
        json={"name": name, "allowed_origins": [ORIGIN], "tracking_consent": consent},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Site(id=body["id"], key=body["public_key"], admin=admin)


def event(**fields: Any) -> dict[str, Any]:
    """A track event from a browser, with a fresh message id unless given."""
    return {
        "type": "track",
        "event": "Content Viewed",
        "messageId": str(uuid.uuid4()),
        "anonymousId": "anon-1",
        "properties": {},
        **fields,
    }


async def send(
    client: httpx.AsyncClient, site: Site, events: list[dict[str, Any]], **extra: Any
) -> httpx.Response:
    return await client.post(BATCH, json={"batch": events, **extra}, headers=site.basic)


async def stored(db: AsyncSession, **where: Any) -> list[TrackingEvent]:
    """The events stored, oldest first, optionally those with these column values."""
    statement = select(TrackingEvent).order_by(TrackingEvent.occurred_at, TrackingEvent.id)  # type: ignore[arg-type]
    for name, value in where.items():
        statement = statement.where(getattr(TrackingEvent, name) == value)
    db.expire_all()
    return list((await db.execute(statement)).scalars().all())
