"""End to end on committed data: the worker's pass flags a customer and delivers one signed
`lead.at_risk` to a subscribed receiver, nothing more on the next pass, and one
`lead.risk_cleared` once the score falls back."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from inbound.churn.recompute import PASS_LOCK
from inbound.config import Settings
from inbound.db import create_sessionmaker
from inbound.surveys.models import FeedbackCase
from inbound.worker import Worker
from tests.churn.world import Churn
from tests.conftest import Headers
from tests.leads.helpers import make_world
from tests.support.receiver import Receiver
from tests.webhooks.test_delivery import fast, subscribe, work_until

pytestmark = pytest.mark.committing


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url, log_json=True, log_level="WARNING", worker_in_process=False,
        webhook_allow_loopback=True,
    )  # fmt: skip


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver().running() as running:
        yield running


@pytest.fixture
async def worker(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Worker]:
    running = Worker(engine, fast(settings))
    yield running
    await running.close()


async def churning_customer(engine: AsyncEngine, *, points: int = 0) -> uuid.UUID:
    """A committed contact with a detractor answer and an overdue case (and ``points`` of
    engagement two days ago): at risk on the next pass."""
    async with create_sessionmaker(engine)() as session:
        churn = Churn(session, await session.connection())
        lead = await churn.contact("churning@example.com")
        if points:
            await churn.points(lead, points, days_ago=2)
        await churn.answer(lead, "nps", 2)
        await churn.case(lead, due_in_days=-1)
    return lead


async def test_the_worker_delivers_one_signed_at_risk_then_one_cleared(
    committing_client: httpx.AsyncClient,
    committing_admin: Headers,
    engine: AsyncEngine,
    receiver: Receiver,
    worker: Worker,
) -> None:
    world = await make_world(committing_client, committing_admin)
    subscription = await subscribe(
        committing_client, world, receiver, ["lead.at_risk", "lead.risk_cleared"]
    )
    lead = await churning_customer(engine, points=5)

    assert await worker.churn_step() == 0  # a pass, on the first look
    await work_until(worker, lambda: len(receiver.received) >= 1)
    await worker.churn_step()  # too soon: no pass
    await worker.recompute_risks()  # the next pass, on the same facts
    await worker.drain()
    assert len(receiver.received) == 1
    request = receiver.received[0]
    verified = Webhook(subscription["secret"]).verify(request.body, request.headers)
    assert verified["type"] == "lead.at_risk"
    assert verified["data"]["lead"]["id"] == str(lead)
    risk = verified["data"]["risk"]
    assert (risk["score"], risk["threshold"], risk["eligible"]) == (55, 50, True)
    assert [r["points"] for r in risk["reasons"]] == [35, 20]

    async with create_sessionmaker(engine)() as session:
        await session.execute(update(FeedbackCase).values(status="resolved"))
        await session.commit()
    done = await worker.recompute_risks()
    assert (done.flagged, done.cleared) == (0, 1)
    await work_until(worker, lambda: len(receiver.received) >= 2)
    await worker.recompute_risks()
    await worker.drain()
    assert [r.json["type"] for r in receiver.received] == ["lead.at_risk", "lead.risk_cleared"]
    assert receiver.received[1].json["data"]["risk"]["score"] == 35


async def test_a_run_until_idle_makes_the_churn_pass_and_delivers_its_event(
    committing_client: httpx.AsyncClient,
    committing_admin: Headers,
    engine: AsyncEngine,
    receiver: Receiver,
    worker: Worker,
) -> None:
    world = await make_world(committing_client, committing_admin)
    await subscribe(committing_client, world, receiver, ["lead.at_risk"])
    lead = await churning_customer(engine)

    # What `inbound worker --until-idle` runs.
    await worker.until_idle()
    assert [r.json["type"] for r in receiver.received] == ["lead.at_risk"]
    assert receiver.received[0].json["data"]["lead"]["id"] == str(lead)


async def test_one_pass_at_a_time_on_postgresql(
    committing_client: httpx.AsyncClient, engine: AsyncEngine, worker: Worker
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time anyway")
    async with create_sessionmaker(engine)() as session:
        churn = Churn(session, await session.connection())
        await churn.contact("one@example.com", created_days_ago=300)
    async with engine.connect() as other:
        # Another process's pass under way.
        await other.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PASS_LOCK})
        assert (await worker.recompute_risks()).contacts == 0
        await other.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PASS_LOCK})
        await other.commit()
    assert (await worker.recompute_risks()).contacts == 1
