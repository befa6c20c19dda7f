"""Case events leave through the outbox within the worker's round: signed the Standard Webhooks
way, in the lead's order, chosen by subscriptions, and never a reason to sync HubSpot."""

import uuid
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from inbound.config import Settings
from inbound.crm.queue import QUEUE
from inbound.worker import Worker
from tests.support.receiver import Receiver, failing_each_first
from tests.support.webhooks import WEBHOOK_SETTINGS, fast, subscribe, work_until
from tests.support.world import LEADS, World
from tests.surveys.cases.helpers import (
    CASES,
    link_answer,
    new_lead,
    only_case,
    open_case,
    patch_case,
)

pytestmark = [pytest.mark.committing, WEBHOOK_SETTINGS]
CASE_EVENTS = ["case.opened", "case.updated", "case.resolved"]


async def test_an_answer_reaches_the_receiver_as_a_signed_case_opened(
    committing_client: httpx.AsyncClient, world: World, receiver: Receiver, webhook_worker: Worker
) -> None:
    subscription = await subscribe(committing_client, world, receiver, events=CASE_EVENTS)
    lead_id = await new_lead(committing_client, world)
    response = await link_answer(committing_client, world.admin, lead_id, 2, comment="slow")
    assert response.status_code == 201, response.text
    await work_until(webhook_worker, lambda: len(receiver.delivered()) >= 1)
    await webhook_worker.drain()
    [request] = receiver.received
    payload = Webhook(subscription["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "case.opened"
    case = await only_case(committing_client, world.admin)
    assert payload["data"]["case"] == case
    assert payload["data"]["case"]["answer"]["comment"] == "slow"
    assert payload["data"]["lead"]["id"] == lead_id


async def test_a_cases_events_arrive_in_order_each_once(
    committing_client: httpx.AsyncClient, world: World, receiver: Receiver, webhook_worker: Worker
) -> None:
    subscription = await subscribe(committing_client, world, receiver, events=CASE_EVENTS)
    receiver.answer = failing_each_first()
    _, case = await open_case(committing_client, world, 0)
    for body in ({"status": "contacted", "owner": "bo"}, {"status": "resolved"}):
        changed = await patch_case(committing_client, world.admin, case["id"], body)
        assert changed.status_code == 200, changed.text
    await work_until(webhook_worker, lambda: len(receiver.delivered()) >= 3)
    verifier = Webhook(subscription["secret"])
    delivered = [verifier.verify(r.body, r.headers) for r in receiver.delivered()]
    assert [d["type"] for d in delivered] == CASE_EVENTS
    assert delivered[1]["data"]["changes"] == ["status", "owner"]
    link = delivered[2]["data"]["survey_link"]
    again = await committing_client.post(
        "/api/v1/survey-answers", json={"token": link["token"], "score": 10}
    )
    assert again.status_code == 201


async def test_subscriptions_choose_case_events(
    committing_client: httpx.AsyncClient, world: World, receiver: Receiver, webhook_worker: Worker
) -> None:
    await subscribe(committing_client, world, receiver, events=["lead.claimed"])
    lead_id = await new_lead(committing_client, world)
    assert (await link_answer(committing_client, world.admin, lead_id, 0)).status_code == 201
    claimed = await committing_client.post(
        f"{LEADS}/{lead_id}/claim", json={"owner": "ana"}, headers=world.admin
    )
    assert claimed.status_code == 201
    await work_until(webhook_worker, lambda: len(receiver.delivered()) >= 1)
    await webhook_worker.drain()
    assert [r.json["type"] for r in receiver.received] == ["lead.claimed"]
    subscriptions = await committing_client.get("/api/v1/webhooks", headers=world.admin)
    [only] = subscriptions.json()["items"]
    refused = await committing_client.patch(
        f"/api/v1/webhooks/{only['id']}", json={"events": ["case.closed"]}, headers=world.admin
    )
    assert refused.status_code == 400


async def test_a_case_event_alone_queues_nothing_for_hubspot(
    committing_client: httpx.AsyncClient, world: World, engine: AsyncEngine, settings: Settings
) -> None:
    crm_on = fast(settings, hubspot_token=SecretStr("pat-test"), hubspot_url="http://127.0.0.1:9")
    worker = Worker(engine, crm_on)
    try:
        lead_id = await new_lead(committing_client, world)

        async def generation() -> Any:
            await worker.database_step()
            async with engine.connect() as connection:
                statement = select(QUEUE.c.generation).where(
                    QUEUE.c.contact_id == uuid.UUID(lead_id)
                )
                return (await connection.execute(statement)).scalar_one_or_none()

        assert await generation() == 1
        assert (await link_answer(committing_client, world.admin, lead_id, 0)).status_code == 201
        case = await only_case(committing_client, world.admin)
        assert (
            await patch_case(committing_client, world.admin, case["id"], {"note": "x"})
        ).status_code == 200
        assert await generation() == 1
        # A change HubSpot holds queues the contact again.
        worked = await committing_client.patch(
            f"{LEADS}/{lead_id}", json={"lead_status": "attempting"}, headers=world.admin
        )
        assert worked.status_code == 200
        assert await generation() == 2
        assert (
            await committing_client.get(f"{CASES}/{case['id']}", headers=world.admin)
        ).status_code == 200
    finally:
        await worker.close()
