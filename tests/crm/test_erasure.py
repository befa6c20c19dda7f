"""An erased lead that comes back (the same email, captured again) while HubSpot's GDPR delete
of the old one is still failing: the new contact waits for the delete, then is created afresh."""

import asyncio
import time

import pytest

from tests.crm.helpers import Crm, in_hubspot, our_contacts
from tests.support.world import LEADS, capture

pytestmark = pytest.mark.committing


async def test_a_lead_captured_again_while_its_erasure_fails_is_created_afresh_after_it(
    crm: Crm,
) -> None:
    first = await capture(crm.client, crm.world, first_name="Ana", company="Oldco")
    assert first.status_code == 201, first.text
    await crm.worker.drain()
    [old_id] = crm.portal.portal.contacts
    # HubSpot's GDPR delete is down; the lead is erased here and fills in a form again.
    crm.portal.faults.update({"failing_routes": ["gdpr_delete"]})
    erased = await crm.client.delete(
        f"{LEADS}/{first.json()['contact_id']}", headers=crm.world.admin
    )
    assert erased.status_code == 204, erased.text
    again = await capture(crm.client, crm.world, first_name="Anna", company="Newco")
    assert again.status_code == 201, again.text
    for _ in range(5):  # the delete keeps failing for a while
        await crm.worker.drain()
        await asyncio.sleep(0.1)
    assert crm.portal.stats["calls:gdpr_delete"] >= 2
    # The new contact waits: sent now, it would update the old HubSpot record, which the
    # delete then removes.
    assert crm.portal.stats["calls:upsert"] == 1
    assert crm.portal.portal.contacts[old_id]["properties"]["company"] == "Oldco"
    held = await crm.status()
    assert (held["erasures_pending"], held["pending"], held["synced"]) == (1, 1, 0)

    crm.portal.faults.update({"failing_routes": []})
    deadline = time.monotonic() + 10
    while (now := await crm.status())["pending"] or now["erasures_pending"]:
        assert time.monotonic() < deadline, now
        await crm.worker.drain()
        await asyncio.sleep(0.05)
    assert old_id not in crm.portal.portal.contacts
    assert crm.portal.portal.created == 2
    assert in_hubspot(crm.portal) == await our_contacts(crm.engine)
    assert in_hubspot(crm.portal)["ana@example.com"]["company"] == "Newco"
    assert (now["synced"], now["failed"]) == (1, 0)
