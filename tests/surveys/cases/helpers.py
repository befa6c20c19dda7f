"""Builders shared by the follow-up case tests: a lead, a survey it answers, and its cases."""

from typing import Any

import httpx

from tests.conftest import Headers
from tests.problems import body_of
from tests.support.world import LEADS, World, capture
from tests.surveys.helpers import make_link, survey_site

CASES = "/api/v1/cases"
LINK_ANSWERS = "/api/v1/survey-answers"


async def survey_world(client: httpx.AsyncClient, admin: Headers) -> World:
    """A site, an asset to capture through, and an NPS survey at a 24-hour touchpoint."""
    return await survey_site(client, admin, touchpoint={"sla_hours": 24}, comment_prompt="Why?")


async def new_lead(client: httpx.AsyncClient, world: World, email: str = "ana@example.com") -> str:
    response = await capture(client, world, email=email)
    found: str = body_of(response, 201)["contact_id"]
    return found


async def link_answer(
    client: httpx.AsyncClient,
    admin: Headers,
    lead_id: str,
    score: int,
    *,
    survey: str = "support-nps",
    comment: str | None = None,
) -> httpx.Response:
    """Answer as the lead through a signed link made for it."""
    link = await make_link(client, admin, lead_id, survey)
    assert link.status_code == 201, link.text
    body = {"token": link.json()["token"], "score": score, "comment": comment}
    return await client.post(LINK_ANSWERS, json=body)


async def open_case(
    client: httpx.AsyncClient, world: World, score: int, **fields: Any
) -> tuple[str, dict[str, Any]]:
    """A new lead whose answer (``score``) opens a case: the lead's id and the case."""
    lead_id = await new_lead(client, world)
    assert (await link_answer(client, world.admin, lead_id, score, **fields)).status_code == 201
    return lead_id, await only_case(client, world.admin)


async def list_cases(
    client: httpx.AsyncClient, headers: Headers, path: str = CASES, **params: Any
) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=headers)
    return body_of(response)


async def only_case(client: httpx.AsyncClient, headers: Headers) -> dict[str, Any]:
    [case] = (await list_cases(client, headers))["items"]
    found: dict[str, Any] = case
    return found


async def patch_case(
    client: httpx.AsyncClient,
    headers: Headers,
    case_id: str,
    body: dict[str, Any],
    if_match: str | None = None,
) -> httpx.Response:
    extra = {"If-Match": if_match} if if_match else {}
    return await client.patch(f"{CASES}/{case_id}", json=body, headers={**headers, **extra})


async def claim(client: httpx.AsyncClient, headers: Headers, lead_id: str, owner: str) -> None:
    response = await client.post(f"{LEADS}/{lead_id}/claim", json={"owner": owner}, headers=headers)
    assert response.status_code == 201, response.text
