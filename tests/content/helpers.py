"""Builders shared by the content tests."""

from typing import Any

import httpx

from tests.conftest import Headers
from tests.problems import body_of

ASSETS = "/api/v1/assets"
PERSONAS = "/api/v1/personas"


async def make_persona(client: httpx.AsyncClient, headers: Headers, slug: str) -> dict[str, Any]:
    response = await client.post(
        PERSONAS, json={"name": slug.title(), "slug": slug}, headers=headers
    )
    return body_of(response, 201)


async def make_asset(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {"title": "Cloud Cost Guide", "kind": "guide", "funnel_stage": "attract", **fields}
    response = await client.post(ASSETS, json=body, headers=headers)
    return body_of(response, 201)
