"""Builders of the lead tests: stages, timelines, settings, plain forms and row counts."""

import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture, CaptureIdempotencyKey, Contact, ScoreEvent, StageChange
from inbound.leads.repository import CONTACTS
from tests.conftest import Headers
from tests.problems import body_of
from tests.support.world import CAPTURES, LEADS, World

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
    return body_of(response)


# Plain HTML forms, and counting what captures stored.


def ebook_form(world: World, **fields: str | list[str]) -> dict[str, str | list[str]]:
    """A form for the e-book, carrying the site's key as the hidden `_key` input."""
    return {"_key": world.public_key, "asset": "scoring-ebook", "email": "ana@example.com",
            **fields}  # fmt: skip


async def post_form(
    client: httpx.AsyncClient, fields: dict[str, str | list[str]], headers: Headers | None = None
) -> httpx.Response:
    """Post ``fields`` as a plain HTML form does; a list repeats a name (a checkbox group)."""
    return await client.post(CAPTURES, data=fields, headers=headers)


async def count_rows(session: AsyncSession, model: type[Any]) -> int:
    """Rows of ``model``'s table, read through ``session``."""
    statement = select(func.count()).select_from(model)
    return int((await session.execute(statement)).scalar_one())


async def set_contact(session: AsyncSession, contact_id: str, **values: Any) -> None:
    """Set columns of a contact's row straight in the table (a clock moved back, say), and
    commit."""
    await session.execute(
        update(CONTACTS).where(CONTACTS.c.id == uuid.UUID(contact_id)).values(**values)
    )
    await session.commit()


DELIVERY_URL = "https://cdn.example.com/scoring.pdf"
OTHER_ORIGIN = "https://blog.example.org"
WRITTEN = (Contact, Capture, StageChange, ScoreEvent, CaptureIdempotencyKey)
NOTHING_WRITTEN = {model.__name__: 0 for model in WRITTEN}


async def other_site(client: httpx.AsyncClient, admin: Headers) -> World:
    response = await client.post(
        "/api/v1/sites",
        json={"name": "Blog", "allowed_origins": [OTHER_ORIGIN]},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return World(response.json()["id"], response.json()["public_key"], admin)


async def get_capture(client: httpx.AsyncClient, world: World, capture_id: str) -> dict[str, Any]:
    response = await client.get(f"{CAPTURES}/{capture_id}", headers=world.admin)
    return body_of(response)


async def written(db: AsyncSession) -> dict[str, int]:
    """Rows per table of everything a capture writes."""
    return {model.__name__: await count_rows(db, model) for model in WRITTEN}


async def stored_capture(client: httpx.AsyncClient, world: World, capture_id: str) -> Any:
    response = await client.get(f"{CAPTURES}/{capture_id}", headers=world.admin)
    assert response.status_code == 200, response.text
    return response.json()


def instant(value: str) -> datetime:
    """A timestamp as the API writes it, to compare."""
    return datetime.fromisoformat(value)
