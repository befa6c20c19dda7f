"""Retention: months past it leave whole on PostgreSQL, rows on SQLite; message ids leave
after 48 hours; the worker does it hourly and `inbound tracking prune` on demand."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col

from inbound.config import Settings
from inbound.tracking.models import TrackingEvent, TrackingMessage
from inbound.tracking.repository import MESSAGES, insert_events
from inbound.tracking.retention import prune
from inbound.worker import Worker
from tests.cli.helpers import run_async
from tests.conftest import _base_url, is_sqlite
from tests.tracking.test_writer import row

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=395)  # back to 2025-11-03 12:00


async def put(connection: AsyncConnection, *times: datetime) -> None:
    await insert_events(connection, [row(at) for at in times])


async def times(connection: AsyncConnection) -> list[datetime]:
    result = await connection.execute(
        select(col(TrackingEvent.occurred_at)).order_by(col(TrackingEvent.occurred_at))
    )
    return [at.astimezone(UTC) for (at,) in result]


class TestPrune:
    async def test_old_events_go_and_recent_ones_stay(self, connection: AsyncConnection) -> None:
        october = datetime(2025, 10, 20, tzinfo=UTC)  # all of October is past the retention
        early_november = datetime(2025, 11, 1, tzinfo=UTC)  # past it, in a month that is not
        late_november = datetime(2025, 11, 20, tzinfo=UTC)
        recent = datetime(2026, 11, 30, tzinfo=UTC)
        await put(connection, october, early_november, late_november, recent)
        pruned = await prune(connection, NOW, RETENTION)
        if is_sqlite(_base_url()):
            assert pruned.events == 2
            assert await times(connection) == [late_november, recent]
        else:
            # A month leaves whole, once every day of it is past the retention.
            assert pruned.months == ["tracking_events_y2025m10"]
            assert await times(connection) == [early_november, late_november, recent]
            left = await connection.execute(
                text("SELECT count(*) FROM pg_class WHERE relname = 'tracking_events_y2025m10'")
            )
            assert left.scalar_one() == 0

    async def test_message_ids_older_than_48_hours_go(self, connection: AsyncConnection) -> None:
        site = row()["site_id"]
        await connection.execute(insert(MESSAGES), [
            {"site_id": site, "message_id": "old", "received_at": NOW - timedelta(hours=49)},
            {"site_id": site, "message_id": "new", "received_at": NOW - timedelta(hours=47)},
        ])  # fmt: skip
        pruned = await prune(connection, NOW, RETENTION)
        assert pruned.messages == 1
        left = await connection.execute(select(col(TrackingMessage.message_id)))
        assert [message_id for (message_id,) in left] == ["new"]


@pytest.fixture
async def emptied(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The worker and the command commit: the events tables are emptied afterwards."""
    yield engine
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM tracking_events"))
        await conn.execute(text("DELETE FROM tracking_messages"))


class TestWorkerAndCommand:
    async def test_the_worker_prunes_hourly(self, emptied: AsyncEngine, settings: Settings) -> None:
        old = datetime.now(UTC) - timedelta(days=500)
        async with emptied.begin() as conn:
            await put(conn, old, old + timedelta(days=1), datetime.now(UTC))
        worker = Worker(emptied, settings.model_copy(update={"tracking_retention_days": 30}))
        try:
            assert await worker.retention_step() >= 1
            assert await worker.retention_step() == 0  # not again within the hour
        finally:
            await worker.close()
        async with emptied.connect() as conn:
            count = await conn.execute(select(func.count()).select_from(TrackingEvent))
            assert count.scalar_one() == 1

    async def test_the_command(
        self, emptied: AsyncEngine, database_url: str, tmp_path: Path
    ) -> None:
        old = datetime.now(UTC) - timedelta(days=500)
        async with emptied.begin() as conn:
            await put(conn, old, datetime.now(UTC))
        result = await run_async("tracking", "prune", database_url=database_url, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "months dropped" in result.stdout
        async with emptied.connect() as conn:
            count = await conn.execute(select(func.count()).select_from(TrackingEvent))
            assert count.scalar_one() == 1
