"""Resolving a case frees its contact's window on the survey, and `case.resolved` carries a
fresh signed link that answers at once."""

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import table_of
from inbound.leads.models import LeadEvent
from tests.conftest import Headers
from tests.leads.helpers import World
from tests.surveys.case_helpers import (
    LINK_ANSWERS,
    link_answer,
    list_cases,
    new_lead,
    only_case,
    patch_case,
    survey_world,
)

EVENTS = table_of(LeadEvent)


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    return await survey_world(client, admin)


async def resolved_event(db: AsyncSession) -> dict[str, object]:
    statement = select(EVENTS.c.data).where(EVENTS.c.type == "case.resolved")
    data: dict[str, object] = (await db.execute(statement)).scalar_one()
    return data


async def test_the_contact_answers_again_once_its_case_is_resolved(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    lead_id = await new_lead(client, world)
    assert (await link_answer(client, admin, lead_id, 2)).status_code == 201
    case = await only_case(client, admin)
    assert (await link_answer(client, admin, lead_id, 9)).status_code == 409
    contacted = await patch_case(client, admin, case["id"], {"status": "contacted"})
    assert contacted.status_code == 200
    # Contacted is not settled: the window holds.
    assert (await link_answer(client, admin, lead_id, 9)).status_code == 409
    assert (await patch_case(client, admin, case["id"], {"status": "resolved"})).status_code == 200
    link = (await resolved_event(db))["survey_link"]
    assert isinstance(link, dict)
    assert link["url"] == f"http://testserver/s/{link['token']}"
    assert link["survey_id"] == case["answer"]["survey_id"]
    again = await client.post(LINK_ANSWERS, json={"token": link["token"], "score": 9})
    assert again.status_code == 201, again.text
    # The new answer takes the window again, and opens no case: it is not negative.
    assert (await link_answer(client, admin, lead_id, 9)).status_code == 409
    assert len((await list_cases(client, admin))["items"]) == 1


async def test_resolving_frees_only_that_contacts_window(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    ana = await new_lead(client, world)
    bob = await new_lead(client, world, "bob@example.com")
    for lead_id in (ana, bob):
        assert (await link_answer(client, admin, lead_id, 0)).status_code == 201
    cases = (await list_cases(client, admin, contact_id=ana))["items"]
    assert (
        await patch_case(client, admin, cases[0]["id"], {"status": "resolved"})
    ).status_code == 200
    assert (await link_answer(client, admin, ana, 3)).status_code == 201
    assert (await link_answer(client, admin, bob, 3)).status_code == 409
    # Ana answered negatively again: a new case, for the new answer.
    assert len((await list_cases(client, admin, contact_id=ana, status="open"))["items"]) == 1


async def test_an_archived_survey_sends_no_link(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    lead_id = await new_lead(client, world)
    assert (await link_answer(client, admin, lead_id, 1)).status_code == 201
    case = await only_case(client, admin)
    archive = await client.post("/api/v1/surveys/support-nps/archive", headers=admin)
    assert archive.status_code == 200
    assert (await patch_case(client, admin, case["id"], {"status": "resolved"})).status_code == 200
    assert (await resolved_event(db))["survey_link"] is None
