"""How an answer commits on PostgreSQL: without waiting for the WAL flush unless the settings
say `sync`, and only in its own transaction, never in the connection the pool lends on."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from inbound.db import utcnow
from inbound.leads.capture.reference import CaptureReference
from inbound.surveys.answering import Answer, Respondent, record_answer
from inbound.surveys.models import AnswerSource
from inbound.surveys.reference import survey_to_answer
from tests.conftest import Headers
from tests.support.fixtures import WorldClient
from tests.support.world import World
from tests.surveys.cases.helpers import new_lead, survey_world
from tests.surveys.helpers import answer


@pytest.fixture(autouse=True)
def postgresql_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite commits in process; there is no flush to wait for")


async def commit_mode(connection: AsyncConnection) -> str:
    return str((await connection.execute(text("SHOW synchronous_commit"))).scalar_one())


@pytest.mark.parametrize(
    ("who", "score", "source"),
    [
        ({"visitor_id": "b-1"}, 9, AnswerSource.PUBLIC),  # one statement of its own
        ({"visitor_id": None}, 9, AnswerSource.PUBLIC),  # nobody: an insert alone
        ({"contact": True}, 0, AnswerSource.PUBLIC),  # a case opened in a transaction
        ({"contact": True}, 9, AnswerSource.LINK),  # a link's, in a transaction
    ],
    ids=["claim", "anonymous", "case", "link"],
)
@pytest.mark.parametrize("wait_for_flush", [False, True], ids=["async", "sync"])
async def test_an_answer_sets_how_its_own_transaction_commits(
    client: httpx.AsyncClient,
    admin: Headers,
    connection: AsyncConnection,
    who: dict[str, Any],
    score: int,
    source: AnswerSource,
    wait_for_flush: bool,
) -> None:
    world = await survey_world(client, admin)
    lead = await new_lead(client, world)
    surveys = CaptureReference(lambda: async_sessionmaker(connection), 60)
    await survey_to_answer(surveys, "support-nps")
    server_default = await commit_mode(connection)
    respondent = (
        Respondent(contact_id=uuid.UUID(lead))
        if who.get("contact")
        else Respondent(visitor_id=who["visitor_id"])
    )

    await record_answer(
        connection, surveys, "support-nps", respondent, Answer(score, None, source), utcnow(),
        wait_for_flush=wait_for_flush,
    )  # fmt: skip

    # The test's transaction is the answer's: the setting holds in it until it ends.
    assert await commit_mode(connection) == (server_default if wait_for_flush else "off")


# The pool then holds two connections (twice the setting): both are checked below.
@pytest.mark.committing
@pytest.mark.settings(database_pool_size=1, survey_rate_per_ip="1000/minute")
class TestCommitted:
    @pytest.fixture
    async def world(self, world_client: WorldClient) -> World:
        return await survey_world(*world_client)

    async def test_the_pool_lends_its_connections_on_with_the_servers_setting(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        engine: AsyncEngine = committing_app.state.engine
        async with engine.connect() as connection:
            server_default = await commit_mode(connection)
        await new_lead(committing_client, world)
        answers = await asyncio.gather(
            answer(committing_client, world, visitor_id="b-1"),
            answer(committing_client, world, email="ana@example.com", score=0),
            answer(committing_client, world),
        )
        assert [a.status_code for a in answers] == [201, 201, 201]

        # Every connection of the pool at once: none kept the answers' setting.
        async def mode() -> str:
            async with engine.connect() as connection:
                found = await commit_mode(connection)
                await asyncio.sleep(0.05)
                return found

        assert list(await asyncio.gather(mode(), mode())) == [server_default, server_default]
