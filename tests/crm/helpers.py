"""What HubSpot should hold for our contacts, worked out here from the rows, apart from the
code under test."""

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.hubspot_emulator import Emulator
from inbound.worker import Worker
from tests.problems import body_of
from tests.support.world import World, capture

CRM = "/api/v1/crm"

LIFECYCLE = {
    "subscriber": "subscriber", "lead": "lead", "mql": "marketingqualifiedlead",
    "sql": "salesqualifiedlead", "opportunity": "opportunity", "customer": "customer",
    "evangelist": "evangelist",
}  # fmt: skip
LEAD_STATUS = {
    "new": "NEW", "attempting": "ATTEMPTED_TO_CONTACT", "connected": "CONNECTED",
    "unqualified": "UNQUALIFIED", "bad_timing": "BAD_TIMING",
}  # fmt: skip
# Booleans come back as 1 and 0 from SQLite, which hash as True and False.
CONSENT = {None: "", True: "true", False: "false"}
OURS = """
SELECT c.*, p.slug AS persona_slug, a.slug AS asset_slug, s.name AS site_name
FROM contacts c
LEFT JOIN personas p ON p.id = c.persona_id
LEFT JOIN content_assets a ON a.id = c.first_asset_id
LEFT JOIN sites s ON s.id = c.first_site_id
"""


@dataclass(frozen=True)
class Crm:
    """What a sync test works with: a committing client and its world, the sync worker, the
    emulated HubSpot portal, and the engine to read the rows with."""

    client: httpx.AsyncClient
    world: World
    worker: Worker
    portal: Emulator
    engine: AsyncEngine

    async def status(self) -> dict[str, Any]:
        """The sync's counters, as `GET /crm/status` shows them."""
        response = await self.client.get(f"{CRM}/status", headers=self.world.admin)
        return body_of(response)


def expected(row: dict[str, Any]) -> dict[str, str]:
    """The properties a contact row should have in HubSpot."""
    explanation = row["persona_explanation"] or {}
    if isinstance(explanation, str):  # SQLite hands JSON back as text to plain SQL
        explanation = json.loads(explanation)
    score = round(float(row["score"]), 2)
    found = {
        "email": row["email"],
        "lifecyclestage": LIFECYCLE[row["stage"]],
        # A lead status still at its default was never sent: HubSpot's own stays.
        "hs_lead_status": "" if row["lead_status"] == "new" else LEAD_STATUS[row["lead_status"]],
        "inbound_contact_id": str(uuid.UUID(str(row["id"]))),
        "inbound_persona": row["persona_slug"] or "",
        "inbound_persona_reason": (explanation.get("reason") or "") if row["persona_slug"] else "",
        "inbound_grade": row["grade"],
        "inbound_score": str(int(score)) if score == int(score) else str(score),
        "inbound_stage": row["stage"],
        "inbound_first_asset": row["asset_slug"] or "",
        "inbound_first_site": row["site_name"] or "",
        "inbound_first_source": row["first_utm_source"] or "",
        "inbound_first_medium": row["first_utm_medium"] or "",
        "inbound_first_campaign": row["first_utm_campaign"] or "",
        "inbound_marketing_consent": CONSENT[row["consent"]],
        "inbound_owner": row["owner"] or "",
    }
    standard = {"firstname": "first_name", "lastname": "last_name", "company": "company",
                "jobtitle": "job_title", "phone": "phone", "country": "country",
                "industry": "industry"}  # fmt: skip
    found |= {name: str(row[column]) for name, column in standard.items() if row[column]}
    # An empty value and no value read the same in HubSpot.
    return {name: value for name, value in found.items() if value != ""}


async def our_contacts(engine: AsyncEngine) -> dict[str, dict[str, str]]:
    """Every contact we hold, by email, as HubSpot should show it."""
    async with engine.connect() as connection:
        rows = (await connection.execute(text(OURS))).mappings().all()
    return {row["email"]: expected(dict(row)) for row in rows}


def in_hubspot(portal: Emulator) -> dict[str, dict[str, str]]:
    """Every contact the emulated portal holds, by email, with the properties we write."""
    with portal.portal.lock:
        contacts = [dict(contact["properties"]) for contact in portal.portal.contacts.values()]
    made_by_hubspot = {"hs_object_id", "createdate", "lastmodifieddate"}
    return {
        properties["email"]: {
            name: value for name, value in properties.items()
            if name not in made_by_hubspot and value != ""
        }
        for properties in contacts
    }  # fmt: skip


# HubSpot's webhooks, as HubSpot posts them.

WEBHOOK = "/api/v1/crm/hubspot/webhook"
# The address HubSpot calls, as the app sees it behind the test client.
WEBHOOK_URL = f"http://testserver{WEBHOOK}"


async def synced_lead(crm: Crm) -> tuple[str, str]:
    """A lead that HubSpot has: our id, and HubSpot's."""
    response = await capture(crm.client, crm.world, email="ana@example.com")
    assert response.status_code == 201, response.text
    await crm.worker.drain()
    [crm_id] = crm.portal.portal.contacts
    return response.json()["contact_id"], crm_id


async def post_events(
    client: httpx.AsyncClient,
    portal: Emulator,
    events: list[dict[str, Any]],
    *,
    at_ms: int | None = None,
    body: bytes | None = None,
) -> httpx.Response:
    """Post events as HubSpot does: signed with the app's client secret."""
    signed_body = json.dumps(events).encode()
    headers = portal.webhooks.signed(signed_body, at_ms or int(time.time() * 1000), WEBHOOK_URL)
    return await client.post(WEBHOOK, content=body or signed_body, headers=headers)


def change(crm_id: str, name: str, value: str, *, ago_ms: int = 0) -> dict[str, Any]:
    return {
        "objectId": int(crm_id), "propertyName": name, "propertyValue": value,
        "changeSource": "CRM_UI", "eventId": 1, "subscriptionId": 25, "portalId": 62515,
        "appId": 1160452, "occurredAt": int(time.time() * 1000) - ago_ms,
        "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
    }  # fmt: skip
