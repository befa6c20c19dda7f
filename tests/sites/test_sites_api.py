"""`/api/v1/sites`: admins register marketing sites and their origins, and change them."""

from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.problems import assert_problem, error_fields
from tests.sites.helpers import API_KEYS, SITES, create_site, key_status


class TestCreateSite:
    async def test_answers_201_with_a_public_key_shown_once(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        response = await client.post(
            SITES,
            json={"name": "Main site", "allowed_origins": ["https://www.example.com"]},
            headers=admin,
        )

        assert response.status_code == 201, response.text
        site = response.json()
        assert site["public_key"].startswith("inb_pk_")
        assert site["name"] == "Main site"
        assert site["allowed_origins"] == ["https://www.example.com"]
        assert site["version"] == 1
        assert response.headers["location"] == f"{SITES}/{site['id']}"
        [key] = site["keys"]
        assert site["public_key"].startswith(key["prefix"])
        assert key["revoked_at"] is None
        assert "key" not in key

    async def test_the_keys_are_listed_without_the_key(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        site = await create_site(client, admin)

        one = await client.get(f"{SITES}/{site['id']}", headers=admin)
        listed = await client.get(SITES, headers=admin)

        assert one.status_code == 200
        assert one.headers["etag"] == '"1"'
        assert [k["id"] for k in one.json()["keys"]] == [k["id"] for k in site["keys"]]
        assert "public_key" not in one.json()
        assert site["id"] in [s["id"] for s in listed.json()["items"]]
        for response in (one, listed):
            assert site["public_key"] not in response.text

    async def test_the_public_key_is_an_ingest_key_of_the_site(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        site = await create_site(client, admin)

        key = (await client.get(f"{API_KEYS}/{site['keys'][0]['id']}", headers=admin)).json()

        assert key["scopes"] == ["ingest"]
        assert key["site_id"] == site["id"]
        assert await key_status(client, site["public_key"]) == 403

    async def test_a_name_of_200_characters_is_accepted_with_its_keys(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        site = await create_site(client, admin, name="s" * 200)

        another = await client.post(f"{SITES}/{site['id']}/keys", headers=admin)

        assert site["name"] == "s" * 200
        assert another.status_code == 201, another.text

    async def test_origins_default_to_none(self, client: httpx.AsyncClient, admin: Headers) -> None:
        site = await create_site(client, admin)

        assert site["allowed_origins"] == []

    async def test_origins_are_normalised(self, client: httpx.AsyncClient, admin: Headers) -> None:
        site = await create_site(
            client,
            admin,
            allowed_origins=[
                "https://WWW.Example.COM/",
                "https://www.example.com",
                " http://localhost:3000 ",
                "https://shop.example.com:8443/",
                "http://LOCALHOST:3000",
            ],
        )

        assert site["allowed_origins"] == [
            "https://www.example.com",
            "http://localhost:3000",
            "https://shop.example.com:8443",
        ]

    @pytest.mark.parametrize(
        "origin",
        [
            "ftp://x",
            "https://x.com/path",
            "https://x.com?q",
            "https://x.com#top",
            "not a url",
            "https://x.com:99999",
            "https://x.com:abc",
            "https://user@x.com",
            "https://",
            "",
        ],
    )
    async def test_a_bad_origin_is_400_naming_the_field(
        self, client: httpx.AsyncClient, admin: Headers, origin: str
    ) -> None:
        response = await client.post(
            SITES, json={"name": "www", "allowed_origins": [origin]}, headers=admin
        )

        assert_problem(response, 400)
        assert any(f.startswith("allowed_origins") for f in error_fields(response))
        assert (await client.get(SITES, headers=admin)).json()["items"] == []

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "name"),
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"name": "www", "allowed_origins": "https://x.com"}, "allowed_origins"),
            ({"name": "www", "allowed_origins": ["https://x.com"] * 51}, "allowed_origins"),
        ],
        ids=["missing", "empty", "blank", "too-long", "origins-not-a-list", "too-many-origins"],
    )
    async def test_a_bad_body_is_400(
        self, client: httpx.AsyncClient, admin: Headers, body: dict[str, Any], field: str
    ) -> None:
        response = await client.post(SITES, json=body, headers=admin)

        assert response.status_code == 400, response.text
        assert any(f.startswith(field) for f in error_fields(response))


class TestUpdateSite:
    async def test_renames_and_changes_origins_with_a_matching_etag(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        site = await create_site(client, admin, allowed_origins=["https://a.example.com"])
        etag = (await client.get(f"{SITES}/{site['id']}", headers=admin)).headers["etag"]

        response = await client.patch(
            f"{SITES}/{site['id']}",
            json={"name": "Renamed", "allowed_origins": ["https://B.example.com/"]},
            headers={**admin, "If-Match": etag},
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == "Renamed"
        assert body["allowed_origins"] == ["https://b.example.com"]
        assert body["version"] == 2
        assert response.headers["etag"] == '"2"'
        assert body["updated_at"] >= site["updated_at"]
        assert [k["id"] for k in body["keys"]] == [k["id"] for k in site["keys"]]
        again = (await client.get(f"{SITES}/{site['id']}", headers=admin)).json()
        assert again["name"] == "Renamed"

    async def test_a_field_left_out_keeps_its_value(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        site = await create_site(client, admin, allowed_origins=["https://a.example.com"])

        response = await client.patch(f"{SITES}/{site['id']}", json={"name": "N"}, headers=admin)

        assert response.status_code == 200
        assert response.json()["allowed_origins"] == ["https://a.example.com"]

    async def test_origins_can_be_emptied(self, client: httpx.AsyncClient, admin: Headers) -> None:
        site = await create_site(client, admin, allowed_origins=["https://a.example.com"])

        response = await client.patch(
            f"{SITES}/{site['id']}", json={"allowed_origins": []}, headers=admin
        )

        assert response.status_code == 200
        assert response.json()["allowed_origins"] == []

    async def test_a_stale_etag_is_412_and_changes_nothing(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        site = await create_site(client, admin)
        await client.patch(f"{SITES}/{site['id']}", json={"name": "First"}, headers=admin)

        response = await client.patch(
            f"{SITES}/{site['id']}", json={"name": "Second"}, headers={**admin, "If-Match": '"1"'}
        )

        assert_problem(response, 412)
        current = (await client.get(f"{SITES}/{site['id']}", headers=admin)).json()
        assert current["name"] == "First"
        assert current["version"] == 2

    @pytest.mark.parametrize(
        "body",
        [
            {"allowed_origins": ["https://x.com/path"]},
            {"name": ""},
            {"name": "x" * 201},
            {"public_key": "inb_pk_mine"},
            {"name": None},
            {"allowed_origins": None},
        ],
        ids=["bad-origin", "empty-name", "long-name", "unknown-field", "null-name", "null-origins"],
    )
    async def test_a_bad_change_is_400(
        self, client: httpx.AsyncClient, admin: Headers, body: dict[str, Any]
    ) -> None:
        site = await create_site(client, admin)

        response = await client.patch(f"{SITES}/{site['id']}", json=body, headers=admin)

        assert response.status_code == 400, response.text
        after = (await client.get(f"{SITES}/{site['id']}", headers=admin)).json()
        assert after["version"] == 1
