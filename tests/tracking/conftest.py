"""The site most tracking tests send events for."""

import httpx
import pytest

from tests.conftest import Headers
from tests.tracking.helpers import Site, make_site


@pytest.fixture
async def site(client: httpx.AsyncClient, admin: Headers) -> Site:
    return await make_site(client, admin)
