"""Test ground: one migrated database per xdist worker, one rolled-back transaction per test.

`INBOUND_TEST_DATABASE_URL` picks the database: PostgreSQL (the default, on the local
server) or SQLite (`sqlite+aiosqlite:///PATH`). Each worker gets its own database, built by
the real migrations. Each test runs inside an outer transaction that is rolled back at the
end; the app's sessions join it through SAVEPOINTs, so the production commit and rollback
path runs unchanged.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from inbound import migrate
from inbound.app import create_app
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.config import Settings
from inbound.db import TrackedSession, create_engine
from inbound.models import metadata
from tests.support.browser import browser, page, viewport
from tests.support.fixtures import app_with, changed, world, world_client
from tests.support.shared_app import SharedApp
from tests.support.webhooks import receiver, webhook_worker
from tests.support.world import Headers

DEFAULT_TEST_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_test"

KeyMaker = Callable[..., Awaitable[Headers]]


def pytest_report_header() -> str:
    return f"database: {_base_url()}"


def _base_url() -> str:
    return os.environ.get("INBOUND_TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """Unique per xdist worker and per run, so that concurrent runs never share a database."""
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    return f"{worker}_{os.getpid()}"


@pytest.fixture(scope="session")
def database_url(worker_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this worker, migrated to head."""
    base = make_url(_base_url())
    if is_sqlite(base.drivername):
        path = tmp_path_factory.mktemp("db") / f"inbound_test_{worker_id}.db"
        url = base.set(database=str(path)).render_as_string(hide_password=False)
    else:
        name = f"{base.database or 'inbound_test'}_{worker_id}"
        url = base.set(database=name).render_as_string(hide_password=False)
        admin = base.set(database="postgres").render_as_string(hide_password=False)
        asyncio.run(_recreate_postgres_database(admin, name))
    migrate.upgrade(url)
    yield url
    if not is_sqlite(base.drivername):
        admin = base.set(database="postgres").render_as_string(hide_password=False)
        asyncio.run(_drop_postgres_database(admin, name))


async def _recreate_postgres_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def _drop_postgres_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection whose outer transaction is rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield conn
        if outer.is_active:
            await outer.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """The app's sessionmaker, joined to the test's outer transaction through SAVEPOINTs."""
    return async_sessionmaker(
        bind=connection,
        class_=AsyncSession,
        sync_session_class=TrackedSession,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def db(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for arranging and checking data, in the same transaction as the app."""
    async with sessionmaker() as session:
        yield session


@pytest.fixture(scope="session")
def base_settings(database_url: str) -> Settings:
    # Tests run the webhook worker themselves, when they want it.
    return Settings(
        database_url=database_url, log_json=True, log_level="WARNING", worker_in_process=False
    )


@pytest.fixture
def settings(request: pytest.FixtureRequest, base_settings: Settings) -> Settings:
    """The settings of the test's app: the base ones with the changes its `settings` marks
    make, the closest mark winning. A test whose settings differ gets an app of its own."""
    changes: dict[str, Any] = {}
    for mark in reversed(list(request.node.iter_markers("settings"))):
        changes |= mark.kwargs
    return changed(base_settings, **changes) if changes else base_settings


@pytest.fixture(scope="session")
async def shared_app(base_settings: Settings) -> AsyncIterator[SharedApp]:
    """One app for every test on the base settings: building it costs more than most tests."""
    app = create_app(base_settings)
    yield SharedApp(app, dict(app.state.dict()))
    await app.state.engine.dispose()


@pytest.fixture
async def app(
    settings: Settings,
    base_settings: Settings,
    shared_app: SharedApp,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Litestar]:
    """The app, its sessions joined to the test's transaction: the shared one, reset, unless
    the test's settings differ."""
    shared = settings == base_settings
    if shared:
        app = await shared_app.reset()
    else:
        app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    yield app
    # Events still held are stored in the test's transaction, before it is rolled back.
    await app.state.event_writer.close()
    if not shared:
        await app.state.engine.dispose()


def http_client(app: Litestar) -> httpx.AsyncClient:
    """An HTTP client calling ``app`` in-process, through the whole ASGI stack."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as client:
        yield client


@pytest.fixture
def make_key(sessionmaker: async_sessionmaker[AsyncSession]) -> KeyMaker:
    """Issue a key with these scopes and return the headers that send it."""

    async def make(*scopes: Scope, name: str = "test") -> Headers:
        async with sessionmaker() as session:
            _, plain = await ApiKeyService(session).issue(name=name, scopes=scopes)
            await session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


@pytest.fixture
async def admin(make_key: KeyMaker) -> Headers:
    return await make_key(Scope.ADMIN, name="admin")


@pytest.fixture
async def editor(make_key: KeyMaker) -> Headers:
    return await make_key(Scope.CONTENT_WRITE, name="editor")


@pytest.fixture
async def reader(make_key: KeyMaker) -> Headers:
    return await make_key(Scope.CONTENT_READ, name="reader")


# Tests that need commits seen by other connections (races between requests).


@pytest.fixture
async def committing_app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Litestar]:
    """The app on its own pool, committing for real; every table is emptied afterwards."""
    app = create_app(settings)
    yield app
    await app.state.engine.dispose()
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())


@pytest.fixture
async def committing_client(committing_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(committing_app) as client:
        yield client


@pytest.fixture
async def committing_admin(committing_app: Litestar) -> Headers:
    async with committing_app.state.sessionmaker() as session:
        _, plain = await ApiKeyService(session).issue(name="admin", scopes=[Scope.ADMIN])
        await session.commit()
    return {"Authorization": f"Bearer {plain}"}


ROOT = Path(__file__).resolve().parent.parent

# Shared fixtures defined elsewhere, registered here for every test package.
__all__ = [
    "Headers",
    "KeyMaker",
    "app_with",
    "browser",
    "page",
    "receiver",
    "viewport",
    "webhook_worker",
    "world",
    "world_client",
]
