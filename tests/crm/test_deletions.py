"""Contacts deleted in HubSpot: a plain deletion unlinks ours, which no later change here brings
back, only a new form submission (or a backfill that asks for it); a GDPR deletion there
erases the lead here too, without a delete sent back."""

import httpx
import pytest

from inbound.hubspot_emulator import Emulator
from tests.crm.helpers import Crm, in_hubspot, post_events, synced_lead
from tests.support.world import LEADS, capture

pytestmark = pytest.mark.committing

CRM = "/api/v1/crm"


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
    crm: Crm,
) -> None:
    lead_id, crm_id = await synced_lead(crm)
    answer = await delete_in_hubspot(crm.client, crm.portal, crm_id, gdpr=False)
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] == 1
    now = await crm.status()
    assert (now["deleted_in_hubspot"], now["synced"], now["pending"]) == (1, 0, 0)
    # Changes here (a stage, a claim) do not bring it back to HubSpot.
    moved = await crm.client.post(
        f"{LEADS}/{lead_id}/stage", json={"stage": "sql"}, headers=crm.world.admin
    )
    assert moved.status_code == 200, moved.text
    claimed = await crm.client.post(
        f"{LEADS}/{lead_id}/claim", json={"owner": "rita"}, headers=crm.world.admin
    )
    assert claimed.status_code == 201, claimed.text
    upserts = crm.portal.stats["calls:upsert"]
    await crm.worker.drain()
    assert crm.portal.stats["calls:upsert"] == upserts
    assert crm.portal.portal.contacts == {}
    # Nor does a backfill, unless it asks for them.
    plain = await crm.client.post(f"{CRM}/resync", json={}, headers=crm.world.admin)
    assert plain.json()["total"] == 0
    await crm.worker.drain()
    assert crm.portal.portal.contacts == {}
    # The person fills in a form again: a new sign of interest, sent as a new contact.
    again = await capture(crm.client, crm.world, email="ana@example.com")
    assert again.status_code == 201, again.text
    await crm.worker.drain()
    [new_id] = crm.portal.portal.contacts
    assert new_id != crm_id
    assert in_hubspot(crm.portal)["ana@example.com"]["lifecyclestage"] == "salesqualifiedlead"
    now = await crm.status()
    assert (now["deleted_in_hubspot"], now["synced"]) == (0, 1)


async def test_a_backfill_can_bring_back_contacts_deleted_in_hubspot(crm: Crm) -> None:
    _, crm_id = await synced_lead(crm)
    await delete_in_hubspot(crm.client, crm.portal, crm_id, gdpr=False)
    asked = await crm.client.post(
        f"{CRM}/resync", json={"include_deleted_in_hubspot": True}, headers=crm.world.admin
    )
    assert asked.status_code == 202, asked.text
    assert asked.json()["total"] == 1
    await crm.worker.drain()
    assert sorted(in_hubspot(crm.portal)) == ["ana@example.com"]
    assert crm_id not in crm.portal.portal.contacts


async def test_a_gdpr_deletion_in_hubspot_erases_the_lead_here_without_a_delete_sent_back(
    crm: Crm,
) -> None:
    lead_id, crm_id = await synced_lead(crm)
    other = await capture(crm.client, crm.world, email="ben@example.com")
    await crm.worker.drain()
    answer = await delete_in_hubspot(crm.client, crm.portal, crm_id, gdpr=True)
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] == 1
    gone = await crm.client.get(f"{LEADS}/{lead_id}", headers=crm.world.admin)
    assert gone.status_code == 404
    kept = await crm.client.get(f"{LEADS}/{other.json()['contact_id']}", headers=crm.world.admin)
    assert kept.status_code == 200
    now = await crm.status()
    assert (now["erasures_pending"], now["synced"]) == (0, 1)
    await crm.worker.drain()
    assert crm.portal.stats["calls:gdpr_delete"] == 0
    assert sorted(in_hubspot(crm.portal)) == ["ben@example.com"]
    # HubSpot delivers the event again: nothing left to do, no error.
    again = await post_events(crm.client, crm.portal, crm.portal.webhooks.sent[-1:])
    assert again.status_code == 200
    assert again.json()["applied"] == 0
