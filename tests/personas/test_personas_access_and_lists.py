"""Personas: who may do what, listing and paging, and racing writers."""

import asyncio
from typing import Any

import httpx
import pytest

from inbound.auth.scopes import Scope
from tests.conftest import Headers, KeyMaker
from tests.personas.helpers import PERSONAS, create, error_fields, read, slugs
from tests.problems import assert_problem

# Every persona operation, as (method, path, JSON body); the paths name the persona "cio".
Operation = tuple[str, str, dict[str, Any] | None]
READS: list[Operation] = [("GET", PERSONAS, None), ("GET", f"{PERSONAS}/cio", None)]
WRITES: list[Operation] = [
    ("POST", PERSONAS, {"name": "New"}),
    ("PATCH", f"{PERSONAS}/cio", {"priority": 9}),
    ("POST", f"{PERSONAS}/cio/archive", None),
    ("POST", f"{PERSONAS}/cio/unarchive", None),
    ("DELETE", f"{PERSONAS}/cio", None),
]
OPERATIONS = READS + WRITES
OK = {"GET": 200, "POST": 200, "PATCH": 200, "DELETE": 204}


async def call(
    client: httpx.AsyncClient,
    operation: Operation,
    headers: Headers | None = None,
) -> httpx.Response:
    method, path, body = operation
    return await client.request(method, path, json=body, headers=headers)


def expected_status(operation: Operation) -> int:
    method, path, _ = operation
    return 201 if (method, path) == ("POST", PERSONAS) else OK[method]


class TestAuthentication:
    @pytest.mark.parametrize("operation", OPERATIONS)
    async def test_no_key_is_401_with_a_challenge(
        self, client: httpx.AsyncClient, operation: Operation
    ) -> None:
        response = await call(client, operation)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    @pytest.mark.parametrize(
        "authorization", ["Bearer inb_sk_not-a-real-key", "Bearer ", "Basic dXNlcjpwYXNz", "token"]
    )
    async def test_a_bad_key_is_401(
        self, client: httpx.AsyncClient, editor: Headers, authorization: str
    ) -> None:
        await create(client, editor, slug="cio")
        response = await client.get(f"{PERSONAS}/cio", headers={"Authorization": authorization})
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_a_revoked_key_is_401(
        self, client: httpx.AsyncClient, admin: Headers, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        issued = await client.post(
            "/api/v1/api-keys", json={"name": "temp", "scopes": ["content:write"]}, headers=admin
        )
        assert issued.status_code == 201, issued.text
        key = {"Authorization": f"Bearer {issued.json()['key']}"}
        assert (await read(client, key, "cio")).status_code == 200
        revoked = await client.delete(f"/api/v1/api-keys/{issued.json()['id']}", headers=admin)
        assert revoked.status_code == 204
        response = await read(client, key, "cio")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        refused = await client.post(PERSONAS, json={"name": "New"}, headers=key)
        assert refused.status_code == 401
        assert await slugs(client, editor) == ["cio"]


class TestAuthorisation:
    @pytest.fixture
    async def cio(self, client: httpx.AsyncClient, editor: Headers) -> dict[str, Any]:
        """The persona `cio`, which the operations name."""
        return await create(client, editor, slug="cio")

    @pytest.mark.parametrize("operation", READS)
    async def test_a_reader_may_read(
        self, client: httpx.AsyncClient, reader: Headers, cio: dict[str, Any], operation: Operation
    ) -> None:
        assert (await call(client, operation, reader)).status_code == 200

    @pytest.mark.parametrize("operation", WRITES)
    async def test_a_reader_may_not_write(
        self,
        client: httpx.AsyncClient,
        editor: Headers,
        reader: Headers,
        cio: dict[str, Any],
        operation: Operation,
    ) -> None:
        response = await call(client, operation, reader)
        assert response.status_code == 403
        assert "content:write" in response.json()["detail"]
        assert (await read(client, editor, "cio")).json() == cio
        assert await slugs(client, editor) == ["cio"]

    @pytest.mark.parametrize("scope", [Scope.CONTENT_WRITE, Scope.ADMIN])
    @pytest.mark.parametrize("operation", OPERATIONS)
    async def test_editors_and_admins_may_do_everything(
        self,
        client: httpx.AsyncClient,
        make_key: KeyMaker,
        editor: Headers,
        operation: Operation,
        scope: Scope,
    ) -> None:
        await create(client, editor, slug="cio")
        response = await call(client, operation, await make_key(scope))
        assert response.status_code == expected_status(operation), response.text

    async def test_a_key_without_a_content_scope_may_not_read(
        self, client: httpx.AsyncClient, editor: Headers, make_key: KeyMaker
    ) -> None:
        await create(client, editor, slug="cio")
        sales = await make_key(Scope.LEADS_WRITE, Scope.REPORTS_READ, name="sales")
        for operation in OPERATIONS:
            response = await call(client, operation, sales)
            assert response.status_code == 403, operation


class TestListPersonas:
    async def test_in_creation_order_without_the_archived(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        for slug in ("zeta", "alpha", "mid", "old"):
            await create(client, editor, slug=slug, name=slug.title())
        await client.post(f"{PERSONAS}/old/archive", headers=editor)
        response = await client.get(PERSONAS, headers=editor)
        assert response.status_code == 200
        assert response.json()["next_cursor"] is None
        assert [p["slug"] for p in response.json()["items"]] == ["zeta", "alpha", "mid"]
        assert await slugs(client, editor, archived="true") == ["old"]
        assert await slugs(client, editor, archived="false") == ["zeta", "alpha", "mid"]

    async def test_items_are_whole_personas(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        created = await create(client, editor, slug="cio", goals=["g"])
        items = (await client.get(PERSONAS, headers=editor)).json()["items"]
        assert items == [created]

    async def test_empty(self, client: httpx.AsyncClient, reader: Headers) -> None:
        response = await client.get(PERSONAS, headers=reader)
        assert response.json() == {"items": [], "next_cursor": None}

    async def test_fifty_per_page_by_default(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        for i in range(51):
            await create(client, editor, slug=f"p{i}", name=f"P{i}")
        first = (await client.get(PERSONAS, headers=editor)).json()
        assert len(first["items"]) == 50
        assert first["next_cursor"] is not None
        rest = await client.get(PERSONAS, params={"cursor": first["next_cursor"]}, headers=editor)
        assert [p["slug"] for p in rest.json()["items"]] == ["p50"]
        assert rest.json()["next_cursor"] is None

    async def test_a_limit_of_500_is_allowed(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        response = await client.get(PERSONAS, params={"limit": 500}, headers=editor)
        assert response.status_code == 200
        assert [p["slug"] for p in response.json()["items"]] == ["cio"]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"limit": 0}, "limit"),
            ({"limit": 501}, "limit"),
            ({"limit": -1}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"cursor": "nope"}, "cursor"),
            ({"cursor": "!" * 22}, "cursor"),
            ({"cursor": "A" * 23}, "cursor"),
            ({"archived": "maybe"}, "archived"),
            ({"archive": "true"}, "archive"),
        ],
    )
    async def test_bad_query_parameters_are_400_naming_them(
        self, client: httpx.AsyncClient, reader: Headers, params: dict[str, Any], field: str
    ) -> None:
        response = await client.get(PERSONAS, params=params, headers=reader)
        assert response.status_code == 400
        assert error_fields(response) == [field]

    async def test_pages_see_every_persona_once_while_others_are_added(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        created = [
            (await create(client, editor, slug=f"p{i}", name=f"P{i}"))["slug"] for i in range(5)
        ]
        seen: list[str] = []
        page = (await client.get(PERSONAS, params={"limit": 2}, headers=editor)).json()
        for _ in range(20):  # a bounded walk: a cursor that does not advance must fail, not hang
            seen += [p["slug"] for p in page["items"]]
            if page["next_cursor"] is None:
                break
            late = await create(client, editor, slug=f"late{len(created)}", name="Late")
            created.append(late["slug"])
            params = {"limit": 2, "cursor": page["next_cursor"]}
            page = (await client.get(PERSONAS, params=params, headers=editor)).json()
        else:
            pytest.fail(f"no last page after 20 pages; seen {seen}")
        assert seen == created
        assert len(created) > 5

    async def test_pages_stay_stable_when_the_last_seen_persona_is_deleted(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        for i in range(4):
            await create(client, editor, slug=f"p{i}", name=f"P{i}")
        first = (await client.get(PERSONAS, params={"limit": 2}, headers=editor)).json()
        assert [p["slug"] for p in first["items"]] == ["p0", "p1"]
        assert (await client.delete(f"{PERSONAS}/p1", headers=editor)).status_code == 204
        params = {"limit": 2, "cursor": first["next_cursor"]}
        second = (await client.get(PERSONAS, params=params, headers=editor)).json()
        assert [p["slug"] for p in second["items"]] == ["p2", "p3"]
        assert second["next_cursor"] is None

    async def test_archived_personas_page_too(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        for i in range(3):
            await create(client, editor, slug=f"p{i}", name=f"P{i}", priority=i)
            await client.post(f"{PERSONAS}/p{i}/archive", headers=editor)
        params: dict[str, Any] = {"archived": "true", "limit": 2}
        first = (await client.get(PERSONAS, params=params, headers=editor)).json()
        second = await client.get(
            PERSONAS, params={**params, "cursor": first["next_cursor"]}, headers=editor
        )
        pages = first["items"] + second.json()["items"]
        assert [p["slug"] for p in pages] == ["p0", "p1", "p2"]


@pytest.mark.committing
class TestConcurrentCreates:
    @pytest.mark.parametrize("racers", [2, 10])
    async def test_one_wins_the_slug_the_others_get_409(
        self, committing_client: httpx.AsyncClient, committing_admin: Headers, racers: int
    ) -> None:
        responses = await asyncio.gather(
            *(
                committing_client.post(
                    PERSONAS, json={"name": f"Racer {i}", "slug": "racer"}, headers=committing_admin
                )
                for i in range(racers)
            )
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * (racers - 1), [r.text for r in responses]
        assert all(error_fields(r) == ["slug"] for r in responses if r.status_code == 409)
        winner = next(r.json() for r in responses if r.status_code == 201)
        listed = await committing_client.get(PERSONAS, headers=committing_admin)
        assert listed.json()["items"] == [winner]

    async def test_racing_creates_from_one_name_make_one_persona(
        self, committing_client: httpx.AsyncClient, committing_admin: Headers
    ) -> None:
        responses = await asyncio.gather(
            *(
                committing_client.post(
                    PERSONAS, json={"name": "IT Director"}, headers=committing_admin
                )
                for _ in range(5)
            )
        )
        assert sorted(r.status_code for r in responses) == [201] + [409] * 4
        assert await slugs(committing_client, committing_admin) == ["it-director"]


@pytest.mark.committing
class TestConcurrentUpdates:
    async def test_if_match_lets_exactly_one_of_racing_writers_through(
        self, committing_client: httpx.AsyncClient, committing_admin: Headers
    ) -> None:
        await create(committing_client, committing_admin, slug="cio")
        responses = await asyncio.gather(
            *(
                committing_client.patch(
                    f"{PERSONAS}/cio",
                    json={"priority": i},
                    headers={**committing_admin, "If-Match": '"1"'},
                )
                for i in range(6)
            )
        )
        assert sorted(r.status_code for r in responses) == [200] + [412] * 5
        winner = next(r.json() for r in responses if r.status_code == 200)
        final = await read(committing_client, committing_admin, "cio")
        assert final.json() == winner
        assert final.headers["etag"] == '"2"'
