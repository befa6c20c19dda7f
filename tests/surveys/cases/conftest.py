import pytest

from tests.support.fixtures import WorldClient
from tests.support.world import World
from tests.surveys.cases.helpers import survey_world


@pytest.fixture
async def world(world_client: WorldClient) -> World:
    """What every case test stands on; committed for real in a committing test."""
    return await survey_world(*world_client)
