"""The world and the sales key of the `/api/v1/leads/{id}` tests."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from tests.conftest import Headers
from tests.leads.lead_api.helpers import CFO_RULES, CIO_RULES, SalesKey
from tests.support.world import World, make_asset, make_persona, make_world


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    """A site, the personas `cio` and `cfo`, and an e-book tagged highly to `cio`."""
    world = await make_world(client, admin)
    await make_persona(client, admin, "cio", rules=CIO_RULES)
    await make_persona(client, admin, "cfo", rules=CFO_RULES)
    await make_asset(client, admin, personas=[{"persona": "cio", "relevance": 3}])
    return world


@pytest.fixture
async def sales(sessionmaker: async_sessionmaker[AsyncSession]) -> SalesKey:
    async with sessionmaker() as session:
        key, plain = await ApiKeyService(session).issue(name="sales", scopes=[Scope.LEADS_WRITE])
        await session.commit()
    return SalesKey(headers={"Authorization": f"Bearer {plain}"}, actor=f"key:{key.id}")
