"""The worker delivers lead events to a local receiver over real sockets, on committed data:
signatures, retries on errors and timeouts, order per lead, dead letters and replays, nothing
for a transaction that rolled back, and nothing lost when a worker is killed mid-delivery."""

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from inbound.config import Settings
from inbound.leads.models import LeadEvent
from inbound.worker import Worker
from tests.problems import body_of
from tests.support.receiver import Receiver, Reply, always, failing_each_first
from tests.support.webhooks import WEBHOOK_SETTINGS, WEBHOOKS, fast, subscribe, work_until
from tests.support.world import LEADS, World, capture

pytestmark = [pytest.mark.committing, WEBHOOK_SETTINGS]


async def new_lead(client: httpx.AsyncClient, world: World, email: str) -> str:
    response = await capture(client, world, email=email)
    found: str = body_of(response, 201)["contact_id"]
    return found


async def deliveries(
    client: httpx.AsyncClient, world: World, subscription: dict[str, Any], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        f"{WEBHOOKS}/{subscription['id']}/deliveries", params=params, headers=world.admin
    )
    found: list[dict[str, Any]] = body_of(response)["items"]
    return found


async def delivery(
    client: httpx.AsyncClient, world: World, subscription: dict[str, Any], item: dict[str, Any]
) -> dict[str, Any]:
    """The detail of a delivery of the log."""
    path = f"{WEBHOOKS}/{subscription['id']}/deliveries/{item['id']}"
    return body_of(await client.get(path, headers=world.admin))


async def dead_letters(
    client: httpx.AsyncClient, world: World, subscription: dict[str, Any], worker: Worker
) -> None:
    """Let ``worker`` go round until the subscription has a dead delivery."""
    deadline = time.monotonic() + 15
    while not await deliveries(client, world, subscription, status="dead"):
        assert time.monotonic() < deadline
        await worker.step()
        await asyncio.sleep(0.05)


async def test_deliveries_are_signed_the_standard_webhooks_way(
    committing_client: httpx.AsyncClient, world: World, receiver: Receiver, webhook_worker: Worker
) -> None:
    subscription = await subscribe(committing_client, world, receiver)
    lead = await new_lead(committing_client, world, "ana@example.com")
    await work_until(webhook_worker, lambda: len(receiver.received) >= 3)
    await webhook_worker.drain()
    types = [request.json["type"] for request in receiver.received]
    assert types == ["lead.created", "capture.created", "lead.stage_changed"]
    verifier = Webhook(subscription["secret"])
    for request in receiver.received:
        assert verifier.verify(request.body, request.headers)["data"]["lead"]["id"] == lead
        assert request.headers["content-type"] == "application/json"
    first = receiver.received[0]
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(first.body, first.headers)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(first.body.replace(b"ana@", b"bob@"), first.headers)
    assert len({request.event_id for request in receiver.received}) == 3
    log = await deliveries(committing_client, world, subscription)
    assert [item["status"] for item in log] == ["succeeded"] * 3
    assert {item["event_id"] for item in log} == {r.event_id for r in receiver.received}


async def test_only_the_chosen_events_are_sent(
    committing_client: httpx.AsyncClient, world: World, receiver: Receiver, webhook_worker: Worker
) -> None:
    await subscribe(committing_client, world, receiver, events=["lead.claimed"])
    lead = await new_lead(committing_client, world, "ana@example.com")
    claim = await committing_client.post(
        f"{LEADS}/{lead}/claim", json={"owner": "ana"}, headers=world.admin
    )
    assert claim.status_code == 201
    await work_until(webhook_worker, lambda: len(receiver.received) >= 1)
    await webhook_worker.drain()
    [request] = receiver.received
    assert request.json["type"] == "lead.claimed"
    assert request.json["data"]["lead"]["owner"] == "ana"
    assert request.json["data"]["previous_owner"] is None


async def test_a_500_is_retried_until_it_succeeds(
    committing_client: httpx.AsyncClient, world: World, receiver: Receiver, webhook_worker: Worker
) -> None:
    subscription = await subscribe(committing_client, world, receiver, events=["lead.created"])
    receiver.answer = lambda _request, seen: Reply(500 if len(seen) <= 2 else 204)
    await new_lead(committing_client, world, "ana@example.com")
    await work_until(webhook_worker, lambda: len(receiver.delivered()) == 1)
    assert len(receiver.received) == 3
    assert len({request.event_id for request in receiver.received}) == 1
    [item] = await deliveries(committing_client, world, subscription)
    detail = await delivery(committing_client, world, subscription, item)
    assert detail["status"] == "succeeded"
    assert detail["attempts"] == 3
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 500, 204]
    assert detail["attempt_log"][0]["error"] == "the receiver answered 500"


async def test_a_timeout_is_retried(
    committing_client: httpx.AsyncClient, world: World, receiver: Receiver, webhook_worker: Worker
) -> None:
    subscription = await subscribe(committing_client, world, receiver, events=["lead.created"])
    receiver.answer = lambda _request, seen: Reply(200, delay=2.0 if len(seen) == 1 else 0.0)
    await new_lead(committing_client, world, "ana@example.com")
    await work_until(webhook_worker, lambda: len(receiver.delivered()) == 1)
    [item] = await deliveries(committing_client, world, subscription)
    detail = await delivery(committing_client, world, subscription, item)
    assert [a["status_code"] for a in detail["attempt_log"]] == [None, 200]
    assert detail["attempt_log"][0]["error"] == "no answer within the timeout"


async def test_a_leads_events_arrive_in_the_order_they_happened(
    committing_client: httpx.AsyncClient, world: World, receiver: Receiver, webhook_worker: Worker
) -> None:
    await subscribe(committing_client, world, receiver)
    receiver.answer = failing_each_first()
    leads = [await new_lead(committing_client, world, f"lead{n}@example.com") for n in range(3)]
    for lead in leads:
        for status in ("attempting", "connected"):
            response = await committing_client.patch(
                f"{LEADS}/{lead}", json={"lead_status": status}, headers=world.admin
            )
            assert response.status_code == 200
    expected = 3 * 5  # created, capture, stage change, two updates
    await work_until(webhook_worker, lambda: len(receiver.delivered()) == expected, within=30)
    for lead in leads:
        arrived = [r.json for r in receiver.delivered() if r.json["data"]["lead"]["id"] == lead]
        assert [event["type"] for event in arrived] == [
            "lead.created", "capture.created", "lead.stage_changed", "lead.updated",
            "lead.updated",
        ]  # fmt: skip
        statuses = [event["data"]["lead"]["lead_status"] for event in arrived[-2:]]
        assert statuses == ["attempting", "connected"]


async def test_a_delivery_that_keeps_failing_dies_and_can_be_replayed(
    committing_client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    # Retries for about one second, then the delivery is dead.
    impatient = Worker(engine, fast(settings, webhook_give_up_hours=1 / 3600))
    try:
        subscription = await subscribe(committing_client, world, receiver, events=["lead.created"])
        receiver.answer = always(500)
        await new_lead(committing_client, world, "ana@example.com")
        await dead_letters(committing_client, world, subscription, impatient)
        [item] = await deliveries(committing_client, world, subscription, status="dead")
        assert item["attempts"] >= 2
        assert item["next_attempt_at"] is None
        tried = len(receiver.received)
        await impatient.drain()
        assert len(receiver.received) == tried, "a dead delivery was sent again"

        receiver.answer = always(200)
        replay = await committing_client.post(
            f"{WEBHOOKS}/{subscription['id']}/deliveries/{item['id']}/replay",
            headers=world.admin,
        )
        assert replay.status_code == 202, replay.text
        assert replay.json()["status"] == "pending"
        again = await committing_client.post(
            f"{WEBHOOKS}/{subscription['id']}/deliveries/{item['id']}/replay",
            headers=world.admin,
        )
        assert again.status_code == 409
        await work_until(impatient, lambda: len(receiver.delivered()) == 1)
        assert receiver.delivered()[0].event_id == receiver.received[0].event_id
        [done] = await deliveries(committing_client, world, subscription)
        assert done["status"] == "succeeded"
    finally:
        await impatient.close()


async def test_nothing_is_sent_for_a_change_that_rolled_back(
    committing_client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    webhook_worker: Worker,
    engine: AsyncEngine,
) -> None:
    await subscribe(committing_client, world, receiver)
    # The capture row is the transaction's last write, after the contact and its events.
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(
                text(
                    "CREATE FUNCTION refuse_capture() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'captures unavailable'; END $$"
                )
            )
            await connection.execute(
                text(
                    "CREATE TRIGGER refuse_capture BEFORE INSERT ON captures "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_capture()"
                )
            )
        else:
            await connection.execute(text(
                "CREATE TRIGGER refuse_capture BEFORE INSERT ON captures "
                "BEGIN SELECT RAISE(ABORT, 'captures unavailable'); END"))  # fmt: skip
    try:
        response = await capture(committing_client, world, email="ana@example.com")
        assert response.status_code >= 500
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "DROP TRIGGER refuse_capture"
                    + (" ON captures" if engine.dialect.name == "postgresql" else "")
                )
            )
            if engine.dialect.name == "postgresql":
                await connection.execute(text("DROP FUNCTION refuse_capture()"))  # fmt: skip
    async with engine.connect() as connection:
        events = await connection.execute(select(func.count()).select_from(LeadEvent))
        assert events.scalar_one() == 0
    await webhook_worker.drain()
    assert receiver.received == []


async def test_a_worker_killed_mid_delivery_loses_nothing(
    committing_client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    database_url: str,
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    subscription = await subscribe(committing_client, world, receiver, events=["lead.created"])
    # The first attempt hangs: the worker is killed while it waits for the answer.
    receiver.answer = lambda _request, seen: Reply(200, delay=30.0 if len(seen) == 1 else 0.0)
    await new_lead(committing_client, world, "ana@example.com")
    environment = os.environ | {
        "INBOUND_DATABASE_URL": database_url,
        # A lease of one round: twice the timeout, and five seconds.
        "INBOUND_WEBHOOK_TIMEOUT_SECONDS": "1",
        "INBOUND_WEBHOOK_BATCH": "8",
        "INBOUND_WEBHOOK_CONCURRENCY": "8",
        "INBOUND_WORKER_POLL_SECONDS": "0.05",
        "INBOUND_WEBHOOK_ALLOW_LOOPBACK": "true",
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "inbound"), "worker", env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not receiver.received:
            assert time.monotonic() < deadline, "the worker never sent the delivery"
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 5)
    finally:
        if process.returncode is None:
            process.kill()
    [item] = await deliveries(committing_client, world, subscription)
    assert item["status"] == "pending"  # leased by the dead worker, not lost
    # A worker started now waits out the dead one's lease, then sends it again, same id.
    successor = Worker(engine, fast(settings))
    try:
        await work_until(successor, lambda: len(receiver.delivered()) == 1, within=30)
    finally:
        await successor.close()
    assert [r.event_id for r in receiver.received] == [receiver.received[0].event_id] * 2
    [done] = await deliveries(committing_client, world, subscription)
    assert done["status"] == "succeeded"


async def test_a_worker_without_the_loopback_setting_refuses_to_send_there(
    committing_client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    # Registered while loopback was allowed, sent by a worker with the default settings: it is
    # refused like any failure, retried for about one second, then dead.
    strict = Worker(
        engine, fast(settings, webhook_allow_loopback=False, webhook_give_up_hours=1 / 3600)
    )
    try:
        subscription = await subscribe(committing_client, world, receiver, events=["lead.created"])
        await new_lead(committing_client, world, "ana@example.com")
        await dead_letters(committing_client, world, subscription, strict)
    finally:
        await strict.close()
    assert receiver.received == []
    [item] = await deliveries(committing_client, world, subscription, status="dead")
    detail = await delivery(committing_client, world, subscription, item)
    assert detail["attempts"] >= 2
    assert detail["last_error"].startswith("refused: 127.0.0.1 is a loopback address")
    for attempt in detail["attempt_log"]:
        assert (attempt["status_code"], attempt["response_body"]) == (None, None)
        assert attempt["error"] == detail["last_error"]
    # Once the worker may send there, a replay delivers it.
    path = f"{WEBHOOKS}/{subscription['id']}/deliveries/{item['id']}"
    replay = await committing_client.post(f"{path}/replay", headers=world.admin)
    assert replay.status_code == 202, replay.text
    allowed = Worker(engine, fast(settings))
    try:
        await work_until(allowed, lambda: len(receiver.delivered()) == 1)
    finally:
        await allowed.close()
