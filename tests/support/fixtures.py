"""The world most API tests stand on, as fixtures every test package can ask for."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.app import create_app
from inbound.config import Settings
from tests.support.world import Headers, World, make_ebook_world

WorldClient = tuple[httpx.AsyncClient, Headers]
AppMaker = Callable[..., AbstractAsyncContextManager[Litestar]]


def changed(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with these changes, read as the environment's would be (a key becomes a
    secret)."""
    return type(settings)(**(settings.model_dump() | changes))


@pytest.fixture
def world_client(request: pytest.FixtureRequest) -> WorldClient:
    """The client and admin key a world is built with: in a `committing` test, those that
    commit for real, so that requests racing on other connections see the world too."""
    committing = request.node.get_closest_marker("committing") is not None
    prefix = "committing_" if committing else ""
    client = request.getfixturevalue(f"{prefix}client")
    admin = request.getfixturevalue(f"{prefix}admin")
    return client, admin


@pytest.fixture
async def world(world_client: WorldClient) -> World:
    """A site and its gated e-book (a module may define its own world)."""
    return await make_ebook_world(*world_client)


@pytest.fixture
def app_with(base_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> AppMaker:
    """Apps of the test's own on changed settings, in the test's transaction: several at once
    stand for several processes."""

    @asynccontextmanager
    async def make(**changes: Any) -> AsyncIterator[Litestar]:
        app = create_app(changed(base_settings, **changes))
        app.state.sessionmaker = sessionmaker
        try:
            yield app
        finally:
            await app.state.capture_reference.close()
            await app.state.engine.dispose()

    return make
