"""The site most tracking tests send events for; and, for the identity and engagement tests,
a site with its gated e-book."""

import httpx
import pytest

from tests.conftest import Headers
from tests.leads.helpers import World, make_asset, make_world
from tests.tracking.helpers import Site, make_site


@pytest.fixture
async def site(client: httpx.AsyncClient, admin: Headers) -> Site:
    return await make_site(client, admin)


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    world = await make_world(client, admin)
    await make_asset(client, admin)
    return world
