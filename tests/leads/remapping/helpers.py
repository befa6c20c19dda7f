"""Rules, profiles and passes of the background re-mapping tests."""

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.leads.qualification.remap import remap_if_changed
from tests.conftest import Headers
from tests.support.world import World, capture

PERSONAS = "/api/v1/personas"
CIO_RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO"]},
]
HEAD_OF_IT_RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO", "head of IT"]},
]
# Half of the profile fields: with a persona's rules all matching, fit 0.85 and grade A;
# without a persona, fit 0.15 and grade D.
PROFILE: dict[str, Any] = {"first_name": "Ana", "last_name": "Lima", "company": "Acme"}
Sessions = async_sessionmaker[AsyncSession]


async def new_lead(
    client: httpx.AsyncClient, world: World, email: str, job_title: str, captures: int = 1
) -> str:
    for _ in range(captures):
        response = await capture(client, world, email=email, job_title=job_title, **PROFILE)
        assert response.status_code == 201, response.text
    contact_id: str = response.json()["contact_id"]
    return contact_id


async def change_rules(
    client: httpx.AsyncClient, admin: Headers, slug: str, rules: list[dict[str, Any]]
) -> None:
    response = await client.patch(f"{PERSONAS}/{slug}", json={"rules": rules}, headers=admin)
    assert response.status_code == 200, response.text


async def settled(sessionmaker: Sessions) -> None:
    """Run the pass that takes in everything set up so far."""
    assert await remap_if_changed(sessionmaker) is not None
