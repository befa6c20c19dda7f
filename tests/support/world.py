"""Factories every domain's tests build on: a site with its public key, personas, assets and
captured leads, made through the API as a client would."""

from dataclasses import dataclass
from typing import Any

import httpx

from tests.problems import body_of

CAPTURES = "/api/v1/captures"
LEADS = "/api/v1/leads"
ORIGIN = "https://www.example.com"

Headers = dict[str, str]


@dataclass(frozen=True)
class World:
    """A site that posts forms, and the keys to look at what it captured."""

    site_id: str
    public_key: str
    admin: Headers

    @property
    def site_headers(self) -> Headers:
        return {"Authorization": f"Bearer {self.public_key}"}


async def make_world(client: httpx.AsyncClient, admin: Headers) -> World:
    response = await client.post(
        "/api/v1/sites", json={"name": "Main site", "allowed_origins": [ORIGIN]}, headers=admin
    )
    assert response.status_code == 201, response.text
    site = response.json()
    return World(site_id=site["id"], public_key=site["public_key"], admin=admin)


async def make_ebook_world(client: httpx.AsyncClient, admin: Headers) -> World:
    """A site and its gated e-book, `scoring-ebook`."""
    world = await make_world(client, admin)
    await make_asset(client, admin)
    return world


async def make_persona(
    client: httpx.AsyncClient, admin: Headers, slug: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/personas", json={"name": slug.title(), "slug": slug, **fields}, headers=admin
    )
    return body_of(response, 201)


async def make_asset(client: httpx.AsyncClient, admin: Headers, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Lead Scoring E-book",
        "slug": "scoring-ebook",
        "kind": "ebook",
        "funnel_stage": "convert",
        "gated": True,
        "delivery_url": "https://cdn.example.com/scoring.pdf",
        **fields,
    }
    response = await client.post("/api/v1/assets", json=body, headers=admin)
    return body_of(response, 201)


async def capture(
    client: httpx.AsyncClient, world: World, headers: Headers | None = None, **fields: Any
) -> httpx.Response:
    body = {"asset": "scoring-ebook", "email": "ana@example.com", **fields}
    return await client.post(CAPTURES, json=body, headers={**world.site_headers, **(headers or {})})


async def get_lead(client: httpx.AsyncClient, world: World, contact_id: str) -> dict[str, Any]:
    response = await client.get(f"{LEADS}/{contact_id}", headers=world.admin)
    return body_of(response)
