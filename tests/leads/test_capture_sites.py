"""`POST /api/v1/captures` with JSON: site keys, and assets and their forms."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.scopes import Scope
from inbound.leads.models import Capture, Contact
from tests.conftest import Headers, KeyMaker
from tests.leads.helpers import DELIVERY_URL, NOTHING_WRITTEN, count_rows, get_capture, written
from tests.problems import assert_problem, error_fields
from tests.support.world import CAPTURES, World, capture, make_asset, make_world


class TestSiteKeys:
    async def test_the_public_key_in_the_authorization_header_is_accepted(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await capture(client, world)
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == {"contact_id", "capture_id", "delivery_url"}
        assert body["delivery_url"] == DELIVERY_URL
        assert response.headers["location"] == f"{CAPTURES}/{body['capture_id']}"
        assert "idempotent-replayed" not in response.headers

    async def test_the_location_reads_the_stored_capture(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await capture(client, world)
        stored = await client.get(response.headers["location"], headers=world.admin)
        assert stored.status_code == 200
        assert stored.json()["id"] == response.json()["capture_id"]
        assert stored.json()["contact_id"] == response.json()["contact_id"]
        assert stored.json()["site_id"] == world.site_id

    async def test_the_public_key_may_come_as_a_key_field(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        body = {"_key": world.public_key, "asset": "scoring-ebook", "email": "ana@example.com"}
        response = await client.post(CAPTURES, json=body)
        assert response.status_code == 201, response.text
        stored = await get_capture(client, world, response.json()["capture_id"])
        assert "_key" not in stored["fields"]
        assert world.public_key not in str(stored)

    async def test_a_missing_key_is_401_and_stores_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await client.post(
            CAPTURES, json={"asset": "scoring-ebook", "email": "ana@example.com"}
        )
        problem = assert_problem(response, 401)
        assert problem["type"] == "urn:inbound:problem:unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert await count_rows(db, Contact) == 0

    @pytest.mark.parametrize(
        "authorization",
        ["Bearer inb_pk_notarealkeyatall", "Bearer ", "Basic dXNlcjpwYXNz", "inb_pk_nobearer"],
    )
    async def test_an_unknown_or_malformed_key_is_401(
        self, client: httpx.AsyncClient, world: World, authorization: str
    ) -> None:
        response = await capture(client, world, headers={"Authorization": authorization})
        assert_problem(response, 401)

    @pytest.mark.parametrize("scopes", [(Scope.INGEST,), (Scope.ADMIN,), (Scope.LEADS_WRITE,)])
    async def test_a_secret_key_without_a_site_is_401(
        self,
        client: httpx.AsyncClient,
        world: World,
        make_key: KeyMaker,
        db: AsyncSession,
        scopes: tuple[Scope, ...],
    ) -> None:
        secret = await make_key(*scopes, name="server")
        assert secret["Authorization"].startswith("Bearer inb_sk_")
        response = await capture(client, world, headers=secret)
        assert_problem(response, 401)
        assert await count_rows(db, Capture) == 0

    async def test_a_revoked_key_is_401_and_its_replacement_works(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        site = (await client.get(f"/api/v1/sites/{world.site_id}", headers=world.admin)).json()
        new = await client.post(f"/api/v1/sites/{world.site_id}/keys", headers=world.admin)
        assert new.status_code == 201
        revoked = await client.delete(
            f"/api/v1/api-keys/{site['keys'][0]['id']}", headers=world.admin
        )
        assert revoked.status_code == 204

        refused = await capture(client, world)
        assert_problem(refused, 401)
        as_field = await client.post(
            CAPTURES,
            json={"_key": world.public_key, "asset": "scoring-ebook", "email": "a@example.com"},
        )
        assert_problem(as_field, 401)
        assert await count_rows(db, Capture) == 0
        replacement = World(world.site_id, new.json()["key"], world.admin)
        assert (await capture(client, replacement)).status_code == 201


class TestAsset:
    async def test_the_asset_may_be_named_by_id(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        world = await make_world(client, admin)
        asset = await make_asset(client, admin)
        response = await capture(client, world, asset=asset["id"])
        assert response.status_code == 201, response.text
        stored = await get_capture(client, world, response.json()["capture_id"])
        assert stored["asset_id"] == asset["id"]

    @pytest.mark.parametrize("asset", ["no-such-asset", "0190c6a0-0000-7000-8000-000000000000"])
    async def test_an_unknown_asset_is_422_naming_asset(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, asset: str
    ) -> None:
        response = await capture(client, world, asset=asset)
        assert assert_problem(response, 422)["type"] == "urn:inbound:problem:unknown-asset"
        assert error_fields(response) == ["asset"]
        assert await written(db) == NOTHING_WRITTEN

    async def test_each_missing_required_field_is_listed(
        self, client: httpx.AsyncClient, admin: Headers, db: AsyncSession
    ) -> None:
        world = await make_world(client, admin)
        form = [
            {"name": "company"},
            {"name": "job_title", "required": True},
            {"name": "phone", "required": False},
            {"name": "budget"},
            {"name": "consent"},
        ]
        await make_asset(client, admin, form_fields=form)
        response = await capture(client, world, company="  ", fields={"budget": ""})
        assert assert_problem(response, 422)["type"] == "urn:inbound:problem:missing-fields"
        assert sorted(error_fields(response)) == ["budget", "company", "consent", "job_title"]
        assert await count_rows(db, Contact) == 0

        answered = await capture(
            client, world, company="Acme", job_title="CTO", fields={"budget": "10k"},
            consent=True, consent_text_version="v1",
        )  # fmt: skip
        assert answered.status_code == 201, answered.text
