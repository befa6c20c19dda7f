"""An acknowledged event is stored: the real server, killed (`kill -9`) or stopped (SIGTERM)
in the middle of a load, has stored every event it answered for, and every batch whole or
not at all."""

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from inbound.db import create_engine
from inbound.tracking.models import TrackingEvent
from tests.conftest import _base_url
from tests.support.live_server import LiveServer, live_server
from tests.tracking.helpers import BATCH, ORIGIN, event

PER_BATCH = 50
CLIENTS = 4


async def make_site(live: LiveServer) -> str:
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
        response = await client.post(
            "/api/v1/sites",
            json={"name": "Site", "allowed_origins": [ORIGIN], "tracking_consent": "granted"},
            headers=live.admin_headers,
        )
    assert response.status_code == 201, response.text
    return str(response.json()["public_key"])


async def send_until_stopped(live: LiveServer, key: str, how: signal.Signals) -> list[str]:
    """Post batches from several clients, stop the server with ``how`` mid-load; the message
    ids it acknowledged."""
    acked: list[str] = []

    async def client(number: int) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=live.url, timeout=20) as http:
            for batch in range(10_000):
                ids = [f"{number}-{batch}-{i}" for i in range(PER_BATCH)]
                body = {"batch": [event(messageId=m) for m in ids]}
                try:
                    response = await http.post(BATCH, json=body, headers=headers)
                except httpx.TransportError:
                    return  # the server is gone
                if response.status_code == 200:
                    assert response.json()["accepted"] == PER_BATCH, response.text
                    acked.extend(ids)
                else:  # shutting down: refused, not stored
                    assert response.status_code == 503, response.text

    clients = [asyncio.create_task(client(n)) for n in range(CLIENTS)]
    while len(acked) < 20 * PER_BATCH:
        await asyncio.sleep(0.05)
        assert not all(task.done() for task in clients), "the clients stopped early"
    os.kill(live.pid, how)
    await asyncio.wait_for(asyncio.gather(*clients), timeout=60)
    return acked


async def stored_ids(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(select(col(TrackingEvent.message_id)))
            return [message_id for (message_id,) in result]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_every_acknowledged_event_is_stored(
    how: signal.Signals, worker_id: str, tmp_path: Path
) -> None:
    name = f"inbound_durability_{how.name.lower()}_{worker_id}"
    env = {"INBOUND_TRACKING_RATE_PER_IP": "1000000/minute", "INBOUND_WORKER_IN_PROCESS": "false"}
    with live_server(_base_url(), name, tmp_path, env) as live:
        # The server is another process; this test's own loop drives the clients.
        key = asyncio.run(make_site(live))
        acked = asyncio.run(send_until_stopped(live, key, how))
        stored = asyncio.run(stored_ids(live.database_url))
    assert len(acked) >= 20 * PER_BATCH
    assert set(acked) <= set(stored), "an acknowledged event is missing"
    assert len(stored) == len(set(stored)), "an event was stored twice"
    batches = Counter(message_id.rsplit("-", 1)[0] for message_id in stored)
    assert set(batches.values()) == {PER_BATCH}, "a batch was half-written"
