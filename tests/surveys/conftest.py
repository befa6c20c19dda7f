import pytest

from tests.support.fixtures import WorldClient
from tests.support.world import World
from tests.surveys.helpers import survey_site


@pytest.fixture
async def world(world_client: WorldClient) -> World:
    """A site, its e-book and the NPS survey `support-nps` (a module may define its own)."""
    return await survey_site(*world_client)
