"""An erased lead that comes back (the same email, captured again) while HubSpot's GDPR delete
of the old one is still failing: the new contact waits for the delete, then is created afresh."""

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.hubspot_emulator import Emulator
from inbound.worker import Worker
from tests.conftest import Headers
from tests.crm.helpers import in_hubspot, our_contacts
from tests.leads.helpers import LEADS, World, capture, make_asset, make_world

pytestmark = pytest.mark.committing


@pytest.fixture
async def world(committing_client: httpx.AsyncClient, committing_admin: Headers) -> World:
    world = await make_world(committing_client, committing_admin)
    await make_asset(committing_client, committing_admin)
    return world


async def status(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    response = await client.get("/api/v1/crm/status", headers=world.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_lead_captured_again_while_its_erasure_fails_is_created_afresh_after_it(
    committing_client: httpx.AsyncClient,
    world: World,
    worker: Worker,
    portal: Emulator,
    engine: AsyncEngine,
) -> None:
    first = await capture(committing_client, world, first_name="Ana", company="Oldco")
    assert first.status_code == 201, first.text
    await worker.drain()
    [old_id] = portal.portal.contacts
    # HubSpot's GDPR delete is down; the lead is erased here and fills in a form again.
    portal.faults.update({"failing_routes": ["gdpr_delete"]})
    erased = await committing_client.delete(
        f"{LEADS}/{first.json()['contact_id']}", headers=world.admin
    )
    assert erased.status_code == 204, erased.text
    again = await capture(committing_client, world, first_name="Anna", company="Newco")
    assert again.status_code == 201, again.text
    for _ in range(5):  # the delete keeps failing for a while
        await worker.drain()
        await asyncio.sleep(0.1)
    assert portal.stats["calls:gdpr_delete"] >= 2
    # The new contact waits: sent now, it would update the old HubSpot record, which the
    # delete then removes.
    assert portal.stats["calls:upsert"] == 1
    assert portal.portal.contacts[old_id]["properties"]["company"] == "Oldco"
    held = await status(committing_client, world)
    assert (held["erasures_pending"], held["pending"], held["synced"]) == (1, 1, 0)

    portal.faults.update({"failing_routes": []})
    deadline = time.monotonic() + 10
    while (now := await status(committing_client, world))["pending"] or now["erasures_pending"]:
        assert time.monotonic() < deadline, now
        await worker.drain()
        await asyncio.sleep(0.05)
    assert old_id not in portal.portal.contacts
    assert portal.portal.created == 2
    assert in_hubspot(portal) == await our_contacts(engine)
    assert in_hubspot(portal)["ana@example.com"]["company"] == "Newco"
    assert (now["synced"], now["failed"]) == (1, 0)
