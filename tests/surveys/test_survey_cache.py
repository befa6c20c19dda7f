"""Answers read their survey from a copy each process keeps for `INBOUND_CACHE_SECONDS`: a
change through a process counts there at once, and in the others within that time."""

import asyncio

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.app import create_app
from inbound.config import Settings
from tests.conftest import Headers, http_client
from tests.support.world import World
from tests.surveys.helpers import answer

CACHE_SECONDS = 0.3


pytestmark = pytest.mark.settings(survey_rate_per_ip="1000/minute", cache_seconds=CACHE_SECONDS)


async def test_an_archive_counts_at_once_here_and_within_the_cache_time_elsewhere(
    client: httpx.AsyncClient,
    world: World,
    admin: Headers,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    other = create_app(settings)
    other.state.sessionmaker = sessionmaker
    try:
        async with http_client(other) as elsewhere:
            # Both processes have read the survey, and keep it.
            assert (await answer(client, world, visitor_id="b-1")).status_code == 201
            assert (await answer(elsewhere, world, visitor_id="b-2")).status_code == 201
            archived = await client.post("/api/v1/surveys/support-nps/archive", headers=admin)
            assert archived.status_code == 200
            assert (await answer(client, world, visitor_id="b-3")).status_code == 410
            await asyncio.sleep(CACHE_SECONDS + 0.1)
            late = await answer(elsewhere, world, visitor_id="b-4")
            assert late.status_code == 410, late.text
            assert late.json()["type"] == "urn:inbound:problem:survey-closed"
            # And back: unarchived, answered at once here.
            await client.post("/api/v1/surveys/support-nps/unarchive", headers=admin)
            assert (await answer(client, world, visitor_id="b-5")).status_code == 201
    finally:
        await other.state.engine.dispose()
