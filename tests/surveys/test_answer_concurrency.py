"""Answers racing each other on real, committed transactions: one per respondent and window."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from inbound.app import create_app
from inbound.config import Settings
from inbound.db import utcnow
from inbound.surveys.models import SurveyAnswer, SurveyRespondent
from tests.conftest import Headers
from tests.leads.helpers import count_rows
from tests.support.world import World, capture, make_world
from tests.surveys.helpers import answer, make_link, make_survey, make_touchpoint

BURST = 12


pytestmark = pytest.mark.settings(
    survey_rate_per_ip="1000/minute", capture_rate_per_ip="1000/minute"
)


async def answer_in_a_burst(client: httpx.AsyncClient, world: World, who: dict[str, Any]) -> None:
    """Answer BURST times at once as ``who``: one answer is taken. An email's other answers
    look taken too (they tell nothing of it); a browser's are 409."""
    responses = await asyncio.gather(
        *(answer(client, world, score=i % 11, **who) for i in range(BURST))
    )
    refused = 201 if "email" in who else 409
    assert sorted(r.status_code for r in responses) == sorted([201] + [refused] * (BURST - 1))


async def answer_by_link_in_a_burst(client: httpx.AsyncClient, token: str) -> None:
    """Answer through one survey link BURST times at once: one answer is taken, the others
    are 409."""
    body = {"token": token, "score": 5}
    responses = await asyncio.gather(
        *(client.post("/api/v1/survey-answers", json=body) for _ in range(BURST))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * (BURST - 1)


async def stored_answers(app: Litestar) -> int:
    async with app.state.sessionmaker() as session:
        return await count_rows(session, SurveyAnswer)


@pytest.mark.committing
class TestRaces:
    @pytest.mark.parametrize("who", [{"visitor_id": "b-1"}, {"email": "ana@example.com"}])
    async def test_concurrent_answers_of_one_respondent_store_one(
        self,
        committing_app: Litestar,
        committing_client: httpx.AsyncClient,
        world: World,
        who: dict[str, Any],
    ) -> None:
        await capture(committing_client, world)
        await answer_in_a_burst(committing_client, world, who)
        assert await stored_answers(committing_app) == 1

    async def test_concurrent_link_answers_store_one(
        self, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        lead = (await capture(committing_client, world)).json()
        link = (await make_link(committing_client, world.admin, lead["contact_id"])).json()
        await answer_by_link_in_a_burst(committing_client, link["token"])

    @pytest.mark.parametrize("who", [{"visitor_id": "b-1"}, {"email": "ana@example.com"}])
    async def test_answers_racing_just_after_a_window_ended_store_one(
        self,
        committing_app: Litestar,
        committing_client: httpx.AsyncClient,
        world: World,
        who: dict[str, Any],
    ) -> None:
        await capture(committing_client, world)
        assert (await answer(committing_client, world, **who)).status_code == 201
        async with committing_app.state.sessionmaker() as session, session.begin():
            ended = utcnow() - timedelta(days=90, seconds=1)
            await session.execute(update(SurveyRespondent).values(answered_at=ended))
        await answer_in_a_burst(committing_client, world, who)
        # The first window's answer, and exactly one of the new window's.
        assert await stored_answers(committing_app) == 2

    async def test_link_answers_racing_over_a_page_answer_store_one(
        self,
        committing_app: Litestar,
        committing_client: httpx.AsyncClient,
        world: World,
    ) -> None:
        lead = (await capture(committing_client, world)).json()
        page = await answer(committing_client, world, email="ana@example.com", score=0)
        assert page.status_code == 201
        link = (await make_link(committing_client, world.admin, lead["contact_id"])).json()
        await answer_by_link_in_a_burst(committing_client, link["token"])
        async with committing_app.state.sessionmaker() as session:
            statement = select(col(SurveyAnswer.source), col(SurveyAnswer.contact_id))
            rows = (await session.execute(statement)).all()
        owners = sorted((source, str(contact)) for source, contact in rows)
        assert owners == [("link", lead["contact_id"]), ("public", "None")]


@asynccontextmanager
async def app_limited_to(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], limit: str
) -> AsyncIterator[Litestar]:
    app = create_app(
        Settings(
            database_url=database_url,
            log_level="WARNING",
            worker_in_process=False,
            survey_rate_per_ip=limit,
        )
    )
    app.state.sessionmaker = sessionmaker
    try:
        yield app
    finally:
        await app.state.engine.dispose()


async def test_one_address_is_rate_limited(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], admin: Headers
) -> None:
    async with app_limited_to(database_url, sessionmaker, "3/minute") as app:
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            world = await make_world(client, admin)
            await make_touchpoint(client, admin)
            await make_survey(client, admin)
            # Refused posts count too: a bad score spends the address's budget.
            statuses = [(await answer(client, world, score=99)).status_code for _ in range(3)]
            limited = await answer(client, world)
    assert statuses == [400] * 3
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["type"] == "urn:inbound:problem:rate-limited"
