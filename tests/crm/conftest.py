"""The CRM sync against the HubSpot emulator, through the real `hubspot-api-client`."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.config import Settings
from inbound.hubspot_emulator import Emulator, Faults, RateLimit
from inbound.worker import Worker
from tests.crm.helpers import Crm
from tests.support.world import World


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    running = Emulator().start()
    yield running
    running.stop()


@pytest.fixture
def portal(emulator: Emulator) -> Emulator:
    """The emulator as a new, empty HubSpot portal without faults."""
    emulator.reset()
    emulator.faults = Faults(seed=7)
    emulator.rate_limit = RateLimit()
    emulator.webhooks.target = None
    return emulator


@pytest.fixture
def settings(settings: Settings, portal: Emulator) -> Settings:
    """The test settings with the sync on, pointed at the emulator, retrying within a test's
    patience."""
    return settings.model_copy(
        update={
            "hubspot_token": SecretStr(portal.token), "hubspot_url": portal.url,
            "hubspot_client_secret": SecretStr(portal.webhooks.client_secret),
            "crm_retry_base_seconds": 0.05, "crm_retry_max_seconds": 0.2,
            "crm_lease_seconds": 2.0, "crm_timeout_seconds": 2.0,
        }
    )  # fmt: skip


@pytest.fixture
async def worker(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Worker]:
    running = Worker(engine, settings)
    yield running
    await running.close()


@pytest.fixture
def crm(
    committing_client: httpx.AsyncClient,
    world: World,
    worker: Worker,
    portal: Emulator,
    engine: AsyncEngine,
) -> Crm:
    return Crm(committing_client, world, worker, portal, engine)
