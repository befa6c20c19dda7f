"""Resolving a case frees its contact's window on the survey, and `case.resolved` carries a
fresh signed link that answers at once."""

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import table_of
from inbound.leads.models import LeadEvent
from tests.conftest import Headers
from tests.support.world import World
from tests.surveys.cases.helpers import (
    LINK_ANSWERS,
    link_answer,
    list_cases,
    new_lead,
    only_case,
    open_case,
    patch_case,
)
from tests.surveys.helpers import answer, answers_of

EVENTS = table_of(LeadEvent)


async def resolved_event(db: AsyncSession) -> dict[str, object]:
    statement = select(EVENTS.c.data).where(EVENTS.c.type == "case.resolved")
    data: dict[str, object] = (await db.execute(statement)).scalar_one()
    return data


async def test_the_contact_answers_again_once_its_case_is_resolved(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    lead_id, case = await open_case(client, world, 2)
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


async def test_the_page_answer_that_opened_a_resolved_case_stays_the_contacts(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    lead_id = await new_lead(client, world)
    page = await answer(client, world, email="ana@example.com", score=2)
    assert page.status_code == 201, page.text
    case = await only_case(client, admin)
    assert (await patch_case(client, admin, case["id"], {"status": "resolved"})).status_code == 200

    # The re-survey starts a new window: the earlier one, freed by the resolve, is not taken
    # over, so its answer keeps its contact, stage and persona.
    assert (await link_answer(client, admin, lead_id, 9)).status_code == 201
    answers = {a["score"]: a for a in await answers_of(client, admin)}
    assert answers[2]["contact_id"] == lead_id
    assert answers[2]["stage"] == "lead"
    assert answers[9]["contact_id"] == lead_id
    assert (await only_case(client, admin))["answer"]["id"] == page.json()["id"]


async def test_a_link_still_takes_over_a_page_answer_given_after_the_resolve(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    lead_id = await new_lead(client, world)
    assert (await answer(client, world, email="ana@example.com", score=2)).status_code == 201
    case = await only_case(client, admin)
    assert (await patch_case(client, admin, case["id"], {"status": "resolved"})).status_code == 200
    assert (await answer(client, world, email="ana@example.com", score=8)).status_code == 201

    # The link takes over the page's new window only: the answer before the resolve stays.
    assert (await link_answer(client, admin, lead_id, 9)).status_code == 201
    owners = {a["score"]: a["contact_id"] for a in await answers_of(client, admin)}
    assert owners == {2: lead_id, 8: None, 9: lead_id}


async def test_an_archived_survey_sends_no_link(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    _, case = await open_case(client, world, 1)
    archive = await client.post("/api/v1/surveys/support-nps/archive", headers=admin)
    assert archive.status_code == 200
    assert (await patch_case(client, admin, case["id"], {"status": "resolved"})).status_code == 200
    assert (await resolved_event(db))["survey_link"] is None


async def case_events(db: AsyncSession) -> list[tuple[str, int, dict[str, object]]]:
    statement = (
        select(EVENTS.c.type, EVENTS.c.lead_version, EVENTS.c.data)
        .where(EVENTS.c.type.like("case.%"))
        .order_by(EVENTS.c.lead_version, EVENTS.c.ordinal)
    )
    return [(row.type, row.lead_version, row.data) for row in await db.execute(statement)]


async def test_a_link_answer_closes_the_case_a_page_answer_in_its_name_opened(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    lead_id = await new_lead(client, world)
    # Anyone may type Ana's email: this detractor may not be Ana.
    assert (await answer(client, world, email="ana@example.com", score=2)).status_code == 201
    case = await only_case(client, admin)
    noted = await patch_case(client, admin, case["id"], {"note": "Left a voicemail."})
    assert noted.status_code == 200

    assert (await link_answer(client, admin, lead_id, 9)).status_code == 201
    closed = await only_case(client, admin)
    assert closed["status"] == "resolved"
    assert closed["resolved_at"] is not None
    assert closed["version"] == case["version"] + 2
    assert closed["note"].startswith("Closed without follow-up: the contact answered")
    assert closed["note"].endswith("\n\nLeft a voicemail.")
    assert (await list_cases(client, admin, contact_id=lead_id, status="open"))["items"] == []
    kind, _, data = (await case_events(db))[-1]
    assert kind == "case.resolved"
    assert data["changes"] == ["status", "note"]
    assert data["survey_link"] is None  # just answered: not asked again


async def test_a_negative_link_answer_closes_the_pages_case_and_opens_its_own(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    lead_id = await new_lead(client, world)
    page = await answer(client, world, email="ana@example.com", score=2)
    assert page.status_code == 201
    link = await link_answer(client, admin, lead_id, 1)
    assert link.status_code == 201, link.text

    cases = {c["answer"]["id"]: c for c in (await list_cases(client, admin))["items"]}
    assert cases[page.json()["id"]]["status"] == "resolved"
    assert cases[link.json()["id"]]["status"] == "open"
    events = await case_events(db)
    assert [kind for kind, _, _ in events] == ["case.opened", "case.opened", "case.resolved"]
    # Each change of the lead at a version of its own, in the order they happened.
    versions = [version for _, version, _ in events]
    assert versions == sorted(set(versions))
