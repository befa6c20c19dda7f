"""Webhook deliveries under test: a local receiver, a worker retrying within a test's patience,
and subscribing a receiver to lead events. The tests using them change their settings with
`WEBHOOK_SETTINGS`: the receivers listen on 127.0.0.1, a server set up for local development."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.config import Settings
from inbound.worker import Worker
from tests.problems import body_of
from tests.support.receiver import Receiver
from tests.support.world import World

WEBHOOKS = "/api/v1/webhooks"
EVERY_EVENT = ["lead.created", "lead.updated", "lead.stage_changed", "lead.qualified",
               "lead.claimed", "capture.created"]  # fmt: skip
WEBHOOK_SETTINGS = pytest.mark.settings(webhook_allow_loopback=True)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver().running() as running:
        yield running


def fast(settings: Settings, **changes: Any) -> Settings:
    """Settings whose retries come within a test's patience."""
    quick = {"webhook_retry_base_seconds": 0.05, "webhook_retry_max_seconds": 0.2,
             "webhook_timeout_seconds": 0.5}  # fmt: skip
    return settings.model_copy(update=quick | changes)


@pytest.fixture
async def webhook_worker(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Worker]:
    """A worker on committed data that retries deliveries quickly."""
    running = Worker(engine, fast(settings))
    yield running
    await running.close()


async def subscribe(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    events: list[str] = EVERY_EVENT,
) -> dict[str, Any]:
    body = {"url": receiver.url, "events": events}
    response = await client.post(WEBHOOKS, json=body, headers=world.admin)
    return body_of(response, 201)


async def work_until(worker: Worker, done: Callable[[], bool], *, within: float = 15.0) -> None:
    """Let the worker go round until ``done`` holds."""
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, "the worker did not get there in time"
        if not await worker.step():
            await asyncio.sleep(0.02)
