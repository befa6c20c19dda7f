"""Builders shared by the survey tests: touchpoints, surveys and answers through the API."""

from typing import Any

import httpx

from tests.conftest import Headers
from tests.leads.helpers import World

TOUCHPOINTS = "/api/v1/touchpoints"
SURVEYS = "/api/v1/surveys"


async def make_touchpoint(
    client: httpx.AsyncClient, headers: Headers, **fields: Any
) -> dict[str, Any]:
    body = {"name": "Support", "slug": "support", "kind": "channel", "channel": "support",
            **fields}  # fmt: skip
    response = await client.post(TOUCHPOINTS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def make_survey(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {"slug": "support-nps", "touchpoint": "support", "metric": "nps",
            "question": "How likely are you to recommend us?", **fields}  # fmt: skip
    response = await client.post(SURVEYS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def answer(
    client: httpx.AsyncClient,
    world: World,
    *,
    survey: str = "support-nps",
    headers: Headers | None = None,
    **fields: Any,
) -> httpx.Response:
    """Post an answer as a site's page does with JSON."""
    body = {"score": 9, **fields}
    return await client.post(
        f"{SURVEYS}/{survey}/answers", json=body, headers={**world.site_headers, **(headers or {})}
    )


async def answers_of(
    client: httpx.AsyncClient, headers: Headers, survey: str = "support-nps", **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(f"{SURVEYS}/{survey}/answers", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def make_link(
    client: httpx.AsyncClient,
    headers: Headers,
    contact_id: str,
    survey: str = "support-nps",
    **fields: Any,
) -> httpx.Response:
    body = {"contact_id": contact_id, **fields}
    return await client.post(f"{SURVEYS}/{survey}/links", json=body, headers=headers)
