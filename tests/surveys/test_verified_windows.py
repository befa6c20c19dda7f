"""Only a signed link proves who answers: a page's answer naming a contact never keeps the
contact's own link from answering, and no longer counts as the contact's once it has."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbound.db import utcnow
from inbound.surveys.models import SurveyRespondent
from tests.conftest import Headers
from tests.leads.helpers import timeline
from tests.problems import body_of, error_fields
from tests.support.world import World, capture, get_lead
from tests.surveys.helpers import (
    answer,
    answers_of,
    make_link,
)

ANSWERS = "/api/v1/survey-answers"


async def link_token(client: httpx.AsyncClient, admin: Headers, contact_id: str) -> str:
    response = await make_link(client, admin, contact_id)
    found: str = body_of(response, 201)["token"]
    return found


@pytest.mark.parametrize("named_by", [{"email": "ana@example.com"}, {"visitor_id": "browser-7"}])
async def test_a_page_answer_naming_a_contact_never_keeps_its_link_from_answering(
    client: httpx.AsyncClient, world: World, admin: Headers, named_by: dict[str, Any]
) -> None:
    lead_id = (await capture(client, world, visitor_id="browser-7")).json()["contact_id"]
    # Anyone with the page's key may name Ana: taken at its word for now.
    squatted = await answer(client, world, score=0, **named_by)
    assert squatted.status_code == 201, squatted.text
    [page_answer] = await answers_of(client, admin)
    assert (page_answer["contact_id"], page_answer["stage"]) == (lead_id, "lead")
    token = await link_token(client, admin, lead_id)
    page = await client.get(f"/s/{token}")
    assert page.status_code == 200
    assert "<form" in page.text  # not "already answered"
    own = await client.post(ANSWERS, json={"token": token, "score": 9})
    assert own.status_code == 201, own.text
    stored = {a["source"]: a for a in await answers_of(client, admin)}
    assert (stored["link"]["contact_id"], stored["link"]["score"]) == (lead_id, 9)
    # The page's answer stays in the figures, as nobody's: not Ana's, nor her stage's.
    kept = stored["public"]
    assert (kept["contact_id"], kept["persona_id"], kept["stage"]) == (None, None, None)
    assert kept["id"] == page_answer["id"]
    entries = timeline(await get_lead(client, world, lead_id), "answer")
    assert [(e["source"], e["score"]) for e in entries] == [("link", 9)]
    # Once the link has answered, the window is the contact's own.
    assert (await client.post(ANSWERS, json={"token": token, "score": 3})).status_code == 409
    again = await answer(client, world, score=1, **named_by)
    assert again.status_code == (201 if "email" in named_by else 409)
    assert len(await answers_of(client, admin)) == 2


async def test_a_page_answer_of_an_ended_window_is_the_contacts_again(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    lead_id = (await capture(client, world)).json()["contact_id"]
    token = await link_token(client, admin, lead_id)
    assert (await client.post(ANSWERS, json={"token": token, "score": 9})).status_code == 201
    ended = utcnow() - timedelta(days=90, seconds=1)
    await db.execute(update(SurveyRespondent).values(answered_at=ended))
    assert (await answer(client, world, score=4, email="ana@example.com")).status_code == 201
    window = (await db.execute(select(col(SurveyRespondent.source)))).scalar_one()
    assert window == "public"
    by_source = {a["source"]: a["contact_id"] for a in await answers_of(client, admin)}
    assert by_source == {"link": lead_id, "public": lead_id}
    # That page's window is the link's to take, like any other.
    assert (await client.post(ANSWERS, json={"token": token, "score": 8})).status_code == 201
    owners = {a["score"]: a["contact_id"] for a in await answers_of(client, admin)}
    assert owners == {9: lead_id, 4: None, 8: lead_id}


async def test_link_and_page_answers_are_told_apart_in_the_list_and_the_report(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    lead_id = (await capture(client, world)).json()["contact_id"]
    token = await link_token(client, admin, lead_id)
    assert (await client.post(ANSWERS, json={"token": token, "score": 10})).status_code == 201
    for score in (0, 3):  # anonymous: nobody to tell them from each other but their door
        assert (await answer(client, world, score=score)).status_code == 201
    link_only = await answers_of(client, admin, source="link")
    assert [(a["source"], a["score"]) for a in link_only] == [("link", 10)]
    page_only = await answers_of(client, admin, source="public")
    assert sorted(a["score"] for a in page_only) == [0, 3]
    today = utcnow().date().isoformat()
    period = {"metric": "nps", "from": today, "to": today}
    for source, n, nps in (("link", 1, 100.0), ("public", 2, -100.0), (None, 3, -33.33)):
        params = period | ({"source": source} if source else {})
        report = await client.get("/api/v1/reports/surveys", params=params, headers=admin)
        figures = report.json()["total"][0]["figures"]
        assert (figures["n"], figures["value"]) == (n, nps), source
    bad = await client.get(
        "/api/v1/surveys/support-nps/answers", params={"source": "mail"}, headers=admin
    )
    assert bad.status_code == 400
    assert error_fields(bad) == ["source"]
