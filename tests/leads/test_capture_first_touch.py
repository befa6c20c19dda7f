"""First touch under racing captures: the contact's first capture is the one that committed
first, and its stage history runs forward in time."""

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from sqlmodel import col

from inbound.leads.capture import repository as capture_module
from inbound.leads.models import Capture, Contact, StageChange
from inbound.lean_sql import LeanTransaction
from tests.conftest import Headers
from tests.support.world import World, capture, make_asset, make_persona, make_world

pytestmark = pytest.mark.committing

EMAIL = "racer@example.com"


@pytest.fixture
async def world(committing_client: httpx.AsyncClient, committing_admin: Headers) -> World:
    world = await make_world(committing_client, committing_admin)
    # A director fits the persona (grade B), so a second capture (100 points) makes an MQL.
    await make_persona(
        committing_client, committing_admin, "it-director",
        rules=[{"field": "job_title", "operator": "contains_any", "values": ["director"]}],
    )  # fmt: skip
    await make_asset(committing_client, committing_admin)
    await make_asset(committing_client, committing_admin, slug="webinar", title="Webinar")
    return world


async def history(app: Litestar) -> tuple[Contact, list[Capture], list[StageChange]]:
    """The one contact, its captures and its stage changes, each in the order of their times."""
    async with app.state.sessionmaker() as session:
        contact = (await session.execute(select(Contact))).scalar_one()
        captures = await session.execute(
            select(Capture).where(col(Capture.contact_id) == contact.id)
            .order_by(col(Capture.created_at), col(Capture.id))
        )  # fmt: skip
        changes = await session.execute(
            select(StageChange).where(col(StageChange.contact_id) == contact.id)
            .order_by(col(StageChange.changed_at), col(StageChange.id))
        )  # fmt: skip
        return contact, list(captures.scalars()), list(changes.scalars())


def assert_first_touch_is_the_earliest_capture(
    contact: Contact, captures: list[Capture], changes: list[StageChange]
) -> None:
    first = captures[0]
    assert (contact.first_asset_id, contact.first_utm_source) == (
        first.asset_id,
        first.utm_source,
    ), [(c.utm_source, c.created_at) for c in captures]
    assert contact.created_at == first.created_at
    stages = [(c.from_stage, c.to_stage) for c in changes]
    assert stages[0] == (None, "lead"), stages
    # Each change starts where the one before it ended: none is dated before its predecessor.
    assert all(
        later.from_stage == earlier.to_stage for earlier, later in itertools.pairwise(changes)
    ), stages


def hold_first_transaction() -> tuple[type[LeanTransaction], asyncio.Event, asyncio.Event]:
    """A `LeanTransaction` whose first transaction waits before it begins until released: a
    capture timed, then held up (a busy pool, a lock) while a later one goes through.

    Answers the class, the event set once the first one waits, and the one that releases it.
    """
    waiting, release = asyncio.Event(), asyncio.Event()

    class HeldFirstTransaction(LeanTransaction):
        @classmethod
        @asynccontextmanager
        async def begin(cls, bind: Any) -> AsyncIterator[LeanTransaction]:
            if not waiting.is_set():
                waiting.set()
                await release.wait()
            async with LeanTransaction.begin(bind) as transaction:
                yield transaction

    return HeldFirstTransaction, waiting, release


class TestFirstCapturesRacing:
    async def test_a_capture_held_up_before_its_transaction_comes_after_the_one_that_committed(
        self,
        committing_app: Litestar,
        committing_client: httpx.AsyncClient,
        world: World,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        held, waiting, release = hold_first_transaction()
        monkeypatch.setattr(capture_module, "LeanTransaction", held)
        slow = asyncio.create_task(
            capture(committing_client, world, email=EMAIL, job_title="IT Director",
                    utm_source="held-up")
        )  # fmt: skip
        await asyncio.wait_for(waiting.wait(), timeout=10)
        fast = await capture(
            committing_client, world, email=EMAIL, asset="webinar", job_title="IT Director",
            utm_source="went-through",
        )  # fmt: skip
        assert fast.status_code == 201, fast.text
        release.set()
        assert (await slow).status_code == 201

        contact, captures, changes = await history(committing_app)
        assert [c.utm_source for c in captures] == ["went-through", "held-up"]
        assert contact.first_utm_source == "went-through"
        assert [(c.from_stage, c.to_stage) for c in changes] == [(None, "lead"), ("lead", "mql")]
        assert_first_touch_is_the_earliest_capture(contact, captures, changes)
        assert changes[1].changed_at >= captures[0].created_at
        assert changes[1].capture_id == captures[1].id

    @pytest.mark.parametrize("round_", range(3))
    async def test_a_burst_of_first_captures_keeps_first_touch_and_stages_in_time_order(
        self,
        committing_app: Litestar,
        committing_client: httpx.AsyncClient,
        world: World,
        round_: int,
    ) -> None:
        answers = await asyncio.gather(
            *(
                capture(committing_client, world, email=EMAIL, job_title="IT Director",
                        asset="webinar" if i % 2 else "scoring-ebook", utm_source=f"post-{i}")
                for i in range(12)
            )
        )  # fmt: skip
        assert [a.status_code for a in answers] == [201] * 12, [a.text for a in answers]
        contact, captures, changes = await history(committing_app)
        assert len(captures) == 12
        assert_first_touch_is_the_earliest_capture(contact, captures, changes)
        assert [(c.from_stage, c.to_stage) for c in changes] == [(None, "lead"), ("lead", "mql")]
