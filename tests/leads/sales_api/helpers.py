"""Builders and readers of the sales API tests."""

from typing import Any

import httpx

from tests.conftest import Headers
from tests.problems import body_of
from tests.support.world import LEADS, World, capture

CIO_RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO"]},
]


async def new_lead(client: httpx.AsyncClient, world: World, email: str, **fields: Any) -> str:
    response = await capture(client, world, email=email, **fields)
    found: str = body_of(response, 201)["contact_id"]
    return found


async def listed(client: httpx.AsyncClient, headers: Headers, **params: Any) -> dict[str, Any]:
    response = await client.get(LEADS, params=params, headers=headers)
    return body_of(response)


def emails(page: dict[str, Any]) -> list[str]:
    return [item["email"] for item in page["items"]]
