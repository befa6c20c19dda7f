"""What captures keep in memory: changes through the same process count at once, another
process's changes within `INBOUND_CACHE_SECONDS`, and a lost database connection costs one
retryable answer, not a broken pool."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.app import create_app
from inbound.config import Settings
from tests.conftest import http_client
from tests.support.world import World, capture, get_lead, make_asset, make_persona

pytestmark = pytest.mark.committing

# Long enough that no test outlasts it, so what a test sees at once cannot come from expiry.
CACHE_SECONDS = 60.0
# Long enough that revoking a key and the next capture fit in it on a busy machine.
SHORT_CACHE_SECONDS = 2.0


@pytest.fixture
async def forms(settings: Settings, committing_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A second process of the service on the same database, where the forms post."""
    app = create_app(settings.model_copy(update={"cache_seconds": CACHE_SECONDS}))
    async with http_client(app) as client:
        yield client
    await app.state.engine.dispose()


@pytest.fixture
async def short_lived_forms(
    settings: Settings, committing_app: Litestar
) -> AsyncIterator[httpx.AsyncClient]:
    """Such a process keeping what captures read for two seconds."""
    app = create_app(settings.model_copy(update={"cache_seconds": SHORT_CACHE_SECONDS}))
    async with http_client(app) as client:
        yield client
    await app.state.engine.dispose()


async def revoke_the_site_key(client: httpx.AsyncClient, world: World) -> None:
    site = await client.get(f"/api/v1/sites/{world.site_id}", headers=world.admin)
    key_id = site.json()["keys"][0]["id"]
    revoked = await client.delete(f"/api/v1/api-keys/{key_id}", headers=world.admin)
    assert revoked.status_code == 204, revoked.text


class TestAnotherProcessesChanges:
    async def test_a_revoked_key_is_refused_once_the_cache_time_passed(
        self,
        committing_client: httpx.AsyncClient,
        short_lived_forms: httpx.AsyncClient,
        world: World,
    ) -> None:
        assert (await capture(short_lived_forms, world)).status_code == 201
        await revoke_the_site_key(committing_client, world)
        still_cached = await capture(short_lived_forms, world, email="soon@example.com")
        assert still_cached.status_code == 201, still_cached.text
        await asyncio.sleep(SHORT_CACHE_SECONDS + 0.1)
        refused = await capture(short_lived_forms, world, email="later@example.com")
        assert refused.status_code == 401, refused.text

    async def test_a_persona_deleted_elsewhere_costs_no_lead(
        self,
        committing_client: httpx.AsyncClient,
        forms: httpx.AsyncClient,
        world: World,
    ) -> None:
        persona = await make_persona(committing_client, world.admin, "it-director")
        tag = [{"persona": persona["id"], "relevance": 3}]
        await make_asset(committing_client, world.admin, slug="it-checklist", personas=tag)
        first = await capture(forms, world, asset="it-checklist")
        assert first.status_code == 201, first.text
        lead = await get_lead(committing_client, world, first.json()["contact_id"])
        assert lead["persona"]["id"] == persona["id"]
        deleted = await committing_client.delete(
            f"/api/v1/personas/{persona['id']}",
            params={"force": "true"},
            headers=world.admin,
        )
        assert deleted.status_code == 204, deleted.text
        # The capturing process still holds the persona; writing it would break a foreign key.
        answer = await capture(forms, world, asset="it-checklist", email="new@example.com")
        assert answer.status_code == 201, answer.text
        lead = await get_lead(committing_client, world, answer.json()["contact_id"])
        assert lead["persona"] is None

    async def test_an_asset_deleted_elsewhere_is_unknown_not_a_conflict(
        self,
        committing_client: httpx.AsyncClient,
        forms: httpx.AsyncClient,
        world: World,
    ) -> None:
        asset = await make_asset(
            committing_client, world.admin, slug="webinar",
            form_fields=[{"name": "company"}],
        )  # fmt: skip
        # Refused for the missing field, after the capturing process has read the asset.
        incomplete = await capture(forms, world, asset="webinar")
        assert incomplete.status_code == 422, incomplete.text
        deleted = await committing_client.delete(
            f"/api/v1/assets/{asset['id']}", headers=world.admin
        )
        assert deleted.status_code == 204, deleted.text
        answer = await capture(forms, world, asset="webinar", company="Acme")
        assert answer.status_code == 422, answer.text
        assert answer.json()["type"].endswith("unknown-asset")

    async def test_an_asset_created_elsewhere_is_captured_and_mapped_at_once(
        self,
        committing_client: httpx.AsyncClient,
        forms: httpx.AsyncClient,
        world: World,
    ) -> None:
        # The capturing process has read its mapping inputs before the asset existed.
        assert (await capture(forms, world)).status_code == 201
        persona = await make_persona(committing_client, world.admin, "it-director")
        await make_asset(
            committing_client,
            world.admin,
            slug="it-checklist",
            personas=[{"persona": persona["id"], "relevance": 3}],
        )
        answer = await capture(forms, world, asset="it-checklist", email="new@example.com")
        assert answer.status_code == 201, answer.text
        lead = await get_lead(committing_client, world, answer.json()["contact_id"])
        assert lead["persona"]["id"] == persona["id"]


class TestThisProcessesChanges:
    async def test_a_key_revoked_through_this_process_is_refused_at_once(
        self, forms: httpx.AsyncClient, world: World
    ) -> None:
        assert (await capture(forms, world)).status_code == 201
        await revoke_the_site_key(forms, world)
        refused = await capture(forms, world, email="later@example.com")
        assert refused.status_code == 401, refused.text


SHARED_REDIS_URL = "redis://127.0.0.1:6379/13"
CLOSED_REDIS_URL = "redis://127.0.0.1:1/0"


async def app_with(settings: Settings, **changes: object) -> Litestar:
    return create_app(settings.model_copy(update={"cache_seconds": 60.0, **changes}))


class TestSharedVersion:
    """With Redis, one process's change reaches every process as soon as it hears of it."""

    async def test_a_key_revoked_through_one_process_is_refused_by_all_within_moments(
        self, settings: Settings, committing_app: Litestar, world: World
    ) -> None:
        admin_app = await app_with(settings, redis_url=SHARED_REDIS_URL)
        forms_app = await app_with(settings, redis_url=SHARED_REDIS_URL)
        shared = forms_app.state.capture_reference.shared
        try:
            async with http_client(admin_app) as admin, http_client(forms_app) as forms:
                assert (await capture(forms, world)).status_code == 201
                # Listening: from now on the forms' process asks Redis nothing per capture.
                for _ in range(300):
                    if shared.hearing:
                        break
                    await asyncio.sleep(0.01)
                assert shared.hearing
                await revoke_the_site_key(admin, world)
                statuses = []
                for attempt in range(50):
                    response = await capture(forms, world, email=f"later{attempt}@example.com")
                    statuses.append(response.status_code)
                    if response.status_code == 401:
                        break
                    await asyncio.sleep(0.02)
                # Heard within a second at most, not after the cache's 60 s.
                assert statuses[-1] == 401, statuses
        finally:
            for app in (admin_app, forms_app):
                await app.state.capture_reference.close()
                await app.state.engine.dispose()

    async def test_with_redis_down_captures_go_on_and_this_process_still_follows_its_own(
        self, settings: Settings, committing_app: Litestar, world: World
    ) -> None:
        app = await app_with(settings, redis_url=CLOSED_REDIS_URL)
        try:
            async with http_client(app) as client:
                assert (await capture(client, world)).status_code == 201
                await revoke_the_site_key(client, world)
                refused = await capture(client, world, email="later@example.com")
                assert refused.status_code == 401, refused.text
        finally:
            await app.state.capture_reference.close()
            await app.state.engine.dispose()


class TestLostConnections:
    async def test_a_lost_connection_costs_one_retryable_answer(
        self, engine: AsyncEngine, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no server to lose")
        # Several pooled connections, all of which the database then drops, as in a restart;
        # the captures also fill the cache, so the next capture's first statement is the
        # lean transaction's own.
        answers = await asyncio.gather(
            *(capture(committing_client, world, email=f"warm{i}@example.com") for i in range(4))
        )
        assert {a.status_code for a in answers} == {201}
        async with engine.connect() as connection:
            await connection.execute(
                text(
                    # Waits until each backend is gone, so none answers the next capture.
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        try:
            lost = await capture(committing_client, world, email="during@example.com")
            assert lost.status_code == 503, lost.text
            assert lost.headers["retry-after"] == "1"
            assert lost.json()["type"].endswith("retry")
            again = [await capture(committing_client, world, email=f"after{i}@example.com")
                     for i in range(4)]  # fmt: skip
            assert [a.status_code for a in again] == [201] * 4
        finally:
            await engine.dispose()  # the tests' own pooled connections were dropped too
