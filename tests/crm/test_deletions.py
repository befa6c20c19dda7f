"""Contacts deleted in HubSpot: a plain deletion unlinks ours, which no later change here brings
back, only a new form submission (or a backfill that asks for it); a GDPR deletion there
erases the lead here too, without a delete sent back."""

from typing import Any

import httpx
import pytest

from inbound.hubspot_emulator import Emulator
from inbound.worker import Worker
from tests.conftest import Headers
from tests.crm.helpers import in_hubspot, post_events, synced_lead
from tests.leads.helpers import LEADS, World, capture, make_asset, make_world

pytestmark = pytest.mark.committing

CRM = "/api/v1/crm"


@pytest.fixture
async def world(committing_client: httpx.AsyncClient, committing_admin: Headers) -> World:
    world = await make_world(committing_client, committing_admin)
    await make_asset(committing_client, committing_admin)
    return world


async def status(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    response = await client.get(f"{CRM}/status", headers=world.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def delete_in_hubspot(
    client: httpx.AsyncClient, portal: Emulator, crm_id: str, *, gdpr: bool
) -> httpx.Response:
    """A rep deletes the contact in HubSpot; HubSpot's webhook reports it to us."""
    async with httpx.AsyncClient() as rep:
        deleted = await rep.delete(
            f"{portal.url}/_emulator/contacts/{crm_id}", params={"gdpr": str(gdpr).lower()}
        )
    assert deleted.status_code == 204, deleted.text
    [event] = [e for e in portal.webhooks.sent if e["subscriptionType"].endswith("eletion")]
    assert event["objectId"] == int(crm_id)
    return await post_events(client, portal, [event])


async def test_a_contact_deleted_in_hubspot_is_unlinked_and_not_recreated_by_changes_here(
    committing_client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> None:
    lead_id, crm_id = await synced_lead(committing_client, world, worker, portal)
    answer = await delete_in_hubspot(committing_client, portal, crm_id, gdpr=False)
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] == 1
    now = await status(committing_client, world)
    assert (now["deleted_in_hubspot"], now["synced"], now["pending"]) == (1, 0, 0)
    # Changes here (a stage, a claim) do not bring it back to HubSpot.
    moved = await committing_client.post(
        f"{LEADS}/{lead_id}/stage", json={"stage": "sql"}, headers=world.admin
    )
    assert moved.status_code == 200, moved.text
    claimed = await committing_client.post(
        f"{LEADS}/{lead_id}/claim", json={"owner": "rita"}, headers=world.admin
    )
    assert claimed.status_code == 201, claimed.text
    upserts = portal.stats["calls:upsert"]
    await worker.drain()
    assert portal.stats["calls:upsert"] == upserts
    assert portal.portal.contacts == {}
    # Nor does a backfill, unless it asks for them.
    plain = await committing_client.post(f"{CRM}/resync", json={}, headers=world.admin)
    assert plain.json()["total"] == 0
    await worker.drain()
    assert portal.portal.contacts == {}
    # The person fills in a form again: a new sign of interest, sent as a new contact.
    again = await capture(committing_client, world, email="ana@example.com")
    assert again.status_code == 201, again.text
    await worker.drain()
    [new_id] = portal.portal.contacts
    assert new_id != crm_id
    assert in_hubspot(portal)["ana@example.com"]["lifecyclestage"] == "salesqualifiedlead"
    now = await status(committing_client, world)
    assert (now["deleted_in_hubspot"], now["synced"]) == (0, 1)


async def test_a_backfill_can_bring_back_contacts_deleted_in_hubspot(
    committing_client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> None:
    _, crm_id = await synced_lead(committing_client, world, worker, portal)
    await delete_in_hubspot(committing_client, portal, crm_id, gdpr=False)
    asked = await committing_client.post(
        f"{CRM}/resync", json={"include_deleted_in_hubspot": True}, headers=world.admin
    )
    assert asked.status_code == 202, asked.text
    assert asked.json()["total"] == 1
    await worker.drain()
    assert sorted(in_hubspot(portal)) == ["ana@example.com"]
    assert crm_id not in portal.portal.contacts


async def test_a_gdpr_deletion_in_hubspot_erases_the_lead_here_without_a_delete_sent_back(
    committing_client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> None:
    lead_id, crm_id = await synced_lead(committing_client, world, worker, portal)
    other = await capture(committing_client, world, email="ben@example.com")
    await worker.drain()
    answer = await delete_in_hubspot(committing_client, portal, crm_id, gdpr=True)
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] == 1
    gone = await committing_client.get(f"{LEADS}/{lead_id}", headers=world.admin)
    assert gone.status_code == 404
    kept = await committing_client.get(f"{LEADS}/{other.json()['contact_id']}", headers=world.admin)
    assert kept.status_code == 200
    now = await status(committing_client, world)
    assert (now["erasures_pending"], now["synced"]) == (0, 1)
    await worker.drain()
    assert portal.stats["calls:gdpr_delete"] == 0
    assert sorted(in_hubspot(portal)) == ["ben@example.com"]
    # HubSpot delivers the event again: nothing left to do, no error.
    again = await post_events(committing_client, portal, portal.webhooks.sent[-1:])
    assert again.status_code == 200
    assert again.json()["applied"] == 0
