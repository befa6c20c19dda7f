"""`/api/v1/api-keys`: validation, the admin scope, pages of keys and keys issued at once."""

import asyncio
from typing import Any

import httpx
import pytest

from tests.auth.helpers import API_KEYS, bearer, create_key, list_ids
from tests.conftest import Headers, KeyMaker
from tests.problems import assert_problem, error_fields

NON_ADMIN_SCOPES = ["content:read", "content:write", "leads:read", "leads:write", "reports:read"]


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
