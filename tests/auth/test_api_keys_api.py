"""`/api/v1/api-keys`: admins issue, list and revoke server-side keys."""

import hashlib
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.auth.helpers import API_KEYS, bearer, create_key, list_ids
from tests.conftest import Headers
from tests.problems import assert_problem


class TestCreateApiKey:
    async def test_answers_201_with_the_key_once_and_its_location(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        response = await client.post(
            API_KEYS, json={"name": "content team", "scopes": ["content:write"]}, headers=admin
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["key"].startswith("inb_sk_")
        assert len(body["key"]) > 40
        assert body["prefix"] == body["key"][: len(body["prefix"])]
        assert 0 < len(body["prefix"]) < len(body["key"])
        assert body["name"] == "content team"
        assert body["scopes"] == ["content:write"]
        assert body["site_id"] is None
        assert body["revoked_at"] is None
        assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")
        assert response.headers["location"] == f"{API_KEYS}/{body['id']}"

        again = await client.get(response.headers["location"], headers=admin)
        assert again.status_code == 200
        assert again.json()["id"] == body["id"]
        assert "key" not in again.json()

    async def test_each_key_is_different(self, client: httpx.AsyncClient, admin: Headers) -> None:
        first = await create_key(client, admin, name="same")
        second = await create_key(client, admin, name="same")

        assert first["key"] != second["key"]
        assert first["id"] != second["id"]

    async def test_the_key_works_at_once_for_its_scopes_only(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        created = await create_key(client, admin, "content:read")

        read = await client.get("/api/v1/personas", headers=bearer(created["key"]))
        write = await client.post(
            "/api/v1/personas", json={"name": "CFO"}, headers=bearer(created["key"])
        )
        keys = await client.get(API_KEYS, headers=bearer(created["key"]))

        assert read.status_code == 200, read.text
        assert write.status_code == 403
        assert keys.status_code == 403

    async def test_an_admin_key_made_here_can_manage_keys(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        created = await create_key(client, admin, "admin")

        response = await client.get(API_KEYS, headers=bearer(created["key"]))

        assert response.status_code == 200

    async def test_scopes_are_deduplicated_and_sorted(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        created = await create_key(
            client, admin, "reports:read", "content:write", "content:write", "leads:read"
        )

        assert created["scopes"] == ["content:write", "leads:read", "reports:read"]

    async def test_only_the_sha256_hash_is_stored(
        self, client: httpx.AsyncClient, admin: Headers, db: AsyncSession
    ) -> None:
        created = await create_key(client, admin, "content:read")
        plain: str = created["key"]
        digest = hashlib.sha256(plain.encode()).hexdigest()

        rows = (await db.execute(text("SELECT * FROM api_keys"))).mappings().all()

        [row] = [r for r in rows if r["key_hash"] == digest]
        assert plain.startswith(row["prefix"])
        for stored in rows:
            for column, value in stored.items():
                assert plain not in str(value), f"column {column} holds the plain key"


class TestReadApiKeys:
    async def test_list_and_get_never_show_the_key_or_its_hash(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        created = await create_key(client, admin, "leads:write")
        key_hash = hashlib.sha256(created["key"].encode()).hexdigest()

        listed = await client.get(API_KEYS, headers=admin)
        one = await client.get(f"{API_KEYS}/{created['id']}", headers=admin)

        assert listed.status_code == 200
        assert one.status_code == 200
        for response in (listed, one):
            assert created["key"] not in response.text
            assert key_hash not in response.text
        items = listed.json()["items"]
        assert created["id"] in [item["id"] for item in items]
        for item in [*items, one.json()]:
            assert "key" not in item
            assert "key_hash" not in item
        assert one.json()["scopes"] == ["leads:write"]
        assert one.json()["prefix"] == created["prefix"]

    async def test_an_unknown_key_is_404(self, client: httpx.AsyncClient, admin: Headers) -> None:
        response = await client.get(f"{API_KEYS}/{uuid.uuid4()}", headers=admin)

        assert_problem(response, 404)


class TestRevokeApiKey:
    async def test_revoked_key_gets_401_at_once(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        created = await create_key(client, admin, "content:read")
        assert (await client.get("/api/v1/personas", headers=bearer(created["key"]))).is_success

        response = await client.delete(f"{API_KEYS}/{created['id']}", headers=admin)

        assert response.status_code == 204
        assert response.content == b""
        after = await client.get("/api/v1/personas", headers=bearer(created["key"]))
        assert after.status_code == 401
        assert "www-authenticate" in after.headers

    async def test_revoked_key_leaves_the_list_unless_asked(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        kept = await create_key(client, admin, name="kept")
        revoked = await create_key(client, admin, name="revoked")
        await client.delete(f"{API_KEYS}/{revoked['id']}", headers=admin)

        live = await list_ids(client, admin)
        every = await list_ids(client, admin, include_revoked="true")
        one = await client.get(f"{API_KEYS}/{revoked['id']}", headers=admin)

        assert kept["id"] in live
        assert revoked["id"] not in live
        assert {kept["id"], revoked["id"]} <= set(every)
        assert one.status_code == 200
        assert one.json()["revoked_at"] is not None

    async def test_revoking_twice_is_harmless_and_keeps_the_first_time(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        created = await create_key(client, admin)
        await client.delete(f"{API_KEYS}/{created['id']}", headers=admin)
        first = (await client.get(f"{API_KEYS}/{created['id']}", headers=admin)).json()

        again = await client.delete(f"{API_KEYS}/{created['id']}", headers=admin)

        assert again.status_code == 204
        second = (await client.get(f"{API_KEYS}/{created['id']}", headers=admin)).json()
        assert second["revoked_at"] == first["revoked_at"]

    async def test_an_admin_can_revoke_its_own_key(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        other = await create_key(client, admin, "admin")

        response = await client.delete(f"{API_KEYS}/{other['id']}", headers=bearer(other["key"]))

        assert response.status_code == 204
        assert (await client.get(API_KEYS, headers=bearer(other["key"]))).status_code == 401
        assert (await client.get(API_KEYS, headers=admin)).status_code == 200

    async def test_an_unknown_key_is_404(self, client: httpx.AsyncClient, admin: Headers) -> None:
        response = await client.delete(f"{API_KEYS}/{uuid.uuid4()}", headers=admin)

        assert_problem(response, 404)
