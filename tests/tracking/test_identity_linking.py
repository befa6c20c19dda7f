"""Linking anonymous and user ids to contacts: by capture, by identify, and the refusals."""

import uuid

import httpx
import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlmodel import col

from inbound.db import utcnow
from inbound.leads.models import Contact
from inbound.sites.models import Site
from inbound.tracking.identity_sql import MAX_ANONYMOUS_IDS
from inbound.tracking.models import EngagementTask, IdentityMerge, VisitorIdentity
from tests.support.world import World, capture
from tests.tracking.identity_helpers import (
    Visitors,
    capture_with_visitor,
    event,
    merges_of,
    owner,
    store,
    work,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


class TestLinkByCapture:
    async def test_a_capture_links_its_visitor_id_and_logs_it(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        contact_id = await capture_with_visitor(client, world, "ana@example.com", "v-1")

        assert await owner(db, "anonymous", "v-1") == contact_id
        [merge] = await merges_of(db, contact_id)
        assert (merge.kind, merge.external_id, merge.cause, merge.outcome, merge.reason) == (
            "anonymous", "v-1", "capture", "linked", None,
        )  # fmt: skip
        assert merge.capture_id is not None

    async def test_the_same_visitor_again_is_not_logged_again(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        contact_id = await capture_with_visitor(client, world, "ana@example.com", "v-1")
        await capture_with_visitor(client, world, "ana@example.com", "v-1")

        assert len(await merges_of(db, contact_id)) == 1

    async def test_a_capture_without_visitor_id_links_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await capture(client, world, email="ana@example.com")
        assert response.status_code == 201
        count = select(func.count()).select_from(IdentityMerge)
        assert (await db.execute(count)).scalar_one() == 0

    async def test_another_email_with_a_linked_visitor_id_is_refused_but_captured(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        ana = await capture_with_visitor(client, world, "ana@example.com", "v-1")
        bob = await capture_with_visitor(client, world, "bob@example.com", "v-1")

        assert ana != bob
        assert await owner(db, "anonymous", "v-1") == ana
        [refused] = await merges_of(db, bob)
        assert refused.outcome == "refused"
        assert refused.reason == "the id is linked to another contact"

    async def test_a_cookieless_site_links_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        await db.execute(
            update(Site)
            .where(col(Site.id) == uuid.UUID(world.site_id))
            .values(tracking_consent="cookieless")
        )
        await db.commit()

        contact_id = await capture_with_visitor(client, world, "ana@example.com", "v-1")

        assert await owner(db, "anonymous", "v-1") is None
        assert await merges_of(db, contact_id) == []

    async def test_a_contact_holds_at_most_500_anonymous_ids(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        contact_id = await capture_with_visitor(client, world, "ana@example.com", "v-0")
        now = utcnow()
        await db.execute(
            insert(VisitorIdentity),
            [
                {"kind": "anonymous", "external_id": f"v-{i}", "contact_id": uuid.UUID(contact_id),
                 "linked_at": now}
                for i in range(1, MAX_ANONYMOUS_IDS)
            ],
        )  # fmt: skip
        await db.commit()

        again = await capture(client, world, email="ana@example.com", visitor_id="v-new")

        assert again.status_code == 201
        assert await owner(db, "anonymous", "v-new") is None
        refused = (await merges_of(db, contact_id))[-1]
        assert (refused.external_id, refused.outcome) == ("v-new", "refused")
        assert refused.reason == "the contact has 500 anonymous ids already"


class TestLinkByIdentify:
    async def test_an_identify_with_a_known_email_links_both_ids(self, visitors: Visitors) -> None:
        contact_id = await visitors.capture("ana@example.com", "v-1")
        identify = visitors.event(
            type="identify", anonymous_id="v-2", user_id="u-42",
            identify_email="ana@example.com",
        )  # fmt: skip
        await visitors.store([identify])

        await visitors.work()

        assert await owner(visitors.db, "anonymous", "v-2") == contact_id
        assert await owner(visitors.db, "user", "u-42") == contact_id
        merges = [m for m in await merges_of(visitors.db, contact_id) if m.cause == "identify"]
        assert {(m.kind, m.external_id, m.outcome) for m in merges} == {
            ("anonymous", "v-2", "linked"), ("user", "u-42", "linked"),
        }  # fmt: skip
        assert {m.message_id for m in merges} == {identify["message_id"]}

    async def test_a_user_id_that_is_an_email_names_the_contact(self, visitors: Visitors) -> None:
        contact_id = await visitors.capture("ana@example.com", "v-1")
        await visitors.store(
            [visitors.event(type="identify", anonymous_id="v-9", user_id="ANA@example.com")],
        )

        await visitors.work()

        assert await owner(visitors.db, "anonymous", "v-9") == contact_id

    async def test_an_unknown_email_links_nothing_and_makes_no_contact(
        self,
        world: World,
        db: AsyncSession,
        connection: AsyncConnection,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        identify = event(
            world.site_id, type="identify", anonymous_id="v-2",
            identify_email="nobody@example.com",
        )  # fmt: skip
        await store(connection, [identify])

        assert await work(sessionmaker) == 1

        assert await owner(db, "anonymous", "v-2") is None
        contacts = select(func.count()).select_from(Contact)
        assert (await db.execute(contacts)).scalar_one() == 0
        tasks = select(func.count()).select_from(EngagementTask)
        assert (await db.execute(tasks)).scalar_one() == 0

    async def test_a_known_user_id_links_the_anonymous_id_to_its_contact(
        self, visitors: Visitors
    ) -> None:
        contact_id = await visitors.capture("ana@example.com", "v-1")
        first = visitors.event(
            type="identify", anonymous_id="v-1", user_id="u-42",
            identify_email="ana@example.com",
        )  # fmt: skip
        await visitors.store([first])
        await visitors.work()
        # Another browser, later: the site knows the user, but sends no email.
        await visitors.store(
            [visitors.event(type="identify", anonymous_id="v-phone", user_id="u-42")],
        )
        await visitors.work()

        assert await owner(visitors.db, "anonymous", "v-phone") == contact_id

    async def test_an_identify_never_moves_an_id_to_another_contact(
        self, visitors: Visitors
    ) -> None:
        ana = await visitors.capture("ana@example.com", "v-1")
        bob = await visitors.capture("bob@example.com", "v-bob")
        identify = visitors.event(
            type="identify", anonymous_id="v-1",
            identify_email="bob@example.com",
        )  # fmt: skip
        await visitors.store([identify])

        await visitors.work()

        assert await owner(visitors.db, "anonymous", "v-1") == ana
        refused = [m for m in await merges_of(visitors.db, bob) if m.cause == "identify"]
        assert [(m.external_id, m.outcome, m.reason) for m in refused] == [
            ("v-1", "refused", "the id is linked to another contact")
        ]

    async def test_the_hook_queues_only_identify_calls_and_events_of_known_ids(
        self, visitors: Visitors
    ) -> None:
        await visitors.capture("ana@example.com", "v-1")
        await visitors.store(
            [
                visitors.event(anonymous_id="v-1"),
                visitors.event(anonymous_id="v-stranger"),
                visitors.event(type="track", event="Signed Up", anonymous_id="v-1"),
                visitors.event(type="identify", anonymous_id="v-3"),
            ],
        )

        tasks = (await visitors.db.execute(select(EngagementTask))).scalars().all()
        assert [(t.task, t.anonymous_id, t.activity) for t in tasks] == [
            ("activity", "v-1", "page_view")
        ]
