"""HubSpot's own properties that sales works in HubSpot (lead status, lifecycle stage, name,
company, job title, ...) are sent only when they changed here since the last sync: an
unrelated change here leaves what sales set there alone."""

from typing import Any

import httpx
import pytest

from inbound.hubspot_emulator import Emulator
from tests.crm.helpers import Crm, in_hubspot
from tests.support.world import LEADS, World, capture

pytestmark = pytest.mark.committing


async def edit_in_hubspot(portal: Emulator, crm_id: str, properties: dict[str, str]) -> None:
    """A rep changes the contact in HubSpot's own screens."""
    async with httpx.AsyncClient() as rep:
        edited = await rep.patch(
            f"{portal.url}/_emulator/contacts/{crm_id}", json={"properties": properties}
        )
    assert edited.status_code == 200, edited.text


async def change_here(
    client: httpx.AsyncClient, world: World, lead_id: str, path: str, body: dict[str, Any]
) -> None:
    method = client.patch if path == "" else client.post
    response = await method(f"{LEADS}/{lead_id}{path}", json=body, headers=world.admin)
    assert response.status_code in (200, 201), response.text


async def test_what_sales_set_in_hubspot_survives_an_unrelated_change_here(crm: Crm) -> None:
    response = await capture(
        crm.client, crm.world, first_name="Ana", company="Acme", job_title="CTO"
    )
    assert response.status_code == 201, response.text
    lead_id = response.json()["contact_id"]
    await crm.worker.drain()
    [crm_id] = crm.portal.portal.contacts
    # Nobody has worked the lead yet: HubSpot's lead status is left to HubSpot.
    assert "hs_lead_status" not in in_hubspot(crm.portal)["ana@example.com"]
    # Sales works the contact in HubSpot: a lead status, a corrected title, a stage set back
    # (HubSpot takes a move back only once the stage is cleared).
    await edit_in_hubspot(crm.portal, crm_id, {"hs_lead_status": "IN_PROGRESS", "jobtitle": "CIO"})
    await edit_in_hubspot(crm.portal, crm_id, {"lifecyclestage": ""})
    await edit_in_hubspot(crm.portal, crm_id, {"lifecyclestage": "subscriber"})
    upserts = crm.portal.stats["calls:upsert"]
    # Here, only our own fields change: a rep claims the lead.
    await change_here(crm.client, crm.world, lead_id, "/claim", {"owner": "rita"})
    await crm.worker.drain()
    assert crm.portal.stats["calls:upsert"] == upserts + 1
    there = in_hubspot(crm.portal)["ana@example.com"]
    assert there["inbound_owner"] == "rita"
    assert (there["hs_lead_status"], there["jobtitle"], there["lifecyclestage"]) == (
        "IN_PROGRESS", "CIO", "subscriber",
    )  # fmt: skip
    assert (there["firstname"], there["company"]) == ("Ana", "Acme")
    # A change of the lead status here is sent, and only it among HubSpot's own.
    await change_here(crm.client, crm.world, lead_id, "", {"lead_status": "connected"})
    await crm.worker.drain()
    there = in_hubspot(crm.portal)["ana@example.com"]
    assert (there["hs_lead_status"], there["jobtitle"], there["lifecyclestage"]) == (
        "CONNECTED", "CIO", "subscriber",
    )  # fmt: skip
    # So is a stage moved on here.
    await change_here(crm.client, crm.world, lead_id, "/stage", {"stage": "sql"})
    await crm.worker.drain()
    there = in_hubspot(crm.portal)["ana@example.com"]
    assert (there["lifecyclestage"], there["jobtitle"]) == ("salesqualifiedlead", "CIO")


async def test_a_first_sync_leaves_the_lead_status_sales_set_on_a_contact_hubspot_had(
    crm: Crm,
) -> None:
    # Sales entered the person in HubSpot before they ever filled in a form here.
    crm.portal.portal.upsert(
        [{"id": "ana@example.com", "idProperty": "email",
          "properties": {"email": "ana@example.com", "hs_lead_status": "IN_PROGRESS"}}]
    )  # fmt: skip
    response = await capture(crm.client, crm.world, first_name="Ana")
    assert response.status_code == 201, response.text
    await crm.worker.drain()
    there = in_hubspot(crm.portal)["ana@example.com"]
    assert (there["hs_lead_status"], there["firstname"]) == ("IN_PROGRESS", "Ana")
    assert there["inbound_contact_id"] == response.json()["contact_id"]
    # Once the lead is worked here, its status is sent.
    await change_here(
        crm.client,
        crm.world,
        response.json()["contact_id"],
        "",
        {"lead_status": "connected"},
    )
    await crm.worker.drain()
    assert in_hubspot(crm.portal)["ana@example.com"]["hs_lead_status"] == "CONNECTED"
