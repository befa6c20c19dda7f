"""The signal refresh: co-visitation lift and click-through counts from stored events."""

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound import migrate
from inbound.config import Settings
from inbound.content.models import ContentAsset
from inbound.db import create_engine, create_sessionmaker, utcnow
from inbound.tracking.nbc.models import NbcClickThrough, NbcCovisit
from inbound.tracking.nbc.signals import CLICKED, SHOWN, refresh_signals
from inbound.tracking.repository import insert_events
from inbound.worker import Worker
from tests.conftest import Headers
from tests.tracking.nbc_world import NbcWorld, make_nbc_world, next_content, view

COVISITS = NbcCovisit.__table__  # type: ignore[attr-defined]
CLICK_THROUGH = NbcClickThrough.__table__  # type: ignore[attr-defined]


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> NbcWorld:
    return await make_nbc_world(client, admin, covisitation=1, stage_progression=0,
                                persona_fit=0, topic_affinity=0)  # fmt: skip


async def refresh(connection: AsyncConnection, min_together: int = 2) -> None:
    done = await refresh_signals(
        connection, now=utcnow(), window_days=30, min_together=min_together
    )
    assert done is not None


async def lifts(connection: AsyncConnection, world: NbcWorld) -> dict[tuple[str, str], float]:
    slug = {uuid.UUID(v): k for k, v in world.assets.items()}
    rows = await connection.execute(
        select(COVISITS.c.asset_id, COVISITS.c.other_id, COVISITS.c.lift)
    )
    return {(slug[a], slug[b]): lift for a, b, lift in rows}


class TestCovisitation:
    async def test_lift_over_visitors_in_the_window(
        self, connection: AsyncConnection, world: NbcWorld
    ) -> None:
        histories = {"v1": ["blog-seo", "ebook-seo"], "v2": ["blog-seo", "ebook-seo", "blog-seo"],
                     "v3": ["blog-seo", "blog-crm"], "v4": ["ebook-seo"],
                     "v5": ["blog-crm", "blog-seo", "ebook-seo"]}  # fmt: skip
        for visitor, assets in histories.items():
            for step, slug in enumerate(assets):
                await view(connection, world, slug, anonymous_id=visitor,
                           ago=timedelta(hours=10 - step))  # fmt: skip
        # Outside the 30-day window: never counted.
        for visitor in ("old-1", "old-2", "old-3"):
            await view(
                connection, world, "onboarding", anonymous_id=visitor, ago=timedelta(days=40)
            )
            await view(connection, world, "blog-seo", anonymous_id=visitor, ago=timedelta(days=40))
        # A page view of no asset is no content view.
        await view(connection, world, None, anonymous_id="v6")
        await refresh(connection)
        found = await lifts(connection, world)
        # 5 visitors; blog-seo: 4, ebook-seo: 4, blog-crm: 2; seo pair: 3, blog pair: 2.
        assert found == pytest.approx({
            ("blog-seo", "ebook-seo"): 3 * 5 / (4 * 4), ("ebook-seo", "blog-seo"): 3 * 5 / (4 * 4),
            ("blog-seo", "blog-crm"): 2 * 5 / (4 * 2), ("blog-crm", "blog-seo"): 2 * 5 / (4 * 2),
        })  # fmt: skip
        rows = await connection.execute(select(COVISITS.c.together))
        assert sorted(r for (r,) in rows) == [2, 2, 3, 3]

    async def test_a_refresh_replaces_the_previous_signals(
        self, connection: AsyncConnection, world: NbcWorld
    ) -> None:
        for visitor in ("a", "b"):
            await view(connection, world, "blog-seo", anonymous_id=visitor)
            await view(connection, world, "case-study", anonymous_id=visitor)
        await refresh(connection)
        assert set(await lifts(connection, world)) == {("blog-seo", "case-study"),
                                                     ("case-study", "blog-seo")}  # fmt: skip
        await refresh(connection, min_together=3)
        assert await lifts(connection, world) == {}

    async def test_the_answer_follows_the_lift_after_a_refresh(
        self,
        connection: AsyncConnection,
        world: NbcWorld,
        client: httpx.AsyncClient,
        app: Litestar,
    ) -> None:
        for visitor in ("a", "b", "c"):
            await view(connection, world, "blog-crm", anonymous_id=visitor)
            await view(connection, world, "onboarding", anonymous_id=visitor)
        await view(connection, world, "case-study", anonymous_id="d")
        await refresh(connection)
        app.state.nbc_snapshot.forget()
        response = await next_content(client, world, asset="blog-crm", k=1)
        item = response.json()["items"][0]
        assert item["asset"]["slug"] == "onboarding"
        assert item["components"]["covisitation"] == pytest.approx(1.0)
        assert "blog-crm" in item["reason"]


class TestClickThrough:
    async def test_impressions_and_clicks_per_slot_and_asset(
        self, connection: AsyncConnection, world: NbcWorld
    ) -> None:
        shown = {"slot": "sidebar", "assets": ["blog-seo", world.assets["case-study"], "gone"]}
        for visitor in ("a", "b", "c"):
            await view(connection, world, None, anonymous_id=visitor, event=SHOWN, properties=shown)
        await view(connection, world, None, anonymous_id="a", event=SHOWN,
                   properties={"slot": "footer", "assets": ["blog-seo"]})  # fmt: skip
        await view(connection, world, "blog-seo", anonymous_id="a", event=CLICKED,
                   properties={"slot": "sidebar", "asset": "blog-seo"})  # fmt: skip
        await view(connection, world, None, anonymous_id="a", event=CLICKED,
                   properties={"asset": "blog-seo"})  # no slot: not counted  # fmt: skip
        await refresh(connection)
        slug = {uuid.UUID(v): k for k, v in world.assets.items()}
        rows = await connection.execute(
            select(
                CLICK_THROUGH.c.slot,
                CLICK_THROUGH.c.asset_id,
                CLICK_THROUGH.c.shown,
                CLICK_THROUGH.c.clicked,
            )
        )
        assert {(s, slug[a]): (n, c) for s, a, n, c in rows} == {
            ("sidebar", "blog-seo"): (3, 1), ("sidebar", "case-study"): (3, 0),
            ("footer", "blog-seo"): (1, 0),
        }  # fmt: skip


class TestWorkerAndCommand:
    """On a database of their own: the worker and the command commit for real."""

    async def test_the_worker_refreshes_when_due_and_the_command_on_demand(
        self, tmp_path: Path
    ) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'signals.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                assets = [ContentAsset(slug=s, title=s, kind="blog_post", funnel_stage="attract")
                          for s in ("one", "two")]  # fmt: skip
                session.add_all(assets)
            now = utcnow()
            rows = [{"id": uuid.uuid4(), "occurred_at": now, "received_at": now,
                     "site_id": uuid.uuid4(), "message_id": f"m{n}", "type": "page",
                     "anonymous_id": f"v{n // 2}", "asset_id": assets[n % 2].id,
                     "properties": {}, "context": {}}
                    for n in range(4)]  # fmt: skip
            async with engine.begin() as connection:
                await insert_events(connection, rows)
            settings = Settings(database_url=url, worker_in_process=False)
            worker = Worker(engine, settings)
            assert await worker.nbc_step() == 0
            async with engine.begin() as connection:
                assert len((await connection.execute(select(COVISITS))).all()) == 2
                await connection.execute(COVISITS.delete())
            await worker.nbc_step()  # not due again for a minute
            async with engine.connect() as connection:
                assert (await connection.execute(select(COVISITS))).all() == []
        finally:
            await engine.dispose()
        env = {**os.environ, "INBOUND_DATABASE_URL": url, "INBOUND_LOG_LEVEL": "WARNING"}
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "inbound", "nbc", "refresh"], env=env,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "2 visitors, 2 co-visited pairs" in done.stdout
