"""End to end on committed data: the worker's pass flags a customer and delivers one signed
`lead.at_risk` to a subscribed receiver, nothing more on the next pass, and one
`lead.risk_cleared` once the score falls back."""

import uuid

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from inbound.churn.recompute import PASS_LOCK
from inbound.db import create_sessionmaker
from inbound.surveys.models import FeedbackCase
from inbound.worker import Worker
from tests.churn.world import Churn
from tests.support.receiver import Receiver
from tests.support.webhooks import WEBHOOK_SETTINGS, subscribe, work_until
from tests.support.world import World

pytestmark = [pytest.mark.committing, WEBHOOK_SETTINGS]


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
    world: World,
    engine: AsyncEngine,
    receiver: Receiver,
    webhook_worker: Worker,
) -> None:
    subscription = await subscribe(
        committing_client, world, receiver, ["lead.at_risk", "lead.risk_cleared"]
    )
    lead = await churning_customer(engine, points=5)

    assert await webhook_worker.churn_step() == 0  # a pass, on the first look
    await work_until(webhook_worker, lambda: len(receiver.received) >= 1)
    await webhook_worker.churn_step()  # too soon: no pass
    await webhook_worker.recompute_risks()  # the next pass, on the same facts
    await webhook_worker.drain()
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
    done = await webhook_worker.recompute_risks()
    assert (done.flagged, done.cleared) == (0, 1)
    await work_until(webhook_worker, lambda: len(receiver.received) >= 2)
    await webhook_worker.recompute_risks()
    await webhook_worker.drain()
    assert [r.json["type"] for r in receiver.received] == ["lead.at_risk", "lead.risk_cleared"]
    assert receiver.received[1].json["data"]["risk"]["score"] == 35


async def test_a_run_until_idle_makes_the_churn_pass_and_delivers_its_event(
    committing_client: httpx.AsyncClient,
    world: World,
    engine: AsyncEngine,
    receiver: Receiver,
    webhook_worker: Worker,
) -> None:
    await subscribe(committing_client, world, receiver, ["lead.at_risk"])
    lead = await churning_customer(engine)

    # What `inbound worker --until-idle` runs.
    await webhook_worker.until_idle()
    assert [r.json["type"] for r in receiver.received] == ["lead.at_risk"]
    assert receiver.received[0].json["data"]["lead"]["id"] == str(lead)


async def test_one_pass_at_a_time_on_postgresql(
    committing_client: httpx.AsyncClient, engine: AsyncEngine, webhook_worker: Worker
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time anyway")
    async with create_sessionmaker(engine)() as session:
        churn = Churn(session, await session.connection())
        await churn.contact("one@example.com", created_days_ago=300)
    async with engine.connect() as other:
        # Another process's pass under way.
        await other.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PASS_LOCK})
        assert (await webhook_worker.recompute_risks()).contacts == 0
        await other.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PASS_LOCK})
        await other.commit()
    assert (await webhook_worker.recompute_risks()).contacts == 1
