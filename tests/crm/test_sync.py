"""Contacts reach HubSpot (the emulator) with their properties, once each, whatever it answers."""

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.config import Settings
from inbound.crm.mapping import PROPERTIES
from inbound.demo.load import load_history
from inbound.hubspot_emulator import Emulator
from inbound.worker import Worker
from tests.conftest import Headers
from tests.crm.helpers import in_hubspot, our_contacts
from tests.leads.helpers import LEADS, World, capture, make_asset, make_world

pytestmark = pytest.mark.committing

CRM = "/api/v1/crm"


@pytest.fixture
async def world(committing_client: httpx.AsyncClient, committing_admin: Headers) -> World:
    world = await make_world(committing_client, committing_admin)
    await make_asset(committing_client, committing_admin)
    return world


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


async def status(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    response = await client.get(f"{CRM}/status", headers=world.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_captured_contacts_reach_hubspot_with_every_property(
    committing_client: httpx.AsyncClient,
    world: World,
    worker: Worker,
    portal: Emulator,
    engine: AsyncEngine,
) -> None:
    await new_leads(committing_client, world, "ana", "ben", "cleo")
    await worker.drain()
    ours = await our_contacts(engine)
    assert in_hubspot(portal) == ours
    assert ours["ana@example.com"]["lifecyclestage"] == "lead"
    assert ours["ana@example.com"]["inbound_first_asset"] == "scoring-ebook"
    assert ours["ana@example.com"]["inbound_marketing_consent"] == "true"
    now = await status(committing_client, world)
    assert (now["synced"], now["pending"], now["failed"]) == (3, 0, 0)
    assert now["properties_ready"]
    assert now["last_success_at"] is not None
    assert now["rate_limit"]["max"] == 100


async def test_the_first_run_creates_our_property_group_and_properties(
    committing_client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> None:
    await new_leads(committing_client, world, "ana")
    await worker.drain()
    assert portal.portal.groups["inbound"]["label"] == "Inbound"
    for definition in PROPERTIES:
        made = portal.portal.properties[definition["name"]]
        assert made["groupName"] == "inbound"
        assert made["type"] == definition["type"]
    grade = portal.portal.properties["inbound_grade"]
    assert [option["value"] for option in grade["options"]] == ["A", "B", "C", "D"]


async def test_changes_before_a_sync_become_one_upsert_of_the_latest_state(
    committing_client: httpx.AsyncClient,
    world: World,
    worker: Worker,
    portal: Emulator,
    engine: AsyncEngine,
) -> None:
    leads = await new_leads(committing_client, world, "ana")
    lead = leads["ana"]
    claimed = await committing_client.post(
        f"{LEADS}/{lead}/claim", json={"owner": "rita"}, headers=world.admin
    )
    assert claimed.status_code == 201, claimed.text
    moved = await committing_client.post(
        f"{LEADS}/{lead}/stage", json={"stage": "sql"}, headers=world.admin
    )
    assert moved.status_code == 200, moved.text
    await worker.drain()
    assert portal.stats["calls:upsert"] == 1
    hubspot = in_hubspot(portal)["ana@example.com"]
    assert hubspot["lifecyclestage"] == "salesqualifiedlead"
    assert hubspot["inbound_owner"] == "rita"
    assert hubspot == (await our_contacts(engine))["ana@example.com"]
    # A later change is one more upsert of the same contact: never a second contact.
    await committing_client.patch(
        f"{LEADS}/{lead}", json={"lead_status": "connected"}, headers=world.admin
    )
    await worker.drain()
    assert portal.stats["calls:upsert"] == 2
    assert portal.portal.created == 1
    assert in_hubspot(portal)["ana@example.com"]["hs_lead_status"] == "CONNECTED"


async def use_email(engine: AsyncEngine, lead: str, email: str) -> None:
    """Give a contact an email HubSpot refuses (ours accepts what its forms checked)."""
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE contacts SET email = :email WHERE id = :id"),
            {"email": email, "id": uuid.UUID(lead) if engine.dialect.name == "postgresql"
             else uuid.UUID(lead).hex},
        )  # fmt: skip


@pytest.mark.parametrize("multi_status", [True, False], ids=["207", "whole-batch-400"])
async def test_a_bad_email_fails_alone(
    committing_client: httpx.AsyncClient,
    world: World,
    worker: Worker,
    portal: Emulator,
    engine: AsyncEngine,
    multi_status: bool,
) -> None:
    # HubSpot either reports the bad input by its trace id (207) or refuses the whole batch
    # (400); either way the other contacts get through and the bad one fails by itself.
    portal.portal.multi_status = multi_status
    leads = await new_leads(committing_client, world, "ana", "ben", "cleo", "dan", "eve")
    await use_email(engine, leads["cleo"], "cleo@localhost")
    await worker.drain()
    assert sorted(in_hubspot(portal)) == [
        "ana@example.com", "ben@example.com", "dan@example.com", "eve@example.com"
    ]  # fmt: skip
    now = await status(committing_client, world)
    assert (now["synced"], now["failed"], now["pending"]) == (4, 1, 0)
    [failure] = now["failures"]
    assert failure["lead_id"] == leads["cleo"]
    assert failure["email"] == "cleo@localhost"
    assert "INVALID_EMAIL" in failure["error"]


async def test_a_refused_token_fails_no_contact_and_shows_in_the_status(
    committing_client: httpx.AsyncClient,
    world: World,
    engine: AsyncEngine,
    settings: Settings,
    portal: Emulator,
) -> None:
    await new_leads(committing_client, world, "ana")
    from pydantic import SecretStr

    wrong = Worker(engine, settings.model_copy(update={"hubspot_token": SecretStr("pat-wrong")}))
    try:
        await wrong.drain()
    finally:
        await wrong.close()
    now = await status(committing_client, world)
    assert (now["synced"], now["failed"], now["pending"]) == (0, 0, 1)
    assert "HubSpot answered 401" in now["last_error"]
    assert portal.portal.contacts == {}


async def test_a_burst_stays_under_the_rate_limit_the_headers_announce(
    committing_client: httpx.AsyncClient,
    world: World,
    engine: AsyncEngine,
    settings: Settings,
    portal: Emulator,
) -> None:
    # The portal allows 4 calls a second, far fewer than the 100 in 10 s the sync assumes
    # until HubSpot's headers say otherwise; a batch of 2 makes 15 calls for 30 contacts.
    portal.rate_limit.limit, portal.rate_limit.interval_seconds = 4, 1.0
    await new_leads(committing_client, world, *(f"lead{n}" for n in range(30)))
    paced = Worker(engine, settings.model_copy(update={"crm_batch_size": 2,
                                                       "crm_concurrency": 4}))  # fmt: skip
    began = time.monotonic()
    try:
        await paced.drain()
    finally:
        await paced.close()
    assert len(portal.portal.contacts) == 30
    assert portal.stats["429"] == 0
    assert portal.rate_limit.peak <= 4
    # 16 calls (15 upserts and the property set-up's first) at 4 a second take 3 s at least.
    assert time.monotonic() - began >= 2.5


async def test_a_backfill_sends_every_contact_with_every_property_once(
    committing_client: httpx.AsyncClient,
    world: World,
    worker: Worker,
    portal: Emulator,
    engine: AsyncEngine,
) -> None:
    # 10,000 contacts written straight into the tables, as an import would: no outbox
    # events, so only the backfill sends them.
    await load_history(engine, contacts=10_000, now=datetime.now(UTC), days=90, seed=3)
    response = await committing_client.post(f"{CRM}/resync", json={}, headers=world.admin)
    assert response.status_code == 202, response.text
    resync = response.json()
    assert resync["total"] == 10_000
    assert response.headers["location"] == f"{CRM}/resyncs/{resync['id']}"
    await worker.drain()
    ours = await our_contacts(engine)
    hubspot = in_hubspot(portal)
    assert len(hubspot) == len(ours) == 10_000
    assert portal.portal.created == 10_000
    mismatched = [email for email, properties in ours.items() if hubspot.get(email) != properties]
    assert mismatched == []
    progress = await committing_client.get(response.headers["location"], headers=world.admin)
    assert progress.json() | {"id": None} == {
        "id": None, "filter": {}, "total": 10_000, "synced": 10_000, "failed": 0,
        "remaining": 0, "progress": 1.0, "created_at": resync["created_at"],
        "finished_at": progress.json()["finished_at"],
    }  # fmt: skip
    assert progress.json()["finished_at"] is not None


async def test_a_backfill_can_be_narrowed_and_is_refused_when_the_sync_is_off(
    committing_client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> None:
    leads = await new_leads(committing_client, world, "ana", "ben")
    await committing_client.post(
        f"{LEADS}/{leads['ben']}/stage", json={"stage": "customer"}, headers=world.admin
    )
    await worker.drain()
    response = await committing_client.post(
        f"{CRM}/resync", json={"stages": ["customer"]}, headers=world.admin
    )
    assert response.status_code == 202, response.text
    assert response.json()["total"] == 1
    unknown = await committing_client.post(
        f"{CRM}/resync", json={"stages": ["prospect"]}, headers=world.admin
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"].startswith("stages")


async def test_an_erased_lead_is_deleted_in_hubspot_too(
    committing_client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> None:
    leads = await new_leads(committing_client, world, "ana", "ben")
    await worker.drain()
    assert len(portal.portal.contacts) == 2
    erased = await committing_client.delete(f"{LEADS}/{leads['ana']}", headers=world.admin)
    assert erased.status_code == 204, erased.text
    gone = await committing_client.get(f"{LEADS}/{leads['ana']}", headers=world.admin)
    assert gone.status_code == 404
    assert (await status(committing_client, world))["erasures_pending"] == 1
    await worker.drain()
    assert sorted(in_hubspot(portal)) == ["ben@example.com"]
    assert (await status(committing_client, world))["erasures_pending"] == 0


async def test_results_without_trace_ids_are_matched_by_email(
    committing_client: httpx.AsyncClient,
    world: World,
    worker: Worker,
    portal: Emulator,
    engine: AsyncEngine,
) -> None:
    # HubSpot's results come in any order and need not echo the trace ids.
    portal.portal.echo_trace_ids = False
    await new_leads(committing_client, world, "ana", "ben", "cleo")
    await worker.drain()
    now = await status(committing_client, world)
    assert (now["synced"], now["pending"]) == (3, 0)
    assert in_hubspot(portal) == await our_contacts(engine)


async def test_a_call_hubspot_does_not_answer_in_time_is_tried_again(
    committing_client: httpx.AsyncClient,
    world: World,
    worker: Worker,
    portal: Emulator,
    engine: AsyncEngine,
) -> None:
    leads = await new_leads(committing_client, world, "ana")
    await worker.drain()
    # HubSpot answers after the sync's timeout (2 s here): the change waits, unlost.
    portal.faults.update({"slow_rate": 1.0, "slow_seconds": 3.0})
    await committing_client.post(
        f"{LEADS}/{leads['ana']}/stage", json={"stage": "customer"}, headers=world.admin
    )
    await worker.step()
    now = await status(committing_client, world)
    assert (now["pending"], now["failed"]) == (1, 0)
    assert "no answer from HubSpot" in now["last_error"]
    portal.faults.update({"slow_rate": 0.0})
    deadline = time.monotonic() + 10
    while (await status(committing_client, world))["pending"]:
        assert time.monotonic() < deadline
        await worker.step()
    assert in_hubspot(portal)["ana@example.com"]["lifecyclestage"] == "customer"
    assert in_hubspot(portal) == await our_contacts(engine)
