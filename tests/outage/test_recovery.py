"""A database that restarts or comes back: connections killed under the pool, sessions in UTC,
and the worker through an outage, never a 500 with a traceback."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound import migrate
from inbound.config import Settings
from inbound.db import create_engine
from inbound.worker import Worker
from tests.conftest import Headers, _base_url, http_client, is_sqlite
from tests.outage.helpers import (
    SAMPLE_POSTS,
    WITHOUT_DATABASE,
    assert_unavailable,
    every_get_path,
    logged,
    outage_url,
    tracebacks,
)
from tests.support.live_server import _drop_database, _fresh_database


async def terminate_backends(admin_engine: AsyncEngine, database: str) -> int:
    """Kill every session on ``database`` but this one, as a restart would."""
    async with admin_engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        result = await conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": database},
        )
        return int(result.scalar_one())


@dataclass(frozen=True)
class Server:
    """The PostgreSQL server under the test: an engine on its `postgres` database, and the name
    of the test's own database."""

    engine: AsyncEngine
    database: str


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[Server]:
    if is_sqlite(database_url):
        pytest.skip("SQLite has no server sessions to kill")
    url = make_url(database_url)
    admin_engine = create_engine(url.set(database="postgres").render_as_string(False))
    yield Server(admin_engine, str(url.database))
    await admin_engine.dispose()


@pytest.mark.committing
class TestConnectionsKilledUnderThePool:
    async def test_no_request_gets_a_500_and_the_pool_recovers(
        self,
        committing_app: Litestar,
        committing_admin: Headers,
        server: Server,
        engine: AsyncEngine,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        admin_engine, name = server.engine, server.database
        paths = [p for p in every_get_path(committing_app) if not WITHOUT_DATABASE.match(p)]
        async with http_client(committing_app) as client:
            # Fill the pool with several live connections, then kill them all.
            await asyncio.gather(
                *(client.get("/api/v1/personas", headers=committing_admin) for _ in range(8))
            )
            assert await terminate_backends(admin_engine, name) > 0
            await engine.dispose()  # the test's own pool lost its connections too
            # At once, so that several requests meet a dead connection, not only the first.
            answers = list(
                await asyncio.gather(*(client.get(p, headers=committing_admin) for p in paths))
            )
            for path, body in SAMPLE_POSTS:
                answers.append(await client.post(path, json=body, headers=committing_admin))
            after = await client.get("/api/v1/personas", headers=committing_admin)
        assert [
            a.status_code for a in answers if a.status_code >= 500 and a.status_code != 503
        ] == []
        lost = [a for a in answers if a.status_code == 503]
        assert lost, "killing the pool's connections went unnoticed"
        for answer in lost:
            assert_unavailable(answer)
        assert after.status_code == 200
        assert tracebacks(caplog) == []

    async def test_a_database_refusing_connections_answers_503_until_it_is_back(
        self,
        committing_app: Litestar,
        committing_admin: Headers,
        server: Server,
        engine: AsyncEngine,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        admin_engine, name = server.engine, server.database
        try:
            async with http_client(committing_app) as client:
                assert (await client.get("/ready")).status_code == 200
                await allow_connections(admin_engine, name, allowed=False)
                await terminate_backends(admin_engine, name)
                during = [
                    await client.get("/api/v1/personas", headers=committing_admin),
                    await client.get("/api/v1/leads", headers=committing_admin),
                    await client.post(
                        SAMPLE_POSTS[0][0], json=SAMPLE_POSTS[0][1], headers=committing_admin
                    ),
                ]
                ready_during = await client.get("/ready")
                await allow_connections(admin_engine, name, allowed=True)
                after = await client.get("/api/v1/personas", headers=committing_admin)
        finally:
            await allow_connections(admin_engine, name, allowed=True)
            await engine.dispose()
        for answer in during:
            assert_unavailable(answer)
        assert ready_during.status_code == 503
        assert after.status_code == 200
        assert tracebacks(caplog) == []


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


async def allow_connections(admin_engine: AsyncEngine, database: str, *, allowed: bool) -> None:
    async with admin_engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(
            text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        )


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
