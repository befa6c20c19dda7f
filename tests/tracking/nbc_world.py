"""Builders shared by the next-best-content API tests: a site, two personas, six assets, and
events put straight into the events table."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.db import utcnow
from inbound.tracking.repository import insert_events
from tests.conftest import Headers
from tests.support.world import World, make_persona, make_world

NEXT = "/api/v1/next"
RULES = "/api/v1/nbc/rules"
SETTINGS = "/api/v1/settings/nbc"
# slug: (funnel stage, topics, {persona: relevance})
ASSETS: dict[str, tuple[str, list[str], dict[str, int]]] = {
    "blog-seo": ("attract", ["seo"], {"cto": 3}),
    "blog-crm": ("attract", ["crm"], {"cfo": 3}),
    "ebook-seo": ("convert", ["seo"], {"cto": 2}),
    "ebook-crm": ("convert", ["crm"], {"cfo": 3}),
    "case-study": ("close", ["crm"], {"cfo": 2}),
    "onboarding": ("delight", ["onboarding"], {}),
}


@dataclass(frozen=True)
class NbcWorld:
    site: World
    personas: dict[str, str]  # slug -> id
    assets: dict[str, str]  # slug -> id

    @property
    def site_id(self) -> uuid.UUID:
        return uuid.UUID(self.site.site_id)


async def make_nbc_world(client: httpx.AsyncClient, admin: Headers, **weights: float) -> NbcWorld:
    """The world, with weights chosen by the test (exploration off unless given)."""
    site = await make_world(client, admin)
    personas = {slug: (await make_persona(client, admin, slug))["id"] for slug in ("cfo", "cto")}
    assets = {}
    for slug, (stage, topics, tags) in ASSETS.items():
        body = {"slug": slug, "title": slug.replace("-", " ").title(), "kind": "blog_post",
                "funnel_stage": stage, "topics": topics, "url": f"https://www.example.com/{slug}",
                "personas": [{"persona": p, "relevance": r} for p, r in tags.items()]}  # fmt: skip
        response = await client.post("/api/v1/assets", json=body, headers=admin)
        assert response.status_code == 201, response.text
        assets[slug] = response.json()["id"]
    response = await client.put(SETTINGS, json={"exploration": 0, **weights}, headers=admin)
    assert response.status_code == 200, response.text
    return NbcWorld(site=site, personas=personas, assets=assets)


async def view(
    connection: AsyncConnection,
    world: NbcWorld,
    slug: str | None,
    *,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    ago: timedelta = timedelta(0),
    campaign: str | None = None,
    event: str | None = None,
    properties: dict[str, Any] | None = None,
) -> None:
    """Store one event: a page view of the asset (or of no asset), or a named track event."""
    now: datetime = utcnow()
    row = {
        "id": uuid.uuid4(), "occurred_at": now - ago, "received_at": now,
        "site_id": world.site_id, "message_id": str(uuid.uuid4()),
        "type": "track" if event else "page", "event": event,
        "anonymous_id": anonymous_id, "user_id": user_id, "url": None, "referrer": None,
        "title": None, "asset_id": uuid.UUID(world.assets[slug]) if slug else None,
        "properties": properties or {},
        "context": {"campaign": {"name": campaign}} if campaign else {},
    }  # fmt: skip
    await insert_events(connection, [row])


async def next_content(
    client: httpx.AsyncClient, world: NbcWorld, *, headers: Headers | None = None, **params: Any
) -> httpx.Response:
    return await client.get(
        NEXT, params=params, headers={**world.site.site_headers, **(headers or {})}
    )


async def slugs(client: httpx.AsyncClient, world: NbcWorld, **params: Any) -> list[str]:
    response = await next_content(client, world, **params)
    assert response.status_code == 200, response.text
    return [item["asset"]["slug"] for item in response.json()["items"]]
