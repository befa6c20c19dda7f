"""An identify call's traits (an email, a phone, a name) are never stored with the event: the
email the worker links by travels in its task, which erasing the lead deletes too."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.tracking.models import EngagementTask, TrackingEvent
from tests.support.world import World, capture
from tests.tracking.helpers import BATCH
from tests.tracking.identity_helpers import Visitors, owner

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONSENTED = {"consent": {"categoryPreferences": {"analytics": True}}}


def identify(anonymous_id: str, email: str, **fields: Any) -> dict[str, Any]:
    return {"type": "identify", "messageId": str(uuid.uuid4()), "anonymousId": anonymous_id,
            "traits": {"email": email, "phone": "+49 30 1234567", "name": "Carol Jones"},
            "context": {**CONSENTED, "traits": {"email": email}}, **fields}  # fmt: skip


async def send_events(client: httpx.AsyncClient, world: World, *events: Any) -> None:
    response = await client.post(BATCH, json={"batch": list(events)}, headers=world.site_headers)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(events), response.text


async def mentions(db: AsyncSession, text: str) -> list[str]:
    """What still holds ``text`` (any case): stored events, queued tasks."""
    db.expire_all()
    found = [
        f"event {row.id}" for row in (await db.execute(select(TrackingEvent))).scalars()
        if text in repr((row.properties, row.context, row.user_id)).lower()
    ]  # fmt: skip
    tasks = (await db.execute(select(EngagementTask))).scalars()
    return found + [f"task {task.id}" for task in tasks if task.email == text]


class TestTraitsAreNotStored:
    async def test_an_identify_is_stored_without_traits_and_still_links(
        self, visitors: Visitors
    ) -> None:
        contact_id = await visitors.capture("carol@example.com", "v-1")
        await send_events(
            visitors.client, visitors.world, identify("v-phone", " Carol@Example.com ")
        )

        [task] = (await visitors.db.execute(select(EngagementTask))).scalars()
        assert task.email == "carol@example.com"
        [row] = (await visitors.db.execute(select(TrackingEvent))).scalars()
        assert (row.properties, "traits" in row.context) == ({}, False)
        await visitors.work()
        assert await owner(visitors.db, "anonymous", "v-phone") == contact_id

    async def test_identify_before_the_capture_then_erasure_leaves_the_email_nowhere(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        # The page identifies the visitor before any form; the worker has not run yet.
        await send_events(client, world, identify("v-early", "carol@example.com"))
        response = await capture(client, world, email="carol@example.com")
        assert response.status_code == 201, response.text
        held = await mentions(db, "carol@example.com")
        assert [what.split()[0] for what in held] == ["task"]  # the identify's, not its event

        erased = await client.delete(
            f"/api/v1/leads/{response.json()['contact_id']}", headers=world.admin
        )

        assert erased.status_code == 204, erased.text
        assert await mentions(db, "carol@example.com") == []
        # The browser was never linked, so its identify event stays: without the email.
        assert len((await db.execute(select(TrackingEvent))).scalars().all()) == 1

    async def test_another_s_email_on_a_linked_browser_never_shows_in_its_activity(
        self, visitors: Visitors
    ) -> None:
        dave = await visitors.capture("dave@example.com", "v-dave")
        await visitors.capture("carol@example.com", "v-carol")
        await send_events(visitors.client, visitors.world, identify("v-dave", "carol@example.com"))
        await visitors.work()

        assert (
            await owner(visitors.db, "anonymous", "v-dave") == dave
        )  # the link to Carol is refused
        activity = await visitors.client.get(
            f"/api/v1/leads/{dave}/activity", headers=visitors.world.admin
        )
        assert activity.status_code == 200, activity.text
        assert [item["type"] for item in activity.json()["items"]] == ["identify"]
        assert "carol" not in activity.text.lower()
