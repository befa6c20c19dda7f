"""Links racing each other on real, committed transactions: an id goes to one contact only."""

import asyncio

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select

from inbound.tracking.models import IdentityMerge, VisitorIdentity
from tests.support.world import World, capture
from tests.tracking.identity_helpers import event, store, work

pytestmark = pytest.mark.committing

RACERS = 8


async def merges(app: Litestar) -> list[IdentityMerge]:
    async with app.state.sessionmaker() as session:
        return list((await session.execute(select(IdentityMerge))).scalars())


async def owners(app: Litestar) -> list[VisitorIdentity]:
    async with app.state.sessionmaker() as session:
        return list((await session.execute(select(VisitorIdentity))).scalars())


class TestRaces:
    async def test_captures_of_different_emails_from_one_browser_link_it_once(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        answers = await asyncio.gather(
            *(
                capture(committing_client, world, email=f"p{n}@example.com", visitor_id="v-1")
                for n in range(RACERS)
            )
        )

        assert [a.status_code for a in answers] == [201] * RACERS, [a.text for a in answers]
        log = await merges(committing_app)
        linked = [m for m in log if m.outcome == "linked"]
        assert len(linked) == 1
        assert len(log) == RACERS
        assert {m.reason for m in log if m.outcome == "refused"} == {
            "the id is linked to another contact"
        }
        [identity] = await owners(committing_app)
        assert identity.contact_id == linked[0].contact_id

    async def test_workers_linking_one_browser_to_two_emails_link_it_once(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        for email in ("ana@example.com", "bob@example.com"):
            assert (await capture(committing_client, world, email=email)).status_code == 201
        async with committing_app.state.engine.begin() as connection:
            await store(
                connection,
                [
                    event(world.site_id, type="identify", anonymous_id="v-1",
                          identify_email=email)
                    for email in ("ana@example.com", "bob@example.com")
                ],
            )  # fmt: skip

        sessions = committing_app.state.sessionmaker
        await asyncio.gather(work(sessions), work(sessions))

        log = await merges(committing_app)
        assert sorted(m.outcome for m in log) == ["linked", "refused"]
        [identity] = await owners(committing_app)
        assert identity.contact_id == next(m.contact_id for m in log if m.outcome == "linked")
