"""`/api/v1/sites`: a site's public keys, deleting sites, unknown sites and the list."""

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.problems import assert_problem
from tests.sites.helpers import API_KEYS, SITES, create_site, key_status


class TestSiteKeys:
    async def test_issues_another_public_key(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        site = await create_site(client, admin)

        response = await client.post(f"{SITES}/{site['id']}/keys", headers=admin)

        assert response.status_code == 201, response.text
        new = response.json()
        assert new["key"].startswith("inb_pk_")
        assert new["key"] != site["public_key"]
        assert new["key"].startswith(new["prefix"])
        assert response.headers["location"] == f"{API_KEYS}/{new['id']}"
        located = await client.get(response.headers["location"], headers=admin)
        assert located.json()["site_id"] == site["id"]
        listed = (await client.get(f"{SITES}/{site['id']}", headers=admin)).json()["keys"]
        assert [k["id"] for k in listed] == [site["keys"][0]["id"], new["id"]]
        assert all("key" not in k for k in listed)
        assert await key_status(client, new["key"]) == 403
        assert await key_status(client, site["public_key"]) == 403

    async def test_revoking_a_site_key_through_api_keys(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        site = await create_site(client, admin)
        new = (await client.post(f"{SITES}/{site['id']}/keys", headers=admin)).json()
        old_id = site["keys"][0]["id"]

        response = await client.delete(f"{API_KEYS}/{old_id}", headers=admin)

        assert response.status_code == 204
        assert await key_status(client, site["public_key"]) == 401
        assert await key_status(client, new["key"]) == 403
        keys = {
            k["id"]: k
            for k in (await client.get(f"{SITES}/{site['id']}", headers=admin)).json()["keys"]
        }
        assert keys[old_id]["revoked_at"] is not None
        assert keys[new["id"]]["revoked_at"] is None

    async def test_unknown_site_is_404(self, client: httpx.AsyncClient, admin: Headers) -> None:
        response = await client.post(f"{SITES}/{uuid.uuid4()}/keys", headers=admin)

        assert_problem(response, 404)


class TestDeleteSite:
    async def test_deletes_the_site_and_its_keys(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        site = await create_site(client, admin)
        second = (await client.post(f"{SITES}/{site['id']}/keys", headers=admin)).json()

        response = await client.delete(f"{SITES}/{site['id']}", headers=admin)

        assert response.status_code == 204
        assert (await client.get(f"{SITES}/{site['id']}", headers=admin)).status_code == 404
        assert await key_status(client, site["public_key"]) == 401
        assert await key_status(client, second["key"]) == 401
        for key_id in (site["keys"][0]["id"], second["id"]):
            assert (await client.get(f"{API_KEYS}/{key_id}", headers=admin)).status_code == 404
        every = (
            await client.get(API_KEYS, params={"include_revoked": "true"}, headers=admin)
        ).json()["items"]
        assert all(k["site_id"] != site["id"] for k in every)

    async def test_other_sites_keep_their_keys(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        doomed = await create_site(client, admin, name="doomed")
        kept = await create_site(client, admin, name="kept")

        await client.delete(f"{SITES}/{doomed['id']}", headers=admin)

        assert await key_status(client, kept["public_key"]) == 403
        assert (await client.get(f"{SITES}/{kept['id']}", headers=admin)).status_code == 200


class TestUnknownSite:
    @pytest.mark.parametrize(
        ("method", "body"),
        [("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)],
    )
    async def test_is_404_problem(
        self, client: httpx.AsyncClient, admin: Headers, method: str, body: Any
    ) -> None:
        response = await client.request(method, f"{SITES}/{uuid.uuid4()}", json=body, headers=admin)

        assert_problem(response, 404)


class TestListSites:
    async def test_pages_walk_every_site_once_in_creation_order(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        made = [(await create_site(client, admin, name=f"s{i}"))["id"] for i in range(5)]

        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get(SITES, params=params, headers=admin)).json()
            assert len(page["items"]) <= 2
            seen += [s["id"] for s in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break

        assert seen == made
        listed = (await client.get(SITES, headers=admin)).json()["items"]
        assert all(len(s["keys"]) == 1 and "public_key" not in s for s in listed)
