"""Through 429s, server errors, dropped answers and workers killed at random, every contact
reaches HubSpot exactly once, with its latest state."""

import asyncio
import os
import random
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.crm.queue import QUEUE
from inbound.demo.load import load_history
from inbound.hubspot_emulator import Emulator
from tests.conftest import Headers
from tests.crm.helpers import in_hubspot, our_contacts
from tests.support.world import make_world

pytestmark = pytest.mark.committing

CONTACTS = 3_000


async def unfinished(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        found = await connection.scalar(
            select(func.count()).select_from(QUEUE).where(QUEUE.c.state != "synced")
        )
    return int(found or 0)


async def test_every_contact_arrives_once_through_faults_and_killed_workers(
    committing_client: httpx.AsyncClient,
    committing_admin: Headers,
    portal: Emulator,
    engine: AsyncEngine,
    database_url: str,
) -> None:
    world = await make_world(committing_client, committing_admin)
    await load_history(engine, contacts=CONTACTS, now=datetime.now(UTC), days=60, seed=11)
    queued = await committing_client.post("/api/v1/crm/resync", json={}, headers=world.admin)
    assert queued.json()["total"] == CONTACTS
    # One call in five refused (429 with Retry-After, or 503); one in twenty loses its
    # answer, half of them after HubSpot wrote the batch.
    portal.faults.update({"rate_429": 0.1, "rate_5xx": 0.1, "rate_drop": 0.05,
                          "retry_after_seconds": 1, "seed": 5})  # fmt: skip
    environment = os.environ | {
        "INBOUND_DATABASE_URL": database_url,
        "INBOUND_HUBSPOT_TOKEN": portal.token,
        "INBOUND_HUBSPOT_URL": portal.url,
        "INBOUND_CRM_BATCH_SIZE": "40",
        "INBOUND_CRM_CONCURRENCY": "4",
        "INBOUND_CRM_LEASE_SECONDS": "1",
        "INBOUND_CRM_TIMEOUT_SECONDS": "2",
        "INBOUND_CRM_RETRY_BASE_SECONDS": "0.05",
        "INBOUND_CRM_RETRY_MAX_SECONDS": "0.5",
        "INBOUND_WORKER_POLL_SECONDS": "0.05",
        "INBOUND_LOG_LEVEL": "ERROR",
    }
    command = str(Path(sys.executable).parent / "inbound")

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            command, "worker", env=environment,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    rng = random.Random(3)
    workers = [await start(), await start()]
    kills = 0
    try:
        deadline = time.monotonic() + 150
        while await unfinished(engine):
            assert time.monotonic() < deadline, "the sync did not finish"
            await asyncio.sleep(rng.uniform(0.3, 1.2))
            if kills < 8:
                # Kill one worker at a random moment, mid-call or mid-record, and start
                # another: the survivor or the newcomer takes over once its turn lapses.
                victim = workers.pop(rng.randrange(len(workers)))
                victim.send_signal(signal.SIGKILL)
                await victim.wait()
                kills += 1
                workers.append(await start())
    finally:
        for process in workers:
            if process.returncode is None:
                process.send_signal(signal.SIGKILL)
                await process.wait()
    assert kills >= 3
    counts = portal.stats
    assert counts["fault:429"] > 0
    assert counts["fault:5xx"] > 0
    assert counts["fault:drop_after"] > 0
    ours = await our_contacts(engine)
    hubspot = in_hubspot(portal)
    assert len(hubspot) == len(ours) == CONTACTS
    assert portal.portal.created == CONTACTS
    assert [email for email in ours if hubspot.get(email) != ours[email]] == []
