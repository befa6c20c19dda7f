"""What the identity and engagement tests stand on: a site and its gated e-book."""

import httpx
import pytest

from tests.conftest import Headers
from tests.leads.helpers import World, make_asset, make_world


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    world = await make_world(client, admin)
    await make_asset(client, admin)
    return world
