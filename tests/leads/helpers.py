"""Builders shared by the lead tests: a site with its public key, personas and assets."""

from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import Headers
from tests.problems import error_fields as error_fields

CAPTURES = "/api/v1/captures"
LEADS = "/api/v1/leads"
ORIGIN = "https://www.example.com"


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


async def make_persona(
    client: httpx.AsyncClient, admin: Headers, slug: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/personas", json={"name": slug.title(), "slug": slug, **fields}, headers=admin
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


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
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def capture(
    client: httpx.AsyncClient, world: World, headers: Headers | None = None, **fields: Any
) -> httpx.Response:
    body = {"asset": "scoring-ebook", "email": "ana@example.com", **fields}
    return await client.post(CAPTURES, json=body, headers={**world.site_headers, **(headers or {})})


async def get_lead(client: httpx.AsyncClient, world: World, contact_id: str) -> dict[str, Any]:
    response = await client.get(f"{LEADS}/{contact_id}", headers=world.admin)
    assert response.status_code == 200, response.text
    lead: dict[str, Any] = response.json()
    return lead


# Moving stages, reading the timeline and replacing settings.

SETTINGS = "/api/v1/settings"


async def move_stage(
    client: httpx.AsyncClient, headers: Headers, lead_id: str, stage: str, **fields: Any
) -> httpx.Response:
    body = {"stage": stage, **fields}
    return await client.post(f"{LEADS}/{lead_id}/stage", json=body, headers=headers)


def timeline(lead: dict[str, Any], entry_type: str) -> list[dict[str, Any]]:
    """The details of a lead's timeline entries of one type, oldest first."""
    return [e["detail"] for e in reversed(lead["timeline"]) if e["type"] == entry_type]


async def put_settings(
    client: httpx.AsyncClient, admin: Headers, name: str, document: dict[str, Any]
) -> dict[str, Any]:
    """Replace the `scoring` or `mapping` settings; return what the API stored."""
    response = await client.put(f"{SETTINGS}/{name}", json=document, headers=admin)
    assert response.status_code == 200, response.text
    stored: dict[str, Any] = response.json()
    return stored


# Plain HTML forms, and counting what captures stored.


async def post_form(
    client: httpx.AsyncClient, fields: dict[str, str | list[str]], headers: Headers | None = None
) -> httpx.Response:
    """Post ``fields`` as a plain HTML form does; a list repeats a name (a checkbox group)."""
    return await client.post(CAPTURES, data=fields, headers=headers)


async def count_rows(session: Any, model: type[Any]) -> int:
    """Rows of ``model``'s table, read through ``session``."""
    from sqlalchemy import func, select

    statement = select(func.count()).select_from(model)
    return int((await session.execute(statement)).scalar_one())
