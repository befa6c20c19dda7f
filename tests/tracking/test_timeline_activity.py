"""A lead's behaviour: timeline entries on the lead, the paginated activity list, erasure."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbound.db import utcnow
from inbound.tracking.models import IdentityMerge, TrackingEvent, VisitorIdentity
from tests.problems import assert_names, error_fields
from tests.support.world import LEADS, World, get_lead
from tests.tracking.identity_helpers import (
    Visitors,
    capture_with_visitor,
    spaced,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def count(db: AsyncSession, model: type[Any]) -> int:
    return int((await db.execute(select(func.count()).select_from(model))).scalar_one())


class TestTimeline:
    async def test_the_lead_shows_views_and_clicks_of_its_ids_newest_first(
        self, visitors: Visitors
    ) -> None:
        now = utcnow()
        asset_id = uuid.uuid4()
        await visitors.store([
                visitors.event(anonymous_id="v-1", occurred_at=now - timedelta(hours=3)),
                visitors.event(anonymous_id="v-1", occurred_at=now - timedelta(hours=2),
                      asset_id=asset_id),
                visitors.event(anonymous_id="v-1", occurred_at=now - timedelta(hours=1),
                      type="track", event="Content Clicked", properties={"asset": "x"}),
                visitors.event(anonymous_id="v-1", type="track", event="Recommendation Shown",
                      occurred_at=now - timedelta(minutes=30)),
                visitors.event(anonymous_id="v-stranger"),
            ],
        )  # fmt: skip
        contact_id = await visitors.capture("ana@example.com", "v-1")

        lead = await get_lead(visitors.client, visitors.world, contact_id)

        behaviour = [e for e in lead["timeline"] if e["type"] in ("page_view", "content_view",
                                                                   "click")]  # fmt: skip
        assert [e["type"] for e in behaviour] == ["click", "content_view", "page_view"]
        assert behaviour[1]["detail"]["asset_id"] == str(asset_id)
        assert {e["detail"]["anonymous_id"] for e in behaviour} == {"v-1"}
        assert lead["timeline"][0]["type"] in ("capture", "score", "stage")


class TestActivity:
    async def test_pages_through_every_event_of_the_leads_ids(self, visitors: Visitors) -> None:
        now = utcnow()
        times = spaced(now - timedelta(hours=1), 7, timedelta(minutes=1))
        await visitors.store(visitors.page_views("v-1", times))
        # Two events at the same instant: the cursor keeps them apart.
        await visitors.store(visitors.page_views("v-2", [times[3]]))
        contact_id = await visitors.capture("ana@example.com", "v-1")
        await visitors.capture("ana@example.com", "v-2")

        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = await visitors.client.get(
                f"{LEADS}/{contact_id}/activity", params=params, headers=visitors.world.admin
            )
            assert page.status_code == 200, page.text
            seen += [item["occurred_at"] + item["anonymous_id"] for item in page.json()["items"]]
            if (cursor := page.json()["next_cursor"]) is None:
                break
        assert len(seen) == 8 == len(set(seen))
        assert seen == sorted(seen, reverse=True)

    async def test_filters_by_type_and_time(self, visitors: Visitors) -> None:
        now = utcnow()
        await visitors.store(
            [
                visitors.event(anonymous_id="v-1", occurred_at=now - timedelta(days=2)),
                visitors.event(anonymous_id="v-1", occurred_at=now - timedelta(hours=1)),
                visitors.event(anonymous_id="v-1", type="track", event="Content Viewed"),
            ],
        )
        contact_id = await visitors.capture("ana@example.com", "v-1")
        url = f"{LEADS}/{contact_id}/activity"

        pages = await visitors.client.get(
            url, params={"type": "page"}, headers=visitors.world.admin
        )
        assert [i["type"] for i in pages.json()["items"]] == ["page", "page"]
        since = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
        recent = await visitors.client.get(
            url, params={"since": since}, headers=visitors.world.admin
        )
        assert [i["type"] for i in recent.json()["items"]] == ["track", "page"]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"cursor": "x" * 22}, "cursor"),
            ({"cursor": "#"}, "cursor"),
            ({"type": "click"}, "type"),
            ({"since": "yesterday"}, "since"),
            ({"limit": "0"}, "limit"),
            ({"kind": "page"}, "kind"),
        ],
    )
    async def test_bad_parameters_are_400_naming_the_field(
        self, client: httpx.AsyncClient, world: World, params: dict[str, str], field: str
    ) -> None:
        contact_id = await capture_with_visitor(client, world, "ana@example.com", "v-1")
        response = await client.get(
            f"{LEADS}/{contact_id}/activity", params=params, headers=world.admin
        )
        assert_names(response, field)

    async def test_a_time_that_does_not_exist_is_422(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        contact_id = await capture_with_visitor(client, world, "ana@example.com", "v-1")
        response = await client.get(
            f"{LEADS}/{contact_id}/activity", params={"since": "2026-02-31T00:00Z"},
            headers=world.admin,
        )  # fmt: skip
        assert response.status_code == 422, response.text
        assert error_fields(response) == ["since"]

    async def test_an_unknown_lead_is_404(self, client: httpx.AsyncClient, world: World) -> None:
        response = await client.get(f"{LEADS}/{uuid.uuid4()}/activity", headers=world.admin)
        assert response.status_code == 404


class TestErasure:
    async def test_erasing_a_lead_erases_its_ids_merges_and_behaviour(
        self, visitors: Visitors
    ) -> None:
        await visitors.store(visitors.page_views("v-1", [utcnow()]))
        await visitors.store(visitors.page_views("v-bob", [utcnow()]))
        ana = await visitors.capture("ana@example.com", "v-1")
        await visitors.capture("bob@example.com", "v-bob")
        await visitors.store([visitors.event(type="identify", anonymous_id="v-9", user_id="u-1")])

        response = await visitors.client.delete(f"{LEADS}/{ana}", headers=visitors.world.admin)

        assert response.status_code == 204, response.text
        anonymous_ids = select(col(TrackingEvent.anonymous_id))
        assert set((await visitors.db.execute(anonymous_ids)).scalars()) == {"v-bob", "v-9"}
        assert await count(visitors.db, VisitorIdentity) == 1
        assert await count(visitors.db, IdentityMerge) == 1
