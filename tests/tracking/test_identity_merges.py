"""The merge log through the API: a lead's identities, the filtered list, and undo."""

import math
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlmodel import col

from inbound.auth.scopes import Scope
from inbound.db import utcnow
from inbound.leads.models import ScoreEvent
from tests.conftest import KeyMaker
from tests.problems import assert_names, assert_problem, refusing
from tests.support.world import LEADS, World, get_lead
from tests.tracking.identity_helpers import (
    MERGES,
    Visitors,
    capture_with_visitor,
    owner,
    page_views,
    spaced,
    store,
    work,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def linked_with_views(
    client: httpx.AsyncClient,
    world: World,
    connection: AsyncConnection,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[str, str]:
    """Ana, captured from a browser that viewed 10 pages yesterday; her id and the link's."""
    yesterday = utcnow() - timedelta(days=1)
    await store(
        connection, page_views(world.site_id, "v-1", spaced(yesterday, 10, timedelta(minutes=1)))
    )
    contact_id = await capture_with_visitor(client, world, "ana@example.com", "v-1")
    await work(sessionmaker)
    response = await client.get(f"{LEADS}/{contact_id}/identities", headers=world.admin)
    assert response.status_code == 200, response.text
    [merge] = response.json()["merges"]
    return contact_id, merge["id"]


class TestIdentities:
    async def test_a_lead_shows_its_ids_and_its_merge_log(
        self, client: httpx.AsyncClient, world: World, make_key: KeyMaker
    ) -> None:
        ana = await capture_with_visitor(client, world, "ana@example.com", "v-1")
        await capture_with_visitor(client, world, "bob@example.com", "v-1")
        await capture_with_visitor(client, world, "ana@example.com", "v-2")
        reader = await make_key(Scope.LEADS_READ)

        response = await client.get(f"{LEADS}/{ana}/identities", headers=reader)

        assert response.status_code == 200, response.text
        body = response.json()
        assert sorted(i["external_id"] for i in body["identities"]) == ["v-1", "v-2"]
        assert [(m["external_id"], m["outcome"]) for m in body["merges"]] == [
            ("v-2", "linked"), ("v-1", "linked"),
        ]  # fmt: skip

    async def test_an_unknown_lead_is_404(self, client: httpx.AsyncClient, world: World) -> None:
        response = await client.get(f"{LEADS}/{uuid.uuid4()}/identities", headers=world.admin)
        assert_problem(response, 404)


class TestMergeList:
    async def test_filters_and_pages(self, client: httpx.AsyncClient, world: World) -> None:
        ana = await capture_with_visitor(client, world, "ana@example.com", "v-1")
        bob = await capture_with_visitor(client, world, "bob@example.com", "v-1")
        for n in range(2, 5):
            await capture_with_visitor(client, world, "ana@example.com", f"v-{n}")

        refused = await client.get(MERGES, params={"outcome": "refused"}, headers=world.admin)
        assert [(m["contact_id"], m["external_id"]) for m in refused.json()["items"]] == [
            (bob, "v-1")
        ]
        seen, cursor = [], None
        while True:
            params: dict[str, str | int] = {
                "contact_id": ana,
                "limit": 3,
                **({"cursor": cursor} if cursor else {}),
            }
            page = await client.get(MERGES, params=params, headers=world.admin)
            assert page.status_code == 200, page.text
            seen += [m["external_id"] for m in page.json()["items"]]
            if (cursor := page.json()["next_cursor"]) is None:
                break
        assert seen == ["v-1", "v-2", "v-3", "v-4"]

    @pytest.mark.parametrize(
        ("params", "field"),
        refusing(
            cursor=["not-a-cursor!"], contact_id=["nope"], outcome=["maybe"], limit=["501"],
            contact=["00000000-0000-4000-8000-000000000000"],
        ),
    )  # fmt: skip
    async def test_bad_parameters_are_400_naming_the_field(
        self, client: httpx.AsyncClient, world: World, params: dict[str, str], field: str
    ) -> None:
        assert_names(await client.get(MERGES, params=params, headers=world.admin), field)

    async def test_reading_needs_leads_read(
        self, client: httpx.AsyncClient, world: World, make_key: KeyMaker
    ) -> None:
        editor = await make_key(Scope.CONTENT_WRITE)
        assert (await client.get(MERGES, headers=editor)).status_code == 403


class TestUndo:
    async def test_undo_removes_the_link_and_its_points_and_the_id_links_again(
        self, visitors: Visitors, make_key: KeyMaker
    ) -> None:
        contact_id, merge_id = await linked_with_views(
            visitors.client, visitors.world, visitors.connection, visitors.sessionmaker
        )
        assert (await get_lead(visitors.client, visitors.world, contact_id))["score"] > 59
        writer = await make_key(Scope.LEADS_WRITE)

        response = await visitors.client.post(f"{MERGES}/{merge_id}/undo", headers=writer)

        assert response.status_code == 200, response.text
        assert response.json()["undone_at"] is not None
        assert response.json()["undone_by"].startswith("key:")
        assert await owner(visitors.db, "anonymous", "v-1") is None
        statement = select(ScoreEvent).where(col(ScoreEvent.merge_id) == uuid.UUID(merge_id))
        assert (await visitors.db.execute(statement)).scalars().all() == []
        assert math.isclose(
            (await get_lead(visitors.client, visitors.world, contact_id))["score"],
            50,
            abs_tol=0.011,
        )

        again = await visitors.client.post(f"{MERGES}/{merge_id}/undo", headers=writer)
        assert_problem(again, 409)

        await visitors.capture("ana@example.com", "v-1")
        await visitors.work()
        assert await owner(visitors.db, "anonymous", "v-1") == contact_id
        lead = await get_lead(visitors.client, visitors.world, contact_id)
        # The second capture's 50 points, and the ten page views once more.
        assert lead["score"] > 109

    async def test_a_refused_entry_cannot_be_undone(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        await capture_with_visitor(client, world, "ana@example.com", "v-1")
        await capture_with_visitor(client, world, "bob@example.com", "v-1")
        refused = await client.get(MERGES, params={"outcome": "refused"}, headers=world.admin)
        [merge] = refused.json()["items"]

        response = await client.post(f"{MERGES}/{merge['id']}/undo", headers=world.admin)

        assert response.status_code == 422

    async def test_an_unknown_entry_is_404_and_reading_keys_cannot_undo(
        self, client: httpx.AsyncClient, world: World, make_key: KeyMaker
    ) -> None:
        missing = await client.post(f"{MERGES}/{uuid.uuid4()}/undo", headers=world.admin)
        assert missing.status_code == 404
        reader = await make_key(Scope.LEADS_READ)
        refused = await client.post(f"{MERGES}/{uuid.uuid4()}/undo", headers=reader)
        assert refused.status_code == 403
        bad = await client.post(f"{MERGES}/not-a-uuid/undo", headers=world.admin)
        assert bad.status_code in (400, 404)
