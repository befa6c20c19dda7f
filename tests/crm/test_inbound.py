"""HubSpot's webhooks: only signed, fresh requests are taken; lifecycle and owner changes are
applied with cause `crm`, newest only, forward only, and never sent back to HubSpot."""

import json
import time
from typing import Any

import httpx
import pytest

from inbound.hubspot_emulator import Emulator
from tests.crm.helpers import WEBHOOK, WEBHOOK_URL, Crm, change, post_events, synced_lead
from tests.leads.helpers import timeline
from tests.problems import assert_problem, body_of
from tests.support.world import LEADS, World

pytestmark = pytest.mark.committing


async def lead(client: httpx.AsyncClient, world: World, lead_id: str) -> dict[str, Any]:
    response = await client.get(f"{LEADS}/{lead_id}", headers=world.admin)
    return body_of(response)


async def test_a_change_made_in_hubspot_is_applied_with_cause_crm_and_not_sent_back(
    crm: Crm,
) -> None:
    lead_id, crm_id = await synced_lead(crm)
    upserts = crm.portal.stats["calls:upsert"]
    # A rep moves the contact on in HubSpot and takes it; HubSpot reports both.
    async with httpx.AsyncClient() as hubspot_user:
        edited = await hubspot_user.patch(
            f"{crm.portal.url}/_emulator/contacts/{crm_id}",
            json={"properties": {"lifecyclestage": "opportunity", "hubspot_owner_id": "4711"}},
        )
    assert edited.status_code == 200
    reported = [e for e in crm.portal.webhooks.sent if e["changeSource"] == "CRM_UI"]
    answer = await post_events(crm.client, crm.portal, reported)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 2, "applied": 2, "rejected": []}
    now = await lead(crm.client, crm.world, lead_id)
    assert now["stage"] == "opportunity"
    assert now["owner"] == "4711"
    [last_move] = [c for c in timeline(now, "stage") if c["to"] == "opportunity"]
    assert last_move["cause"] == "crm"
    # Nothing goes back to HubSpot: the change came from there.
    await crm.worker.drain()
    assert crm.portal.stats["calls:upsert"] == upserts


async def test_our_own_writes_coming_back_change_nothing(crm: Crm) -> None:
    lead_id, _ = await synced_lead(crm)
    before = await lead(crm.client, crm.world, lead_id)
    upserts = crm.portal.stats["calls:upsert"]
    # What our upsert changed there comes back as HubSpot's webhooks (changeSource API).
    ours = [e for e in crm.portal.webhooks.sent if e["changeSource"] == "API"]
    assert {e["propertyName"] for e in ours} >= {"lifecyclestage"}
    answer = await post_events(crm.client, crm.portal, ours)
    assert answer.json()["applied"] == 0
    await crm.worker.drain()
    assert crm.portal.stats["calls:upsert"] == upserts
    assert (await lead(crm.client, crm.world, lead_id))["version"] == before["version"]


async def test_hubspot_moves_stages_forward_only_and_the_newest_change_wins(crm: Crm) -> None:
    lead_id, crm_id = await synced_lead(crm)
    events = [
        change(crm_id, "lifecyclestage", "customer", ago_ms=1_000),
        # Older than the move to customer, delivered after it: ignored.
        change(crm_id, "lifecyclestage", "salesqualifiedlead", ago_ms=5_000),
        change(crm_id, "hubspot_owner_id", "12", ago_ms=2_000),
    ]
    assert (await post_events(crm.client, crm.portal, events[:1])).json()["applied"] == 1
    assert (await post_events(crm.client, crm.portal, events[1:])).json()["applied"] == 1
    assert (await lead(crm.client, crm.world, lead_id))["stage"] == "customer"
    # A later move back (a stage cleared and set again there) leaves ours where it is.
    back = [change(crm_id, "lifecyclestage", "lead")]
    assert (await post_events(crm.client, crm.portal, back)).json()["applied"] == 0
    now = await lead(crm.client, crm.world, lead_id)
    assert (now["stage"], now["owner"]) == ("customer", "12")
    # Cleared in HubSpot: the owner goes.
    cleared = [change(crm_id, "hubspot_owner_id", "")]
    assert (await post_events(crm.client, crm.portal, cleared)).json()["applied"] == 1
    assert (await lead(crm.client, crm.world, lead_id))["owner"] is None


async def test_a_request_hubspot_did_not_sign_is_refused(crm: Crm) -> None:
    lead_id, crm_id = await synced_lead(crm)
    events = [change(crm_id, "lifecyclestage", "customer")]
    tampered = json.dumps([change(crm_id, "lifecyclestage", "evangelist")]).encode()
    refused = await post_events(crm.client, crm.portal, events, body=tampered)
    assert_problem(refused, 401)
    assert refused.json()["type"].endswith("bad-signature")
    six_minutes_ago = int(time.time() * 1000) - 6 * 60 * 1000
    stale = await post_events(crm.client, crm.portal, events, at_ms=six_minutes_ago)
    assert stale.status_code == 401
    assert "five minutes" in stale.json()["detail"]
    unsigned = await crm.client.post(WEBHOOK, json=events)
    assert unsigned.status_code == 401
    assert (await lead(crm.client, crm.world, lead_id))["stage"] == "lead"
    good = await post_events(crm.client, crm.portal, events)
    assert good.status_code == 200


async def test_a_signed_body_that_is_not_a_list_of_events_is_a_400(
    committing_client: httpx.AsyncClient, portal: Emulator
) -> None:
    body = b'{"objectId": 1}'
    headers = portal.webhooks.signed(body, int(time.time() * 1000), WEBHOOK_URL)
    answer = await committing_client.post(WEBHOOK, content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "body"


async def test_a_request_stamped_in_the_future_is_refused(crm: Crm) -> None:
    lead_id, crm_id = await synced_lead(crm)
    events = [change(crm_id, "lifecyclestage", "customer")]
    six_minutes_ahead = int(time.time() * 1000) + 6 * 60 * 1000
    early = await post_events(crm.client, crm.portal, events, at_ms=six_minutes_ahead)
    assert early.status_code == 401
    assert "five minutes" in early.json()["detail"]
    four_minutes_ahead = int(time.time() * 1000) + 4 * 60 * 1000
    skewed = await post_events(crm.client, crm.portal, events, at_ms=four_minutes_ahead)
    assert skewed.status_code == 200, skewed.text
    assert (await lead(crm.client, crm.world, lead_id))["stage"] == "customer"


@pytest.mark.parametrize(
    "timestamp", ["soon", "1e300", "-1", "", "99999999999999999999999999", "١٢٣"]
)
async def test_a_timestamp_that_is_not_unix_milliseconds_is_refused(
    committing_client: httpx.AsyncClient, portal: Emulator, timestamp: str
) -> None:
    body = b"[]"
    headers = portal.webhooks.signed(body, 0, WEBHOOK_URL)
    headers["X-HubSpot-Request-Timestamp"] = timestamp.encode()  # type: ignore[assignment]
    answer = await committing_client.post(WEBHOOK, content=body, headers=headers)
    assert_problem(answer, 401)


@pytest.mark.parametrize("signature", ["é" * 44, "ünïcödé", "\u00ff"])
async def test_a_signature_that_is_not_ascii_is_refused(
    committing_client: httpx.AsyncClient, portal: Emulator, signature: str
) -> None:
    body = b"[]"
    headers: dict[str, Any] = portal.webhooks.signed(body, int(time.time() * 1000), WEBHOOK_URL)
    headers["X-HubSpot-Signature-v3"] = signature.encode("utf-8")
    answer = await committing_client.post(WEBHOOK, content=body, headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.json()["type"].endswith("bad-signature")


async def test_a_malformed_event_is_skipped_and_named_and_the_others_are_applied(crm: Crm) -> None:
    lead_id, crm_id = await synced_lead(crm)
    good = change(crm_id, "lifecyclestage", "opportunity")
    bad = [
        change(crm_id, "hubspot_owner_id", "7") | {"occurredAt": 1e300},
        change(crm_id, "hubspot_owner_id", "7") | {"occurredAt": -5},
        change(crm_id, "hubspot_owner_id", "7") | {"occurredAt": "yesterday"},
        change(crm_id, "hubspot_owner_id", "7") | {"occurredAt": 10**30},
        change(crm_id, "hubspot_owner_id", "7") | {"objectId": [int(crm_id)]},
        change(crm_id, "hubspot_owner_id", 7),  # type: ignore[arg-type]
    ]
    answer = await post_events(crm.client, crm.portal, [bad[0], good, *bad[1:]])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["received"], body["applied"]) == (7, 1)
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [
        (0, "occurredAt"), (2, "occurredAt"), (3, "occurredAt"), (4, "occurredAt"),
        (5, "objectId"), (6, "propertyValue"),
    ]  # fmt: skip
    assert all(r["message"] for r in body["rejected"])
    now = await lead(crm.client, crm.world, lead_id)
    assert (now["stage"], now["owner"]) == ("opportunity", None)


ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 10**30, -(10**30), 10**400, 1e300, "", "x", "12", "é", [],
    [1], {}, {"a": 1},
]  # fmt: skip


@pytest.mark.parametrize(
    "name",
    ["objectId", "subscriptionType", "propertyName", "propertyValue", "occurredAt",
     "objectTypeId", "changeSource"],
)  # fmt: skip
async def test_no_shape_of_event_makes_the_receiver_fail(crm: Crm, name: str) -> None:
    _, crm_id = await synced_lead(crm)
    for kind in ("contact.propertyChange", "contact.deletion", "contact.privacyDeletion"):
        for value in ODD_VALUES:
            event = change(crm_id, "hubspot_owner_id", "7") | {"subscriptionType": kind}
            event[name] = value
            answer = await post_events(crm.client, crm.portal, [event])
            assert answer.status_code == 200, (kind, name, value, answer.text)
            assert answer.json()["received"] == 1
    # Nothing odd got through: the contact is where it was, here and in HubSpot.
    assert len(crm.portal.portal.contacts) == 1
