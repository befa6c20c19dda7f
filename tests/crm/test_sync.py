"""Contacts reach HubSpot (the emulator) with their properties, once each, whatever it answers."""

import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.config import Settings
from inbound.crm.mapping import PROPERTIES
from inbound.demo.load import load_history
from inbound.worker import Worker
from tests.crm.helpers import Crm, in_hubspot, our_contacts
from tests.support.world import LEADS, World, capture

pytestmark = pytest.mark.committing

CRM = "/api/v1/crm"


async def new_leads(client: httpx.AsyncClient, world: World, *names: str) -> dict[str, str]:
    found = {}
    for name in names:
        response = await capture(
            client, world, email=f"{name}@example.com", first_name=name.title(),
            company="Acme", consent=True, consent_text_version="v1", utm_source="newsletter",
        )  # fmt: skip
        assert response.status_code == 201, response.text
        found[name] = response.json()["contact_id"]
    return found


async def test_captured_contacts_reach_hubspot_with_every_property(crm: Crm) -> None:
    await new_leads(crm.client, crm.world, "ana", "ben", "cleo")
    await crm.worker.drain()
    ours = await our_contacts(crm.engine)
    assert in_hubspot(crm.portal) == ours
    assert ours["ana@example.com"]["lifecyclestage"] == "lead"
    assert ours["ana@example.com"]["inbound_first_asset"] == "scoring-ebook"
    assert ours["ana@example.com"]["inbound_marketing_consent"] == "true"
    now = await crm.status()
    assert (now["synced"], now["pending"], now["failed"]) == (3, 0, 0)
    assert now["properties_ready"]
    assert now["last_success_at"] is not None
    assert now["rate_limit"]["max"] == 100


async def test_the_first_run_creates_our_property_group_and_properties(crm: Crm) -> None:
    await new_leads(crm.client, crm.world, "ana")
    await crm.worker.drain()
    assert crm.portal.portal.groups["inbound"]["label"] == "Inbound"
    for definition in PROPERTIES:
        made = crm.portal.portal.properties[definition["name"]]
        assert made["groupName"] == "inbound"
        assert made["type"] == definition["type"]
    grade = crm.portal.portal.properties["inbound_grade"]
    assert [option["value"] for option in grade["options"]] == ["A", "B", "C", "D"]


async def test_changes_before_a_sync_become_one_upsert_of_the_latest_state(crm: Crm) -> None:
    leads = await new_leads(crm.client, crm.world, "ana")
    lead = leads["ana"]
    claimed = await crm.client.post(
        f"{LEADS}/{lead}/claim", json={"owner": "rita"}, headers=crm.world.admin
    )
    assert claimed.status_code == 201, claimed.text
    moved = await crm.client.post(
        f"{LEADS}/{lead}/stage", json={"stage": "sql"}, headers=crm.world.admin
    )
    assert moved.status_code == 200, moved.text
    await crm.worker.drain()
    assert crm.portal.stats["calls:upsert"] == 1
    hubspot = in_hubspot(crm.portal)["ana@example.com"]
    assert hubspot["lifecyclestage"] == "salesqualifiedlead"
    assert hubspot["inbound_owner"] == "rita"
    assert hubspot == (await our_contacts(crm.engine))["ana@example.com"]
    # A later change is one more upsert of the same contact: never a second contact.
    await crm.client.patch(
        f"{LEADS}/{lead}", json={"lead_status": "connected"}, headers=crm.world.admin
    )
    await crm.worker.drain()
    assert crm.portal.stats["calls:upsert"] == 2
    assert crm.portal.portal.created == 1
    assert in_hubspot(crm.portal)["ana@example.com"]["hs_lead_status"] == "CONNECTED"


async def use_email(engine: AsyncEngine, lead: str, email: str) -> None:
    """Give a contact an email HubSpot refuses (ours accepts what its forms checked)."""
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE contacts SET email = :email WHERE id = :id"),
            {"email": email, "id": uuid.UUID(lead) if engine.dialect.name == "postgresql"
             else uuid.UUID(lead).hex},
        )  # fmt: skip


@pytest.mark.parametrize("multi_status", [True, False], ids=["207", "whole-batch-400"])
async def test_a_bad_email_fails_alone(crm: Crm, multi_status: bool) -> None:
    # HubSpot either reports the bad input by its trace id (207) or refuses the whole batch
    # (400); either way the other contacts get through and the bad one fails by itself.
    crm.portal.portal.multi_status = multi_status
    leads = await new_leads(crm.client, crm.world, "ana", "ben", "cleo", "dan", "eve")
    await use_email(crm.engine, leads["cleo"], "cleo@localhost")
    await crm.worker.drain()
    assert sorted(in_hubspot(crm.portal)) == [
        "ana@example.com", "ben@example.com", "dan@example.com", "eve@example.com"
    ]  # fmt: skip
    now = await crm.status()
    assert (now["synced"], now["failed"], now["pending"]) == (4, 1, 0)
    [failure] = now["failures"]
    assert failure["lead_id"] == leads["cleo"]
    assert failure["email"] == "cleo@localhost"
    assert "INVALID_EMAIL" in failure["error"]


async def test_a_refused_token_fails_no_contact_and_shows_in_the_status(
    crm: Crm, settings: Settings
) -> None:
    await new_leads(crm.client, crm.world, "ana")
    from pydantic import SecretStr

    wrong = Worker(
        crm.engine, settings.model_copy(update={"hubspot_token": SecretStr("pat-wrong")})
    )
    try:
        await wrong.drain()
    finally:
        await wrong.close()
    now = await crm.status()
    assert (now["synced"], now["failed"], now["pending"]) == (0, 0, 1)
    assert "HubSpot answered 401" in now["last_error"]
    assert crm.portal.portal.contacts == {}


async def test_a_burst_stays_under_the_rate_limit_the_headers_announce(
    crm: Crm, settings: Settings
) -> None:
    # The portal allows 4 calls a second, far fewer than the 100 in 10 s the sync assumes
    # until HubSpot's headers say otherwise; a batch of 2 makes 15 calls for 30 contacts.
    crm.portal.rate_limit.limit, crm.portal.rate_limit.interval_seconds = 4, 1.0
    await new_leads(crm.client, crm.world, *(f"lead{n}" for n in range(30)))
    paced = Worker(crm.engine, settings.model_copy(update={"crm_batch_size": 2,
                                                       "crm_concurrency": 4}))  # fmt: skip
    began = time.monotonic()
    try:
        await paced.drain()
    finally:
        await paced.close()
    assert len(crm.portal.portal.contacts) == 30
    assert crm.portal.stats["429"] == 0
    assert crm.portal.rate_limit.peak <= 4
    # 16 calls (15 upserts and the property set-up's first) at 4 a second take 3 s at least.
    assert time.monotonic() - began >= 2.5


async def test_a_backfill_sends_every_contact_with_every_property_once(crm: Crm) -> None:
    # 10,000 contacts written straight into the tables, as an import would: no outbox
    # events, so only the backfill sends them.
    await load_history(crm.engine, contacts=10_000, now=datetime.now(UTC), days=90, seed=3)
    response = await crm.client.post(f"{CRM}/resync", json={}, headers=crm.world.admin)
    assert response.status_code == 202, response.text
    resync = response.json()
    assert resync["total"] == 10_000
    assert response.headers["location"] == f"{CRM}/resyncs/{resync['id']}"
    await crm.worker.drain()
    ours = await our_contacts(crm.engine)
    hubspot = in_hubspot(crm.portal)
    assert len(hubspot) == len(ours) == 10_000
    assert crm.portal.portal.created == 10_000
    mismatched = [email for email, properties in ours.items() if hubspot.get(email) != properties]
    assert mismatched == []
    progress = await crm.client.get(response.headers["location"], headers=crm.world.admin)
    assert progress.json() | {"id": None} == {
        "id": None, "filter": {}, "total": 10_000, "synced": 10_000, "failed": 0,
        "remaining": 0, "progress": 1.0, "created_at": resync["created_at"],
        "finished_at": progress.json()["finished_at"],
    }  # fmt: skip
    assert progress.json()["finished_at"] is not None


async def test_a_backfill_can_be_narrowed_and_is_refused_when_the_sync_is_off(crm: Crm) -> None:
    leads = await new_leads(crm.client, crm.world, "ana", "ben")
    await crm.client.post(
        f"{LEADS}/{leads['ben']}/stage", json={"stage": "customer"}, headers=crm.world.admin
    )
    await crm.worker.drain()
    response = await crm.client.post(
        f"{CRM}/resync", json={"stages": ["customer"]}, headers=crm.world.admin
    )
    assert response.status_code == 202, response.text
    assert response.json()["total"] == 1
    unknown = await crm.client.post(
        f"{CRM}/resync", json={"stages": ["prospect"]}, headers=crm.world.admin
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"].startswith("stages")


async def test_an_erased_lead_is_deleted_in_hubspot_too(crm: Crm) -> None:
    leads = await new_leads(crm.client, crm.world, "ana", "ben")
    await crm.worker.drain()
    assert len(crm.portal.portal.contacts) == 2
    erased = await crm.client.delete(f"{LEADS}/{leads['ana']}", headers=crm.world.admin)
    assert erased.status_code == 204, erased.text
    gone = await crm.client.get(f"{LEADS}/{leads['ana']}", headers=crm.world.admin)
    assert gone.status_code == 404
    assert (await crm.status())["erasures_pending"] == 1
    await crm.worker.drain()
    assert sorted(in_hubspot(crm.portal)) == ["ben@example.com"]
    assert (await crm.status())["erasures_pending"] == 0


async def test_results_without_trace_ids_are_matched_by_email(crm: Crm) -> None:
    # HubSpot's results come in any order and need not echo the trace ids.
    crm.portal.portal.echo_trace_ids = False
    await new_leads(crm.client, crm.world, "ana", "ben", "cleo")
    await crm.worker.drain()
    now = await crm.status()
    assert (now["synced"], now["pending"]) == (3, 0)
    assert in_hubspot(crm.portal) == await our_contacts(crm.engine)


async def test_a_call_hubspot_does_not_answer_in_time_is_tried_again(crm: Crm) -> None:
    leads = await new_leads(crm.client, crm.world, "ana")
    await crm.worker.drain()
    # HubSpot answers after the sync's timeout (2 s here): the change waits, unlost.
    crm.portal.faults.update({"slow_rate": 1.0, "slow_seconds": 3.0})
    await crm.client.post(
        f"{LEADS}/{leads['ana']}/stage", json={"stage": "customer"}, headers=crm.world.admin
    )
    await crm.worker.step()
    now = await crm.status()
    assert (now["pending"], now["failed"]) == (1, 0)
    assert "no answer from HubSpot" in now["last_error"]
    crm.portal.faults.update({"slow_rate": 0.0})
    deadline = time.monotonic() + 10
    while (await crm.status())["pending"]:
        assert time.monotonic() < deadline
        await crm.worker.step()
    assert in_hubspot(crm.portal)["ana@example.com"]["lifecyclestage"] == "customer"
    assert in_hubspot(crm.portal) == await our_contacts(crm.engine)
