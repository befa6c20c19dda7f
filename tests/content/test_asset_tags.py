"""Tagging assets to personas: one asset at a time, and many in one call."""

import asyncio

import httpx
import pytest

from tests.conftest import Headers
from tests.content.helpers import ASSETS, make_asset, make_persona
from tests.problems import error_fields

TAGS = "/api/v1/asset-tags"


async def tags_of(client: httpx.AsyncClient, headers: Headers, asset: str) -> list[tuple[str, int]]:
    response = await client.get(f"{ASSETS}/{asset}/personas", headers=headers)
    assert response.status_code == 200, response.text
    return sorted((t["slug"], t["relevance"]) for t in response.json())


class TestReplaceTags:
    async def test_the_list_becomes_the_whole_set(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        cio = await make_persona(client, editor, "cio")
        await make_persona(client, editor, "cfo")
        await make_asset(client, editor, slug="guide", personas=[{"persona": "cfo"}])
        response = await client.put(
            f"{ASSETS}/guide/personas",
            json={"personas": [{"persona": cio["id"], "relevance": 3}]},
            headers=editor,
        )
        assert response.status_code == 200, response.text
        assert await tags_of(client, editor, "guide") == [("cio", 3)]
        cleared = await client.put(
            f"{ASSETS}/guide/personas", json={"personas": []}, headers=editor
        )
        assert cleared.json() == []
        assert await tags_of(client, editor, "guide") == []

    async def test_the_asset_version_moves_with_its_tags(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_persona(client, editor, "cio")
        await make_asset(client, editor, slug="guide")
        await client.put(
            f"{ASSETS}/guide/personas", json={"personas": [{"persona": "cio"}]}, headers=editor
        )
        asset = await client.get(f"{ASSETS}/guide", headers=editor)
        assert asset.headers["etag"] == '"2"'
        stale = await client.put(
            f"{ASSETS}/guide/personas",
            json={"personas": []},
            headers={**editor, "If-Match": '"1"'},
        )
        assert stale.status_code == 412

    async def test_an_unknown_persona_is_422_and_nothing_changes(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_persona(client, editor, "cio")
        await make_asset(client, editor, slug="guide", personas=[{"persona": "cio"}])
        response = await client.put(
            f"{ASSETS}/guide/personas",
            json={"personas": [{"persona": "cio"}, {"persona": "ghost"}]},
            headers=editor,
        )
        assert response.status_code == 422
        assert error_fields(response) == ["personas[1].persona"]
        assert await tags_of(client, editor, "guide") == [("cio", 2)]

    async def test_the_same_persona_twice_is_422(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        cio = await make_persona(client, editor, "cio")
        await make_asset(client, editor, slug="guide")
        response = await client.put(
            f"{ASSETS}/guide/personas",
            json={"personas": [{"persona": "cio"}, {"persona": cio["id"]}]},
            headers=editor,
        )
        assert response.status_code == 422
        assert error_fields(response) == ["personas[1].persona"]

    async def test_unknown_asset_is_404(self, client: httpx.AsyncClient, editor: Headers) -> None:
        response = await client.put(
            f"{ASSETS}/ghost/personas", json={"personas": []}, headers=editor
        )
        assert response.status_code == 404


class TestBulkTags:
    async def test_set_adds_and_changes_relevance_remove_deletes(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        for slug in ("cio", "cfo"):
            await make_persona(client, editor, slug)
        await make_asset(client, editor, slug="a", personas=[{"persona": "cio", "relevance": 1}])
        await make_asset(client, editor, slug="b", personas=[{"persona": "cfo"}])
        response = await client.post(
            TAGS,
            json={
                "set": [
                    {"asset": "a", "persona": "cio", "relevance": 3},
                    {"asset": "b", "persona": "cio", "relevance": 1},
                    {"asset": "b", "persona": "cio", "relevance": 1},
                ],
                "remove": [{"asset": "b", "persona": "cfo"}, {"asset": "a", "persona": "cfo"}],
            },
            headers=editor,
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"set": 2, "removed": 1}
        assert await tags_of(client, editor, "a") == [("cio", 3)]
        assert await tags_of(client, editor, "b") == [("cio", 1)]

    async def test_a_tag_both_set_and_removed_is_422(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_persona(client, editor, "cio")
        await make_asset(client, editor, slug="a")
        pair = {"asset": "a", "persona": "cio"}
        response = await client.post(TAGS, json={"set": [pair], "remove": [pair]}, headers=editor)
        assert response.status_code == 422
        assert error_fields(response) == ["remove[0]"]
        assert await tags_of(client, editor, "a") == []

    async def test_one_unknown_reference_refuses_the_whole_call(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_persona(client, editor, "cio")
        await make_asset(client, editor, slug="a")
        response = await client.post(
            TAGS,
            json={
                "set": [
                    {"asset": "a", "persona": "cio"},
                    {"asset": "ghost", "persona": "cio"},
                    {"asset": "a", "persona": "nobody"},
                ],
                "remove": [{"asset": "a", "persona": "phantom"}],
            },
            headers=editor,
        )
        assert response.status_code == 422
        assert error_fields(response) == [
            "set[1].asset",
            "set[2].persona",
            "remove[0].persona",
        ]
        assert await tags_of(client, editor, "a") == []

    @pytest.mark.parametrize(
        "body",
        [
            {"set": [{"asset": "a", "persona": "cio", "relevance": 5}]},
            {"set": [{"asset": "a"}]},
            {"add": []},
            {"set": [{"asset": "a", "persona": "cio"}] * 1001},
        ],
    )
    async def test_bad_bodies_are_400(
        self, client: httpx.AsyncClient, editor: Headers, body: dict[str, object]
    ) -> None:
        response = await client.post(TAGS, json=body, headers=editor)
        assert response.status_code == 400, response.text

    async def test_needs_content_write(self, client: httpx.AsyncClient, reader: Headers) -> None:
        response = await client.post(TAGS, json={"set": []}, headers=reader)
        assert response.status_code == 403


@pytest.mark.committing
class TestConcurrentBulkTags:
    async def test_concurrent_calls_on_the_same_pairs_never_fail(
        self, committing_client: httpx.AsyncClient, committing_admin: Headers
    ) -> None:
        await make_persona(committing_client, committing_admin, "cio")
        await make_asset(committing_client, committing_admin, slug="a")
        bodies = [{"set": [{"asset": "a", "persona": "cio", "relevance": r}]} for r in (1, 2, 3)]
        responses = await asyncio.gather(
            *(
                committing_client.post(TAGS, json=body, headers=committing_admin)
                for body in bodies * 3
            )
        )
        assert {r.status_code for r in responses} == {200}
        tags = await tags_of(committing_client, committing_admin, "a")
        assert len(tags) == 1
        assert tags[0][0] == "cio"
