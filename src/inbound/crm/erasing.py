"""Erasures carried out in HubSpot: a contact erased here is GDPR-deleted there too. They go
before a round's upserts, so that none can bring an erased contact back."""

from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.crm import repository
from inbound.crm.calls import AUTH_PAUSE_SECONDS, Calls, describe
from inbound.crm.hubspot import HubSpot
from inbound.crm.status import Notes
from inbound.db import utcnow


async def erase_due(engine: AsyncEngine, hubspot: HubSpot, calls: Calls, notes: Notes) -> int:
    """GDPR-delete in HubSpot the contacts erased here whose turn has come; how many."""
    async with engine.connect() as connection:
        due = await repository.due_erasures(connection, utcnow())
    erased = 0
    for erasure in due:
        answer = await calls.call(
            partial(hubspot.erase, crm_id=erasure.crm_id, email=erasure.email)
        )
        now = utcnow()
        # Gone already (404) is what an erasure wants, too.
        done = answer.ok or answer.status == 404
        values: dict[str, Any] = {"attempts": erasure.attempts + 1}
        if done:
            # The email was kept only to erase it there.
            values |= {"done_at": now, "email": None, "error": None}
        else:
            values |= {"error": describe(answer), "due_at": now + calls.wait(erasure.attempts)}
        async with engine.begin() as connection:
            await repository.record_erasure(connection, erasure.id, values)
            if done:
                await notes.success(connection, answer, now)
            else:
                await notes.error(connection, f"erasing: {describe(answer)}", answer)
        erased += done
        if answer.status in (401, 403):
            calls.pacer.pause(AUTH_PAUSE_SECONDS)
        if answer.status in (401, 403, 429):
            break  # the rest wait for the next round
    return erased
