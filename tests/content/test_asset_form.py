"""An asset's form definition, read by a site's pages with the site's public key."""

from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.content.helpers import ASSETS, make_asset
from tests.problems import assert_problem, error_fields
from tests.support.world import ORIGIN, World, make_world

FORM_FIELDS = [
    {"name": "first_name", "label": "First name", "required": False},
    {"name": "company_size", "label": "Employees", "required": False},
    {"name": "role", "label": "Your role", "type": "select", "options": ["IT", "Finance"]},
    {"name": "consent", "label": "Email me about cloud costs.", "required": False,
     "text_version": "2026-01"},
]  # fmt: skip


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    return await make_world(client, admin)


@pytest.fixture
async def ebook(client: httpx.AsyncClient, editor: Headers) -> dict[str, Any]:
    return await make_asset(
        client, editor, slug="cost-ebook", title="The Cost E-book", kind="ebook",
        funnel_stage="convert", gated=True, delivery_url="https://cdn.example.com/e.pdf",
        form_fields=FORM_FIELDS,
    )  # fmt: skip


def form_url(ref: str) -> str:
    return f"{ASSETS}/{ref}/form"


async def read_form(
    client: httpx.AsyncClient, world: World, ref: str = "cost-ebook", **headers: str
) -> httpx.Response:
    return await client.get(form_url(ref), headers={**world.site_headers, **headers})


class TestReadForm:
    async def test_a_gated_asset_answers_its_fields_consent_and_gating(
        self, client: httpx.AsyncClient, world: World, ebook: dict[str, Any]
    ) -> None:
        response = await read_form(client, world)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "asset": "cost-ebook",
            "asset_id": ebook["id"],
            "title": "The Cost E-book",
            "gated": True,
            "fields": [
                {"name": "email", "label": "Email", "type": "email", "required": True,
                 "options": None},
                {"name": "first_name", "label": "First name", "type": "text", "required": False,
                 "options": None},
                {"name": "company_size", "label": "Employees", "type": "number",
                 "required": False, "options": None},
                {"name": "role", "label": "Your role", "type": "select", "required": True,
                 "options": ["IT", "Finance"]},
            ],
            "consent": {"label": "Email me about cloud costs.", "text_version": "2026-01",
                        "required": False},
        }  # fmt: skip
        assert response.headers["cache-control"] == "public, max-age=60"
        assert response.headers["etag"].startswith('"')

    async def test_by_id_too(
        self, client: httpx.AsyncClient, world: World, ebook: dict[str, Any]
    ) -> None:
        response = await read_form(client, world, ebook["id"])
        assert response.status_code == 200, response.text
        assert response.json()["asset"] == "cost-ebook"

    async def test_an_ungated_asset_asks_for_email_only(
        self, client: httpx.AsyncClient, editor: Headers, world: World
    ) -> None:
        await make_asset(client, editor, slug="weekly", kind="newsletter")
        body = (await read_form(client, world, "weekly")).json()
        assert body["gated"] is False
        assert [f["name"] for f in body["fields"]] == ["email"]
        assert body["consent"] is None

    async def test_the_etag_answers_304_until_the_form_changes(
        self, client: httpx.AsyncClient, editor: Headers, world: World, ebook: dict[str, Any]
    ) -> None:
        tag = (await read_form(client, world)).headers["etag"]
        unchanged = await read_form(client, world, **{"If-None-Match": tag})
        assert unchanged.status_code == 304
        assert unchanged.content == b""
        assert unchanged.headers["etag"] == tag
        changed = await client.patch(
            f"{ASSETS}/cost-ebook",
            json={"form_fields": [{"name": "job_title", "label": "Job title"}]},
            headers=editor,
        )
        assert changed.status_code == 200, changed.text
        fresh = await read_form(client, world, **{"If-None-Match": tag})
        assert fresh.status_code == 200
        assert fresh.headers["etag"] != tag
        assert [f["name"] for f in fresh.json()["fields"]] == ["email", "job_title"]

    async def test_the_page_origin_may_read_it_across_origins(
        self, client: httpx.AsyncClient, world: World, ebook: dict[str, Any]
    ) -> None:
        response = await read_form(client, world, Origin=ORIGIN)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ORIGIN
        preflight = await client.options(
            form_url("cost-ebook"),
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "authorization"},
        )  # fmt: skip
        assert preflight.status_code == 204
        assert "GET" in preflight.headers["access-control-allow-methods"]


class TestRefused:
    async def test_an_archived_asset_is_404(
        self, client: httpx.AsyncClient, editor: Headers, world: World, ebook: dict[str, Any]
    ) -> None:
        assert (await read_form(client, world)).status_code == 200
        archived = await client.post(f"{ASSETS}/cost-ebook/archive", headers=editor)
        assert archived.status_code == 200
        response = await read_form(client, world)
        assert response.status_code == 404
        assert error_fields(response) == ["ref"]

    async def test_an_unknown_asset_is_404(self, client: httpx.AsyncClient, world: World) -> None:
        response = await read_form(client, world, "no-such-asset")
        assert_problem(response, 404)

    async def test_without_a_key_is_401(
        self, client: httpx.AsyncClient, ebook: dict[str, Any]
    ) -> None:
        response = await client.get(form_url("cost-ebook"))
        assert_problem(response, 401)

    async def test_a_key_that_is_no_sites_is_401(
        self, client: httpx.AsyncClient, editor: Headers, ebook: dict[str, Any]
    ) -> None:
        response = await client.get(form_url("cost-ebook"), headers=editor)
        assert response.status_code == 401

    async def test_a_foreign_origin_is_403(
        self, client: httpx.AsyncClient, world: World, ebook: dict[str, Any]
    ) -> None:
        response = await read_form(client, world, Origin="https://evil.example.net")
        assert response.status_code == 403
        assert error_fields(response) == ["Origin"]

    async def test_an_unknown_query_parameter_is_400(
        self, client: httpx.AsyncClient, world: World, ebook: dict[str, Any]
    ) -> None:
        response = await client.get(
            form_url("cost-ebook") + "?fields=all", headers=world.site_headers
        )
        assert response.status_code == 400


class TestFormFieldRules:
    @pytest.mark.parametrize(
        ("field", "problems"),
        [
            ({"name": "email", "type": "text"}, ["type"]),
            ({"name": "company_size", "type": "select", "options": ["1-10"]}, ["type"]),
            ({"name": "role", "type": "select"}, ["options"]),
            ({"name": "role", "options": ["IT"]}, ["options"]),
            ({"name": "company", "text_version": "v1"}, ["text_version"]),
        ],
    )
    async def test_an_inconsistent_field_is_422_naming_it(
        self,
        client: httpx.AsyncClient,
        editor: Headers,
        field: dict[str, Any],
        problems: list[str],
    ) -> None:
        response = await client.post(
            ASSETS,
            json={"title": "Bad", "kind": "ebook", "funnel_stage": "convert", "gated": True,
                  "delivery_url": "https://cdn.example.com/b.pdf", "form_fields": [field]},
            headers=editor,
        )  # fmt: skip
        assert response.status_code == 422, response.text
        assert error_fields(response) == [f"form_fields[0].{name}" for name in problems]

    async def test_an_unknown_type_is_400(self, client: httpx.AsyncClient, editor: Headers) -> None:
        response = await client.post(
            ASSETS,
            json={"title": "Bad", "kind": "ebook", "funnel_stage": "convert", "gated": True,
                  "delivery_url": "https://cdn.example.com/b.pdf",
                  "form_fields": [{"name": "role", "type": "radio"}]},
            headers=editor,
        )  # fmt: skip
        assert response.status_code == 400, response.text
        assert error_fields(response) == ["form_fields[0].type"]

    async def test_a_change_that_makes_a_field_inconsistent_is_422(
        self, client: httpx.AsyncClient, editor: Headers, ebook: dict[str, Any]
    ) -> None:
        response = await client.patch(
            f"{ASSETS}/cost-ebook",
            json={"form_fields": [{"name": "phone", "type": "number"}]},
            headers=editor,
        )
        assert response.status_code == 422, response.text
        assert error_fields(response) == ["form_fields[0].type"]

    async def test_the_asset_shows_what_was_set(
        self, client: httpx.AsyncClient, ebook: dict[str, Any]
    ) -> None:
        role = next(f for f in ebook["form_fields"] if f["name"] == "role")
        assert (role["type"], role["options"]) == ("select", ["IT", "Finance"])
        consent = next(f for f in ebook["form_fields"] if f["name"] == "consent")
        assert consent["text_version"] == "2026-01"
