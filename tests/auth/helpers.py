"""Issuing, listing and presenting API keys in the API key tests."""

from typing import Any

import httpx

from tests.conftest import Headers
from tests.problems import body_of

API_KEYS = "/api/v1/api-keys"


def bearer(key: str) -> Headers:
    return {"Authorization": f"Bearer {key}"}


async def create_key(
    client: httpx.AsyncClient, admin: Headers, *scopes: str, name: str = "ops"
) -> dict[str, Any]:
    response = await client.post(
        API_KEYS, json={"name": name, "scopes": list(scopes or ["content:read"])}, headers=admin
    )
    return body_of(response, 201)


async def list_ids(client: httpx.AsyncClient, admin: Headers, **params: Any) -> list[str]:
    response = await client.get(API_KEYS, params={"limit": 500, **params}, headers=admin)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]
