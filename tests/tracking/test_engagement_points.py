"""Engagement points from behaviour: past events scored when an id is linked, later events
through the writer's hook, caps per period, decay, and MQL promotion."""

import math
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbound.db import utcnow
from inbound.leads.models import ScoreEvent, StageChange
from tests.leads.helpers import put_settings
from tests.support.world import get_lead
from tests.tracking.identity_helpers import (
    Visitors,
    merges_of,
    spaced,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

HALF_LIFE_DAYS = 30.0


def worth(points: float, at: datetime, now: datetime) -> float:
    """``points`` earned at ``at``, as they stand at ``now`` with a 30-day half-life."""
    age_days = (now - at).total_seconds() / 86_400
    return float(points * 0.5 ** (age_days / HALF_LIFE_DAYS))


async def ledger(db: AsyncSession, contact_id: str) -> list[ScoreEvent]:
    statement = (
        select(ScoreEvent)
        .where(
            col(ScoreEvent.contact_id) == uuid.UUID(contact_id),
            col(ScoreEvent.event_id).is_not(None),
        )
        .order_by(col(ScoreEvent.created_at))
    )
    return list((await db.execute(statement)).scalars())


class TestPastEvents:
    async def test_a_capture_link_scores_past_views_with_caps_and_decay(
        self, visitors: Visitors
    ) -> None:
        now = utcnow()
        # 25 page views in one morning three days ago (the cap is 20 a day), 22 more yesterday,
        # and 12 content views two days ago (3 points each, 30 a day at most).
        early = spaced(now - timedelta(days=3), 25, timedelta(minutes=1))
        late = spaced(now - timedelta(days=1), 22, timedelta(minutes=1))
        content = spaced(now - timedelta(days=2), 12, timedelta(minutes=2))
        asset_id = uuid.uuid4()
        await visitors.store(
            [
                *visitors.page_views("v-1", early + late),
                *visitors.page_views("v-1", content, asset_id=asset_id),
                visitors.event(anonymous_id="v-other"),
            ],
        )

        contact_id = await visitors.capture("ana@example.com", "v-1")
        await visitors.work()

        rows = await ledger(visitors.db, contact_id)
        assert len(rows) == 25 + 22 + 12
        [merge] = await merges_of(visitors.db, contact_id)
        assert {row.merge_id for row in rows} == {merge.id}
        assert merge.scored_at is not None
        by_kind = {
            kind: [(r.points, r.capped) for r in rows if r.kind == kind]
            for kind in ("page_view", "content_view")
        }
        assert by_kind["page_view"] == (
            [(1.0, False)] * 20 + [(0.0, True)] * 5 + [(1.0, False)] * 20 + [(0.0, True)] * 2
        )
        assert by_kind["content_view"] == [(3.0, False)] * 10 + [(0.0, True)] * 2
        lead = await get_lead(visitors.client, visitors.world, contact_id)
        read_at = utcnow()
        expected = (
            50.0
            + sum(worth(1.0, at, read_at) for at in early[:20] + late[:20])
            + sum(worth(3.0, at, read_at) for at in content[:10])
        )
        assert math.isclose(lead["score"], round(expected, 2), abs_tol=0.011)

    async def test_an_event_counts_once_however_often_it_is_queued(
        self, visitors: Visitors
    ) -> None:
        contact_id = await visitors.capture("ana@example.com", "v-1")
        await visitors.work()
        view = visitors.event(anonymous_id="v-1")
        await visitors.store([view])
        # The writer's hook queues it; an identify for the same browser backfills it too.
        identify = visitors.event(
            type="identify", anonymous_id="v-1", user_id="u-1",
            identify_email="ana@example.com",
        )  # fmt: skip
        await visitors.store([identify])
        await visitors.work()

        assert [row.event_id for row in await ledger(visitors.db, contact_id)] == [view["id"]]


class TestLaterEvents:
    async def test_events_after_the_link_are_scored_through_the_hook(
        self, visitors: Visitors
    ) -> None:
        contact_id = await visitors.capture("ana@example.com", "v-1")
        assert await visitors.work() == 1  # the link's (empty) backfill
        viewed = visitors.event(type="track", event="Content Viewed", anonymous_id="v-1",
                       asset_id=uuid.uuid4())  # fmt: skip
        await visitors.store([viewed, visitors.event(anonymous_id="v-1")])

        assert await visitors.work() == 2

        rows = await ledger(visitors.db, contact_id)
        [merge] = await merges_of(visitors.db, contact_id)
        assert sorted((r.kind, r.points) for r in rows) == [
            ("content_view", 3.0), ("page_view", 1.0),
        ]  # fmt: skip
        assert {r.merge_id for r in rows} == {merge.id}
        lead = await get_lead(visitors.client, visitors.world, contact_id)
        assert math.isclose(lead["score"], 54.0, abs_tol=0.011)

    async def test_behaviour_makes_a_qualified_lead_an_mql(self, visitors: Visitors) -> None:
        await put_settings(
            visitors.client,
            visitors.world.admin,
            "scoring",
            {"mql": {"min_grade": "D", "min_score": 60}},
        )
        contact_id = await visitors.capture("ana@example.com", "v-1")
        await visitors.work()
        assert (await get_lead(visitors.client, visitors.world, contact_id))["stage"] == "lead"

        now = utcnow()
        await visitors.store(visitors.page_views("v-1", spaced(now, 12, timedelta(seconds=-1))))
        await visitors.work()

        lead = await get_lead(visitors.client, visitors.world, contact_id)
        assert lead["stage"] == "mql"
        statement = select(StageChange).where(
            col(StageChange.contact_id) == uuid.UUID(contact_id), col(StageChange.to_stage) == "mql"
        )
        [change] = (await visitors.db.execute(statement)).scalars().all()
        assert (change.cause, change.actor) == ("score", "engagement")

    async def test_events_of_unknown_ids_earn_nobody_anything(self, visitors: Visitors) -> None:
        contact_id = await visitors.capture("ana@example.com", "v-1")
        await visitors.store([visitors.event(anonymous_id="v-stranger")])
        await visitors.work()

        assert await ledger(visitors.db, contact_id) == []


ASSET = uuid.uuid4()
# Each kind of event, and what it earns: only a page, or a `Content Viewed` about an asset
# that resolved, is a content view.
KINDS: list[tuple[dict[str, object], str | None]] = [
    ({"type": "page", "asset_id": ASSET}, "content_view"),
    ({"type": "page"}, "page_view"),
    ({"type": "track", "event": "Content Viewed", "asset_id": ASSET}, "content_view"),
    ({"type": "track", "event": "Content Viewed"}, None),  # no asset, or an unknown one
    ({"type": "track", "event": "Content Clicked", "asset_id": ASSET}, None),
    ({"type": "track", "event": "Recommendation Clicked", "asset_id": ASSET}, None),
    ({"type": "track", "event": "Webinar Joined", "asset_id": ASSET}, None),
    ({"type": "identify", "asset_id": ASSET}, None),
]


class TestWhatCounts:
    @pytest.mark.parametrize(("fields", "kind"), KINDS)
    async def test_an_event_of_a_known_id(
        self, visitors: Visitors, fields: dict[str, object], kind: str | None
    ) -> None:
        contact_id = await visitors.capture("ana@example.com", "v-1")
        await visitors.work()
        await visitors.store([visitors.event(anonymous_id="v-1", **fields)])
        await visitors.work()

        assert [row.kind for row in await ledger(visitors.db, contact_id)] == (
            [kind] if kind else []
        )

    @pytest.mark.parametrize(("fields", "kind"), KINDS)
    async def test_a_past_event_scored_when_its_id_is_linked(
        self, visitors: Visitors, fields: dict[str, object], kind: str | None
    ) -> None:
        await visitors.store([visitors.event(anonymous_id="v-1", **fields)])
        contact_id = await visitors.capture("ana@example.com", "v-1")
        await visitors.work()

        assert [row.kind for row in await ledger(visitors.db, contact_id)] == (
            [kind] if kind else []
        )
