"""The world of the background re-mapping tests."""

import httpx
import pytest

from tests.conftest import Headers
from tests.leads.remapping.helpers import CIO_RULES
from tests.support.world import World, make_asset, make_persona, make_world


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    """A site, the personas `cio` and `cfo`, and an untagged e-book."""
    world = await make_world(client, admin)
    await make_persona(client, admin, "cio", rules=CIO_RULES)
    await make_persona(
        client, admin, "cfo", rules=[{"field": "job_title", "operator": "contains_any",
                                      "values": ["CFO"]}],
    )  # fmt: skip
    await make_asset(client, admin)
    return world
