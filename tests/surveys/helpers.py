"""Builders shared by the survey tests: touchpoints, surveys and answers through the API."""

from typing import Any

import httpx

from tests.conftest import Headers
from tests.problems import body_of
from tests.support.world import World, make_ebook_world

TOUCHPOINTS = "/api/v1/touchpoints"
SURVEYS = "/api/v1/surveys"


async def make_touchpoint(
    client: httpx.AsyncClient, headers: Headers, **fields: Any
) -> dict[str, Any]:
    body = {"name": "Support", "slug": "support", "kind": "channel", "channel": "support",
            **fields}  # fmt: skip
    response = await client.post(TOUCHPOINTS, json=body, headers=headers)
    return body_of(response, 201)


async def make_survey(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {"slug": "support-nps", "touchpoint": "support", "metric": "nps",
            "question": "How likely are you to recommend us?", **fields}  # fmt: skip
    response = await client.post(SURVEYS, json=body, headers=headers)
    return body_of(response, 201)


async def survey_site(
    client: httpx.AsyncClient,
    admin: Headers,
    *,
    touchpoint: dict[str, Any] | None = None,
    **survey: Any,
) -> World:
    """A site, an e-book to capture through, and the NPS survey `support-nps` at a touchpoint."""
    world = await make_ebook_world(client, admin)
    await make_touchpoint(client, admin, **(touchpoint or {}))
    await make_survey(client, admin, **survey)
    return world


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
    found: list[dict[str, Any]] = body_of(response)["items"]
    return found


async def make_link(
    client: httpx.AsyncClient,
    headers: Headers,
    contact_id: str,
    survey: str = "support-nps",
    **fields: Any,
) -> httpx.Response:
    body = {"contact_id": contact_id, **fields}
    return await client.post(f"{SURVEYS}/{survey}/links", json=body, headers=headers)
