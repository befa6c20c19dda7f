"""The world and the sales key of the sales API tests."""

import httpx
import pytest

from inbound.auth.scopes import Scope
from tests.conftest import Headers, KeyMaker
from tests.leads.sales_api.helpers import CIO_RULES
from tests.support.world import World, make_asset, make_persona
from tests.support.world import make_world as make_site


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    """A site, the persona `cio`, and an e-book tagged highly to it."""
    world = await make_site(client, admin)
    await make_persona(client, admin, "cio", rules=CIO_RULES)
    await make_asset(client, admin, personas=[{"persona": "cio", "relevance": 3}])
    return world


@pytest.fixture
async def sales(make_key: KeyMaker) -> Headers:
    return await make_key(Scope.LEADS_WRITE, name="sales")
