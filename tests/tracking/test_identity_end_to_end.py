"""Identity and engagement behind the real ingest endpoint and event writer."""

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from inbound.leads.models import ScoreEvent
from tests.conftest import Headers
from tests.support.world import World, make_asset
from tests.tracking.helpers import Site, make_site, send
from tests.tracking.identity_helpers import capture_with_visitor, owner, work

pytestmark = pytest.mark.asyncio(loop_scope="session")


def page(anonymous_id: str, **fields: object) -> dict[str, object]:
    return {"type": "page", "messageId": str(uuid.uuid4()), "anonymousId": anonymous_id,
            "properties": {"url": "https://www.example.com/pricing"}, **fields}  # fmt: skip


async def behaviour_points(db: AsyncSession, contact_id: str) -> list[tuple[str, float]]:
    statement = select(col(ScoreEvent.kind), col(ScoreEvent.points)).where(
        col(ScoreEvent.contact_id) == uuid.UUID(contact_id), col(ScoreEvent.event_id).is_not(None)
    )
    return sorted((kind, points) for kind, points in (await db.execute(statement)).all())


async def test_events_sent_before_and_after_a_capture_and_an_identify_count_for_the_lead(
    client: httpx.AsyncClient,
    admin: Headers,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    site: Site = await make_site(client, admin, consent="granted")
    await make_asset(client, admin)
    world = World(site_id=site.id, public_key=site.key, admin=admin)
    assert (await send(client, site, [page("anon-1"), page("anon-1")])).status_code == 200

    contact_id = await capture_with_visitor(client, world, "ana@example.com", "anon-1")
    await work(sessionmaker)
    assert await behaviour_points(db, contact_id) == [("page_view", 1.0)] * 2

    # The same person on a phone: the site identifies her by email.
    identify = {"type": "identify", "messageId": str(uuid.uuid4()), "anonymousId": "anon-phone",
                "userId": "user-7", "traits": {"email": "ana@example.com"}}  # fmt: skip
    response = await send(client, site, [page("anon-phone"), identify])
    assert response.status_code == 200, response.text
    await work(sessionmaker)
    assert await owner(db, "anonymous", "anon-phone") == contact_id
    assert await owner(db, "user", "user-7") == contact_id

    await send(client, site, [page("anon-phone"), page("other", userId="user-7")])
    await work(sessionmaker)
    assert await behaviour_points(db, contact_id) == [("page_view", 1.0)] * 5
