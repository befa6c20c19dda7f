"""HubSpot's webhooks: only signed, fresh requests are taken; lifecycle and owner changes are
applied with cause `crm`, newest only, forward only, and never sent back to HubSpot."""

import json
import time
from typing import Any

import httpx
import pytest

from inbound.crm.emulator import Emulator
from inbound.worker import Worker
from tests.conftest import Headers
from tests.leads.helpers import LEADS, World, capture, make_asset, make_world, timeline

pytestmark = pytest.mark.committing

WEBHOOK = "/api/v1/crm/hubspot/webhook"
# The address HubSpot calls, as the app sees it behind the test client.
WEBHOOK_URL = f"http://testserver{WEBHOOK}"


@pytest.fixture
async def world(committing_client: httpx.AsyncClient, committing_admin: Headers) -> World:
    world = await make_world(committing_client, committing_admin)
    await make_asset(committing_client, committing_admin)
    return world


async def synced_lead(
    client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> tuple[str, str]:
    """A lead that HubSpot has: our id, and HubSpot's."""
    response = await capture(client, world, email="ana@example.com")
    assert response.status_code == 201, response.text
    await worker.drain()
    [crm_id] = portal.portal.contacts
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


async def lead(client: httpx.AsyncClient, world: World, lead_id: str) -> dict[str, Any]:
    response = await client.get(f"{LEADS}/{lead_id}", headers=world.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_change_made_in_hubspot_is_applied_with_cause_crm_and_not_sent_back(
    committing_client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> None:
    lead_id, crm_id = await synced_lead(committing_client, world, worker, portal)
    upserts = portal.stats["calls:upsert"]
    # A rep moves the contact on in HubSpot and takes it; HubSpot reports both.
    async with httpx.AsyncClient() as hubspot_user:
        edited = await hubspot_user.patch(
            f"{portal.url}/_emulator/contacts/{crm_id}",
            json={"properties": {"lifecyclestage": "opportunity", "hubspot_owner_id": "4711"}},
        )
    assert edited.status_code == 200
    reported = [e for e in portal.webhooks.sent if e["changeSource"] == "CRM_UI"]
    answer = await post_events(committing_client, portal, reported)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 2, "applied": 2}
    now = await lead(committing_client, world, lead_id)
    assert now["stage"] == "opportunity"
    assert now["owner"] == "4711"
    [last_move] = [c for c in timeline(now, "stage") if c["to"] == "opportunity"]
    assert last_move["cause"] == "crm"
    # Nothing goes back to HubSpot: the change came from there.
    await worker.drain()
    assert portal.stats["calls:upsert"] == upserts


async def test_our_own_writes_coming_back_change_nothing(
    committing_client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> None:
    lead_id, _ = await synced_lead(committing_client, world, worker, portal)
    before = await lead(committing_client, world, lead_id)
    upserts = portal.stats["calls:upsert"]
    # What our upsert changed there comes back as HubSpot's webhooks (changeSource API).
    ours = [e for e in portal.webhooks.sent if e["changeSource"] == "API"]
    assert {e["propertyName"] for e in ours} >= {"lifecyclestage"}
    answer = await post_events(committing_client, portal, ours)
    assert answer.json()["applied"] == 0
    await worker.drain()
    assert portal.stats["calls:upsert"] == upserts
    assert (await lead(committing_client, world, lead_id))["version"] == before["version"]


async def test_hubspot_moves_stages_forward_only_and_the_newest_change_wins(
    committing_client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> None:
    lead_id, crm_id = await synced_lead(committing_client, world, worker, portal)
    events = [
        change(crm_id, "lifecyclestage", "customer", ago_ms=1_000),
        # Older than the move to customer, delivered after it: ignored.
        change(crm_id, "lifecyclestage", "salesqualifiedlead", ago_ms=5_000),
        change(crm_id, "hubspot_owner_id", "12", ago_ms=2_000),
    ]
    assert (await post_events(committing_client, portal, events[:1])).json()["applied"] == 1
    assert (await post_events(committing_client, portal, events[1:])).json()["applied"] == 1
    assert (await lead(committing_client, world, lead_id))["stage"] == "customer"
    # A later move back (a stage cleared and set again there) leaves ours where it is.
    back = [change(crm_id, "lifecyclestage", "lead")]
    assert (await post_events(committing_client, portal, back)).json()["applied"] == 0
    now = await lead(committing_client, world, lead_id)
    assert (now["stage"], now["owner"]) == ("customer", "12")
    # Cleared in HubSpot: the owner goes.
    cleared = [change(crm_id, "hubspot_owner_id", "")]
    assert (await post_events(committing_client, portal, cleared)).json()["applied"] == 1
    assert (await lead(committing_client, world, lead_id))["owner"] is None


async def test_a_request_hubspot_did_not_sign_is_refused(
    committing_client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> None:
    lead_id, crm_id = await synced_lead(committing_client, world, worker, portal)
    events = [change(crm_id, "lifecyclestage", "customer")]
    tampered = json.dumps([change(crm_id, "lifecyclestage", "evangelist")]).encode()
    refused = await post_events(committing_client, portal, events, body=tampered)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("bad-signature")
    six_minutes_ago = int(time.time() * 1000) - 6 * 60 * 1000
    stale = await post_events(committing_client, portal, events, at_ms=six_minutes_ago)
    assert stale.status_code == 401
    assert "five minutes" in stale.json()["detail"]
    unsigned = await committing_client.post(WEBHOOK, json=events)
    assert unsigned.status_code == 401
    assert (await lead(committing_client, world, lead_id))["stage"] == "lead"
    good = await post_events(committing_client, portal, events)
    assert good.status_code == 200


async def test_a_signed_body_that_is_not_a_list_of_events_is_a_400(
    committing_client: httpx.AsyncClient, portal: Emulator
) -> None:
    body = b'{"objectId": 1}'
    headers = portal.webhooks.signed(body, int(time.time() * 1000), WEBHOOK_URL)
    answer = await committing_client.post(WEBHOOK, content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "body"
