"""`/api/v1/api-keys`: admins issue, list and revoke server-side keys."""

import asyncio
import hashlib
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Headers, KeyMaker
from tests.problems import assert_problem, body_of, error_fields

API_KEYS = "/api/v1/api-keys"
NON_ADMIN_SCOPES = ["content:read", "content:write", "leads:read", "leads:write", "reports:read"]


def bearer(key: str) -> Headers:
    return {"Authorization": f"Bearer {key}"}


async def create_key(
    client: httpx.AsyncClient, admin: Headers, *scopes: str, name: str = "ops"
) -> dict[str, Any]:
    response = await client.post(
        API_KEYS, json={"name": name, "scopes": list(scopes or ["content:read"])}, headers=admin
    )
    return body_of(response, 201)


async def list_ids(client: httpx.AsyncClient, admin: Headers, **params: Any) -> list[str]:
    response = await client.get(API_KEYS, params={"limit": 500, **params}, headers=admin)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


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


class TestApiKeyValidation:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"name": "x", "scopes": []}, "scopes", id="empty-scopes"),
            pytest.param({"name": "x"}, "scopes", id="missing-scopes"),
            pytest.param({"name": "x", "scopes": ["content:delete"]}, "scopes", id="unknown"),
            pytest.param({"name": "x", "scopes": ["ingest"]}, "scopes", id="ingest"),
            pytest.param(
                {"name": "x", "scopes": ["admin", "ingest"]}, "scopes", id="ingest-among-others"
            ),
            pytest.param({"name": "x", "scopes": "admin"}, "scopes", id="not-a-list"),
            pytest.param({"name": "x" * 101, "scopes": ["admin"]}, "name", id="name-too-long"),
            pytest.param({"name": "", "scopes": ["admin"]}, "name", id="name-empty"),
            pytest.param({"name": "   ", "scopes": ["admin"]}, "name", id="name-blank"),
            pytest.param({"name": "a\x00b", "scopes": ["admin"]}, "name", id="name-nul"),
            pytest.param({"scopes": ["admin"]}, "name", id="name-missing"),
            pytest.param({"name": 5, "scopes": ["admin"]}, "name", id="name-not-a-string"),
        ],
    )
    async def test_a_bad_body_is_400_naming_the_field(
        self,
        client: httpx.AsyncClient,
        admin: Headers,
        body: dict[str, Any],
        field: str,
    ) -> None:
        before = await list_ids(client, admin)

        response = await client.post(API_KEYS, json=body, headers=admin)

        assert_problem(response, 400)
        fields = error_fields(response)
        assert any(f == field or f.startswith((f"{field}.", f"{field}[")) for f in fields), fields
        assert await list_ids(client, admin) == before

    async def test_a_name_of_100_characters_is_accepted(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        created = await create_key(client, admin, name="n" * 100)

        assert created["name"] == "n" * 100

    async def test_an_unknown_field_is_refused(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        response = await client.post(
            API_KEYS, json={"name": "x", "scopes": ["admin"], "key": "inb_sk_mine"}, headers=admin
        )

        assert response.status_code == 400


class TestApiKeysNeedAdmin:
    @pytest.mark.parametrize("scope", NON_ADMIN_SCOPES)
    async def test_every_endpoint_refuses_a_key_without_admin(
        self, client: httpx.AsyncClient, admin: Headers, make_key: KeyMaker, scope: str
    ) -> None:
        target = await create_key(client, admin, "content:read")
        headers = await make_key(scope)

        answers = [
            await client.post(API_KEYS, json={"name": "x", "scopes": ["admin"]}, headers=headers),
            await client.get(API_KEYS, headers=headers),
            await client.get(f"{API_KEYS}/{target['id']}", headers=headers),
            await client.delete(f"{API_KEYS}/{target['id']}", headers=headers),
        ]

        assert [a.status_code for a in answers] == [403, 403, 403, 403]
        assert all(
            a.headers["content-type"].startswith("application/problem+json") for a in answers
        )
        still = await client.get("/api/v1/personas", headers=bearer(target["key"]))
        assert still.status_code == 200

    async def test_no_key_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get(API_KEYS)

        assert response.status_code == 401


class TestListApiKeysPages:
    async def test_pages_walk_every_key_once_in_creation_order(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        made = [(await create_key(client, admin, name=f"k{i}"))["id"] for i in range(5)]
        expected = await list_ids(client, admin)

        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor is not None:
                params["cursor"] = cursor
            response = await client.get(API_KEYS, params=params, headers=admin)
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= 2
            seen += [item["id"] for item in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break

        assert seen == expected
        assert len(seen) == len(set(seen))
        assert [i for i in seen if i in made] == made
        assert pages == (len(expected) + 1) // 2

    async def test_revoked_keys_are_skipped_across_pages(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        made = [(await create_key(client, admin, name=f"k{i}"))["id"] for i in range(4)]
        await client.delete(f"{API_KEYS}/{made[1]}", headers=admin)

        first = (await client.get(API_KEYS, params={"limit": 1}, headers=admin)).json()
        rest = await list_ids(client, admin, cursor=first["next_cursor"])

        seen = [item["id"] for item in first["items"]] + rest
        assert made[1] not in seen
        assert {made[0], made[2], made[3]} <= set(seen)

    @pytest.mark.parametrize(
        "params",
        [{"limit": 0}, {"limit": 501}, {"limit": "many"}, {"cursor": "not-a-cursor"}],
        ids=["limit-0", "limit-501", "limit-text", "bad-cursor"],
    )
    async def test_bad_page_parameters_are_400(
        self, client: httpx.AsyncClient, admin: Headers, params: dict[str, Any]
    ) -> None:
        response = await client.get(API_KEYS, params=params, headers=admin)

        assert_problem(response, 400)


@pytest.mark.committing
class TestCreateApiKeysConcurrently:
    async def test_ten_at_once_all_succeed_with_distinct_keys(
        self, committing_client: httpx.AsyncClient, committing_admin: Headers
    ) -> None:
        responses = await asyncio.gather(
            *(
                committing_client.post(
                    API_KEYS,
                    json={"name": f"parallel {i}", "scopes": ["content:read"]},
                    headers=committing_admin,
                )
                for i in range(10)
            )
        )

        assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
        bodies = [r.json() for r in responses]
        assert len({b["key"] for b in bodies}) == 10
        assert len({b["id"] for b in bodies}) == 10
        listed = await list_ids(committing_client, committing_admin)
        assert {b["id"] for b in bodies} <= set(listed)
        for body in bodies:
            works = await committing_client.get("/api/v1/personas", headers=bearer(body["key"]))
            assert works.status_code == 200
