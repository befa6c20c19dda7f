"""Personas: archiving and restoring them, and deleting them with or without their tags."""

import httpx
import pytest

from tests.conftest import Headers
from tests.personas.helpers import ASSETS, PERSONAS, UNKNOWN_ID, create, read, slugs, tag_asset
from tests.problems import assert_problem


class TestArchivePersona:
    async def test_archive_hides_it_from_the_default_list(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        await create(client, editor, slug="cfo", name="CFO")
        response = await client.post(f"{PERSONAS}/cio/archive", headers=editor)
        assert response.status_code == 200
        body = response.json()
        assert body["archived"] is True
        assert body["archived_at"] is not None
        assert response.headers["etag"] == f'"{body["version"]}"' == '"2"'
        assert await slugs(client, editor) == ["cfo"]
        assert await slugs(client, editor, archived="true") == ["cio"]
        assert (await read(client, editor, "cio")).json()["archived"] is True

    async def test_archiving_twice_keeps_the_first_time(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        first = (await client.post(f"{PERSONAS}/cio/archive", headers=editor)).json()
        again = await client.post(f"{PERSONAS}/cio/archive", headers=editor)
        assert again.status_code == 200
        assert again.json()["archived_at"] == first["archived_at"]

    async def test_unarchive_restores_it(self, client: httpx.AsyncClient, editor: Headers) -> None:
        await create(client, editor, slug="cio")
        await client.post(f"{PERSONAS}/cio/archive", headers=editor)
        response = await client.post(f"{PERSONAS}/cio/unarchive", headers=editor)
        assert response.status_code == 200
        assert response.json()["archived"] is False
        assert response.json()["archived_at"] is None
        assert await slugs(client, editor) == ["cio"]
        assert await slugs(client, editor, archived="true") == []

    async def test_patch_archived_archives_and_restores(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        archived = await client.patch(f"{PERSONAS}/cio", json={"archived": True}, headers=editor)
        assert archived.json()["archived"] is True
        assert archived.json()["archived_at"] is not None
        assert await slugs(client, editor) == []
        restored = await client.patch(f"{PERSONAS}/cio", json={"archived": False}, headers=editor)
        assert restored.json()["archived"] is False
        assert restored.json()["archived_at"] is None
        assert await slugs(client, editor) == ["cio"]

    @pytest.mark.parametrize("action", ["archive", "unarchive"])
    async def test_unknown_is_404(
        self, client: httpx.AsyncClient, editor: Headers, action: str
    ) -> None:
        response = await client.post(f"{PERSONAS}/nobody/{action}", headers=editor)
        assert_problem(response, 404)


class TestDeletePersona:
    async def test_an_untagged_persona_is_deleted(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        created = await create(client, editor, slug="cio")
        response = await client.delete(f"{PERSONAS}/{created['id']}", headers=editor)
        assert response.status_code == 204
        assert response.content == b""
        assert (await read(client, editor, "cio")).status_code == 404
        assert await slugs(client, editor) == []

    async def test_a_tagged_persona_is_409_and_kept(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        await tag_asset(client, editor, "cio")
        response = await client.delete(f"{PERSONAS}/cio", headers=editor)
        assert response.status_code == 409
        assert response.json()["type"].endswith("persona-in-use")
        assert "force=true" in response.json()["detail"]
        assert (await read(client, editor, "cio")).status_code == 200
        tags = await client.get(f"{ASSETS}/guide/personas", headers=editor)
        assert [t["slug"] for t in tags.json()] == ["cio"]

    async def test_force_deletes_it_and_its_tags(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        await create(client, editor, slug="cfo", name="CFO")
        await tag_asset(client, editor, "cio")
        response = await client.delete(f"{PERSONAS}/cio", params={"force": "true"}, headers=editor)
        assert response.status_code == 204
        assert (await read(client, editor, "cio")).status_code == 404
        asset = await client.get(f"{ASSETS}/guide", headers=editor)
        assert asset.status_code == 200
        assert asset.json()["personas"] == []
        assert (await client.get(f"{ASSETS}/guide/personas", headers=editor)).json() == []
        assert await slugs(client, editor) == ["cfo"]

    async def test_unknown_is_404(self, client: httpx.AsyncClient, editor: Headers) -> None:
        for ref in ("nobody", UNKNOWN_ID):
            response = await client.delete(f"{PERSONAS}/{ref}", headers=editor)
            assert_problem(response, 404)


class TestEmptyUpdate:
    async def test_an_empty_patch_keeps_the_version(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        response = await client.patch(f"{PERSONAS}/cio", json={}, headers=editor)
        assert response.status_code == 200
        assert response.json()["version"] == 1
        assert response.headers["etag"] == '"1"'
