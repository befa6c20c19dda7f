"""Erasing a lead takes its answers, and the anonymous answers of the browsers linked to it."""

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbound.surveys.models import SurveyRespondent
from tests.conftest import Headers
from tests.support.world import capture, make_ebook_world
from tests.surveys.helpers import answer, answers_of, make_survey, make_touchpoint


async def test_erasing_a_lead_erases_its_browsers_anonymous_answers(
    client: httpx.AsyncClient, admin: Headers, db: AsyncSession
) -> None:
    world = await make_ebook_world(client, admin)
    await make_touchpoint(client, admin)
    await make_survey(client, admin)
    # Answered before anyone knew whose browser it was: stored anonymous.
    assert (await answer(client, world, score=2, visitor_id="browser-8")).status_code == 201
    assert (await answer(client, world, score=7, visitor_id="browser-9")).status_code == 201
    lead_id = (await capture(client, world, visitor_id="browser-8")).json()["contact_id"]
    assert (await answer(client, world, score=10, email="ana@example.com")).status_code == 201
    before = {
        a["score"]: (a["contact_id"], a["visitor_id"]) for a in await answers_of(client, admin)
    }
    assert before == {2: (None, "browser-8"), 7: (None, "browser-9"), 10: (lead_id, None)}
    erased = await client.delete(f"/api/v1/leads/{lead_id}", headers=admin)
    assert erased.status_code == 204, erased.text
    # A stranger's answer, on another browser, stays.
    assert [a["score"] for a in await answers_of(client, admin)] == [7]
    windows = (await db.execute(select(col(SurveyRespondent.respondent)))).scalars().all()
    assert windows == ["visitor:browser-9"]
