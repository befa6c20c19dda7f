"""A database set apart: one in another time zone still talks UTC, and the worker logs once
through an outage, schema missing then there."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound import migrate
from inbound.config import Settings
from inbound.db import create_engine
from inbound.worker import Worker
from tests.conftest import _base_url, is_sqlite
from tests.outage.helpers import logged, outage_url, tracebacks
from tests.support.live_server import _drop_database, _fresh_database


class TestSessionsAreInUtc:
    async def test_a_database_in_another_time_zone_still_talks_utc(
        self, database_url: str, engine: AsyncEngine
    ) -> None:
        if is_sqlite(database_url):
            pytest.skip("SQLite has no session time zone")
        name = str(make_url(database_url).database)
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f"ALTER DATABASE \"{name}\" SET timezone = 'America/New_York'"))
        fresh = create_engine(database_url)
        unpinned = await asyncpg.connect(make_url(database_url).set(drivername="postgresql")
                                         .render_as_string(False))  # fmt: skip
        try:
            assert await unpinned.fetchval("SHOW timezone") == "America/New_York"
            async with fresh.connect() as conn:
                zone = (await conn.execute(text("SHOW timezone"))).scalar_one()
                midnight = (
                    await conn.execute(text("SELECT '2026-03-01'::date::timestamptz::text"))
                ).scalar_one()
        finally:
            await unpinned.close()
            await fresh.dispose()
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'ALTER DATABASE "{name}" RESET timezone'))
        assert zone == "UTC"
        assert midnight == "2026-03-01 00:00:00+00"


@pytest.fixture
def empty_database(worker_id: str, tmp_path: Path) -> Iterator[str]:
    """A database of the kind under test with no schema in it."""
    name = f"inbound_unmigrated_{worker_id}"
    url = _fresh_database(_base_url(), name, tmp_path)
    yield url
    if not is_sqlite(url):
        asyncio.run(_drop_database(_base_url(), name))


@pytest.mark.usefixtures("json_logs")
class TestWorkerThroughAnOutage:
    async def test_logs_once_when_the_schema_is_missing_and_once_when_it_is_there(
        self, empty_database: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings = Settings(
            database_url=empty_database, worker_in_process=False, worker_poll_seconds=0.05
        )
        engine = create_engine(empty_database)
        worker = Worker(engine, settings)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        try:
            await asyncio.sleep(1.0)
            down = logged(caplog, "database unavailable; retrying with backoff")
            await asyncio.to_thread(migrate.upgrade, empty_database)
            for _ in range(100):
                if logged(caplog, "database available again"):
                    break
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await running
            await worker.close()
            await engine.dispose()
        assert down == 1
        assert logged(caplog, "database available again") == 1
        assert tracebacks(caplog) == []

    async def test_an_unreachable_database_is_one_line_and_the_waits_grow(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        url = outage_url(tmp_path)
        settings = Settings(database_url=url, worker_in_process=False, worker_poll_seconds=0.05)
        engine = create_engine(url)
        worker = Worker(engine, settings)
        stop = asyncio.Event()
        connects = 0

        dialect = engine.sync_engine.dialect
        connect = dialect.connect

        def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal connects
            connects += 1
            return connect(*args, **kwargs)

        monkeypatch.setattr(dialect, "connect", counted)
        running = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(1.5)
        stop.set()
        await running
        await worker.close()
        await engine.dispose()
        assert logged(caplog, "database unavailable; retrying with backoff") == 1
        assert tracebacks(caplog) == []
        # 0.05 s, then 0.1, 0.2, 0.4, 0.8: six tries in 1.5 s, where a steady poll makes 30;
        # and one each of the jobs that wait minutes between passes (churn, the day tables).
        assert 2 <= connects <= 8
