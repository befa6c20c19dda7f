"""Answering from a site's page: who answers, the scale, the window, and what is kept."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.scopes import Scope
from inbound.db import utcnow
from inbound.surveys.models import SurveyAnswer, SurveyRespondent
from tests.conftest import Headers, KeyMaker
from tests.leads.helpers import count_rows, move_stage, timeline
from tests.problems import error_fields
from tests.support.world import World, capture, get_lead, make_persona
from tests.surveys.helpers import (
    SURVEYS,
    answer,
    answers_of,
    make_survey,
    survey_site,
)


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    return await survey_site(client, admin, comment_prompt="Why?")


async def test_an_anonymous_answer_is_stored_with_its_site(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    response = await answer(client, world, score=10, comment="Quick and kind <b>help</b>")
    assert response.status_code == 201, response.text
    accepted = response.json()
    assert set(accepted) == {"id", "survey_id", "score", "answered_at"}
    [stored] = await answers_of(client, admin)
    assert stored["id"] == accepted["id"]
    assert (stored["score"], stored["comment"]) == (10, "Quick and kind <b>help</b>")
    assert (stored["contact_id"], stored["visitor_id"], stored["source"]) == (None, None, "public")
    assert (stored["metric"], stored["scale_min"], stored["scale_max"]) == ("nps", 0, 10)
    assert stored["site_id"] == world.site_id


async def test_a_known_email_answers_as_its_contact_with_persona_and_stage_of_then(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    persona = await make_persona(
        client,
        admin,
        "it-director",
        rules=[{"field": "job_title", "operator": "contains_any", "values": ["CIO"]}],
    )
    lead = (await capture(client, world, job_title="CIO")).json()
    response = await answer(client, world, email=" Ana@Example.com ", score=3)
    assert response.status_code == 201, response.text
    await move_stage(client, admin, lead["contact_id"], "customer")
    [stored] = await answers_of(client, admin)
    assert stored["contact_id"] == lead["contact_id"]
    assert (stored["persona_id"], stored["stage"]) == (persona["id"], "lead")
    [entry] = timeline(await get_lead(client, world, lead["contact_id"]), "answer")
    assert entry == {
        "survey_id": stored["survey_id"],
        "survey": "support-nps",
        "metric": "nps",
        "score": 3,
        "scale_min": 0,
        "scale_max": 10,
        "comment": None,
        "source": "public",
    }


async def test_an_unknown_email_makes_no_contact_and_is_not_kept(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    response = await answer(client, world, email="nobody@example.com", visitor_id="b-1")
    assert response.status_code == 201, response.text
    [stored] = await answers_of(client, admin)
    assert (stored["contact_id"], stored["visitor_id"]) == (None, "b-1")
    assert "nobody@example.com" not in str(stored)
    leads = await client.get("/api/v1/leads", headers=admin)
    assert leads.json()["items"] == []


async def test_a_browser_linked_to_a_contact_answers_as_it(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    lead = (await capture(client, world, visitor_id="browser-7")).json()
    assert (await answer(client, world, visitor_id="browser-7")).status_code == 201
    [stored] = await answers_of(client, admin)
    assert (stored["contact_id"], stored["visitor_id"]) == (lead["contact_id"], "browser-7")


@pytest.mark.parametrize(
    ("who", "again"),
    [
        ({"visitor_id": "b-2"}, {"visitor_id": "b-2"}),
        ({"email": "ana@example.com"}, {"visitor_id": "browser-7"}),
        ({"visitor_id": "browser-7"}, {"email": "ana@example.com"}),
    ],
)
async def test_one_answer_per_respondent_per_window(
    client: httpx.AsyncClient,
    world: World,
    admin: Headers,
    db: AsyncSession,
    who: dict[str, Any],
    again: dict[str, Any],
) -> None:
    await capture(client, world, visitor_id="browser-7")
    first = await answer(client, world, **who)
    assert first.status_code == 201, first.text
    refused = await answer(client, world, score=0, **again)
    if "email" in again:
        # Told nothing about that email's contact: answered as taken, stored nowhere.
        assert refused.status_code == 201, refused.text
    else:
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["type"] == "urn:inbound:problem:already-answered"
        answered = first.json()["answered_at"]
        ends = (utcnow().fromisoformat(answered) + timedelta(days=90)).isoformat()
        assert problem["window_ends_at"] == ends.replace("+00:00", "Z")
    assert len(await answers_of(client, admin)) == 1
    # Once the window has passed, the same respondent answers again.
    await db.execute(
        update(SurveyRespondent).values(answered_at=utcnow() - timedelta(days=90, seconds=1))
    )
    assert (await answer(client, world, score=0, **again)).status_code == 201
    assert len(await answers_of(client, admin)) == 2


async def test_a_known_and_an_unknown_email_are_answered_alike(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    await capture(client, world)  # ana@example.com is a contact; bo@example.com is nobody
    seen = []
    for email in ("ana@example.com", "bo@example.com"):
        for score in (9, 3):
            response = await answer(client, world, score=score, email=email)
            body = response.json()
            seen.append((response.status_code, tuple(sorted(body)), body["survey_id"]))
    assert len(set(seen)) == 1, seen
    stored = await answers_of(client, admin)
    assert sorted(a["score"] for a in stored) == [3, 9, 9]  # ana's second is kept nowhere


async def test_answers_without_any_id_are_not_counted_against_each_other(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    assert [(await answer(client, world)).status_code for _ in range(2)] == [201, 201]


@pytest.mark.parametrize(
    ("metric", "scale", "low", "high"),
    [("nps", None, 0, 10), ("csat", None, 1, 5), ("ces", 7, 1, 7)],
)
async def test_a_score_off_the_surveys_scale_is_refused(
    client: httpx.AsyncClient,
    world: World,
    admin: Headers,
    metric: str,
    scale: int | None,
    low: int,
    high: int,
) -> None:
    fields = {"scale": scale} if scale else {}
    await make_survey(client, admin, slug="other", metric=metric, **fields)
    for score in (low - 1, high + 1):
        response = await answer(client, world, survey="other", score=score)
        assert response.status_code in (400, 422), response.text
        assert error_fields(response) == ["score"]
    for score in (low, high):
        response = await answer(client, world, survey="other", score=score)
        assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score": "9"}, "score"),
        ({"score": 9.5}, "score"),
        ({}, "score"),
        ({"score": 9, "comment": "x" * 5001}, "comment"),
        ({"score": 9, "email": "not-an-email"}, "email"),
        ({"score": 9, "visitor_id": "has space"}, "visitor_id"),
        ({"score": 9, "mood": "happy"}, "mood"),
    ],
)
async def test_a_malformed_answer_is_a_400_naming_the_field(
    client: httpx.AsyncClient, world: World, body: dict[str, object], field: str
) -> None:
    response = await client.post(
        f"{SURVEYS}/support-nps/answers", json=body, headers=world.site_headers
    )
    assert response.status_code == 400, response.text
    assert error_fields(response) == [field]


async def test_an_unknown_survey_is_a_404(client: httpx.AsyncClient, world: World) -> None:
    response = await answer(client, world, survey="no-such-survey")
    assert response.status_code == 404
    assert response.json()["type"] == "urn:inbound:problem:survey-not-found"


async def test_a_plain_form_answers_and_is_sent_to_its_redirect(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    form = {
        "_key": world.public_key,
        "score": "7",
        "comment": "fine",
        "visitor_id": "b-9",
        "_redirect": "https://www.example.com/thanks",
        "send": "Send",
    }
    response = await client.post(f"{SURVEYS}/support-nps/answers", data=form)
    assert response.status_code == 303, response.text
    [stored] = await answers_of(client, admin)
    assert response.headers["location"] == (
        f"https://www.example.com/thanks?answer_id={stored['id']}"
    )
    assert (stored["score"], stored["comment"]) == (7, "fine")
    again = await client.post(f"{SURVEYS}/support-nps/answers", data=form)
    assert again.status_code == 303
    assert again.headers["location"].startswith(
        "https://www.example.com/thanks?already_answered=true&window_ends_at="
    )


@pytest.mark.parametrize("score", ["²", "٣", "9" * 5000, "7.0"])
async def test_a_form_score_that_is_no_plain_number_is_a_400(
    client: httpx.AsyncClient, world: World, score: str
) -> None:
    form = {"_key": world.public_key, "score": score, "visitor_id": "b-10"}
    response = await client.post(f"{SURVEYS}/support-nps/answers", data=form)
    assert (response.status_code, error_fields(response)) == (400, ["score"]), response.text


async def test_a_redirect_off_the_sites_origins_is_refused(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    form = {"_key": world.public_key, "score": "7", "_redirect": "https://evil.example/x"}
    response = await client.post(f"{SURVEYS}/support-nps/answers", data=form)
    assert (response.status_code, error_fields(response)) == (422, ["_redirect"])
    assert await answers_of(client, admin) == []


async def test_the_honeypot_answers_like_a_success_and_stores_nothing(
    client: httpx.AsyncClient, world: World, admin: Headers, db: AsyncSession
) -> None:
    survey = (await client.get(f"{SURVEYS}/support-nps", headers=admin)).json()
    response = await answer(client, world, _hp="http://spam.example")
    assert response.status_code == 201
    assert response.json()["survey_id"] == survey["id"]
    assert await count_rows(db, SurveyAnswer) == 0


@pytest.mark.parametrize(
    ("survey", "score", "status"), [("no-such-survey", 9, 404), ("support-nps", 11, 400)]
)
async def test_the_honeypot_is_refused_where_a_real_answer_would_be(
    client: httpx.AsyncClient, world: World, survey: str, score: int, status: int
) -> None:
    real = await answer(client, world, survey=survey, score=score)
    trap = await answer(client, world, survey=survey, score=score, _hp="http://spam.example")
    assert (real.status_code, trap.status_code) == (status, status)
    assert trap.json()["type"] == real.json()["type"]


async def test_keys_and_origins(
    client: httpx.AsyncClient, world: World, make_key: KeyMaker
) -> None:
    url = f"{SURVEYS}/support-nps/answers"
    assert (await client.post(url, json={"score": 9})).status_code == 401
    server_key = await make_key(Scope.LEADS_WRITE)
    assert (await client.post(url, json={"score": 9}, headers=server_key)).status_code == 401
    foreign = await answer(client, world, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    own = await answer(client, world, headers={"Origin": "https://www.example.com"})
    assert own.status_code == 201
    assert own.headers["access-control-allow-origin"] == "https://www.example.com"
    preflight = await client.options(
        url, headers={"Origin": "https://www.example.com", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204


async def test_the_list_filters_by_contact_and_time_and_pages(
    client: httpx.AsyncClient, world: World, admin: Headers, make_key: KeyMaker
) -> None:
    lead = (await capture(client, world)).json()
    for i in range(3):
        assert (await answer(client, world, visitor_id=f"b-{i}")).status_code == 201
    assert (await answer(client, world, email="ana@example.com")).status_code == 201
    mine = await answers_of(client, admin, contact_id=lead["contact_id"])
    assert [a["contact_id"] for a in mine] == [lead["contact_id"]]
    assert await answers_of(client, admin, since="2999-01-01T00:00:00Z") == []
    assert len(await answers_of(client, admin, since="2000-01-01T00:00:00+02:00")) == 4
    url = f"{SURVEYS}/support-nps/answers"
    first = (await client.get(url, params={"limit": 3}, headers=admin)).json()
    rest = await client.get(url, params={"limit": 3, "cursor": first["next_cursor"]}, headers=admin)
    assert len(first["items"]) == 3
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    bad = await client.get(url, params={"since": "yesterday"}, headers=admin)
    assert (bad.status_code, error_fields(bad)) == (400, ["since"])
    content_only = await make_key(Scope.CONTENT_WRITE)
    assert (await client.get(url, headers=content_only)).status_code == 403
    assert (await client.get(url, headers=world.site_headers)).status_code in (401, 403)
    assert (await client.get(f"{SURVEYS}/nope/answers", headers=admin)).status_code == 404
