"""The site most tracking tests send events for; and, for the identity and engagement tests,
a site with its gated e-book."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from tests.conftest import Headers
from tests.support.world import World
from tests.tracking.helpers import Site, make_site
from tests.tracking.identity_helpers import Visitors


@pytest.fixture
async def site(client: httpx.AsyncClient, admin: Headers) -> Site:
    return await make_site(client, admin)


@pytest.fixture
def visitors(
    client: httpx.AsyncClient,
    world: World,
    db: AsyncSession,
    connection: AsyncConnection,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> Visitors:
    return Visitors(client, world, db, connection, sessionmaker)
