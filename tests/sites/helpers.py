"""Creating sites and reading their keys in the site tests."""

from typing import Any

import httpx

from tests.conftest import Headers
from tests.problems import body_of

SITES = "/api/v1/sites"
API_KEYS = "/api/v1/api-keys"


def bearer(key: str) -> Headers:
    return {"Authorization": f"Bearer {key}"}


async def create_site(client: httpx.AsyncClient, admin: Headers, **body: Any) -> dict[str, Any]:
    response = await client.post(SITES, json={"name": "www", **body}, headers=admin)
    return body_of(response, 201)


async def key_status(client: httpx.AsyncClient, key: str) -> int:
    """401 for a dead key; 403 for a live public key, which may not read content."""
    return (await client.get("/api/v1/personas", headers=bearer(key))).status_code
