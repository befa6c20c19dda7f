"""Contacts reach HubSpot (the emulator) with their properties, once each, whatever it answers."""

import httpx
import pytest

from inbound.crm.emulator import Emulator
from inbound.worker import Worker
from tests.conftest import Headers
from tests.leads.helpers import World, capture, make_asset, make_world

pytestmark = pytest.mark.committing


@pytest.fixture
async def world(committing_client: httpx.AsyncClient, committing_admin: Headers) -> World:
    world = await make_world(committing_client, committing_admin)
    await make_asset(committing_client, committing_admin)
    return world


def by_email(portal: Emulator) -> dict[str, dict[str, str]]:
    return {
        contact["properties"]["email"]: contact["properties"]
        for contact in portal.portal.contacts.values()
    }


async def test_captured_contacts_reach_hubspot(
    committing_client: httpx.AsyncClient, world: World, worker: Worker, portal: Emulator
) -> None:
    for name in ("ana", "ben", "cleo"):
        response = await capture(
            committing_client, world, email=f"{name}@example.com", first_name=name.title()
        )
        assert response.status_code == 201, response.text
    await worker.drain()
    found = by_email(portal)
    assert sorted(found) == ["ana@example.com", "ben@example.com", "cleo@example.com"]
    assert found["ana@example.com"]["firstname"] == "Ana"
    assert found["ana@example.com"]["lifecyclestage"] == "lead"
