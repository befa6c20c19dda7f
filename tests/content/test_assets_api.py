"""Content assets: create, read, change, archive, delete, filter and page."""

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.content.helpers import ASSETS, make_asset, make_persona
from tests.problems import assert_names, error_fields, refusing

GATED = {
    "slug": "cloud-cost-guide",
    "title": "The Cloud Cost Guide",
    "kind": "ebook",
    "funnel_stage": "convert",
    "gated": True,
    "form_fields": [{"name": "company", "label": "Company"}, {"name": "job_title"}],
    "delivery_url": "https://cdn.example.com/guide.pdf",
}


class TestCreateAsset:
    async def test_a_gated_ebook_with_topics_and_tags(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        persona = await make_persona(client, editor, "cio")
        response = await client.post(
            ASSETS,
            json={
                **GATED,
                "url": "https://example.com/guide",
                "topics": ["Cloud  Costs", "cloud costs", "FinOps"],
                "personas": [{"persona": "cio", "relevance": 3}],
            },
            headers=editor,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["location"] == f"{ASSETS}/{body['id']}"
        assert body["topics"] == ["cloud costs", "finops"]
        assert [f["name"] for f in body["form_fields"]] == ["email", "company", "job_title"]
        assert body["form_fields"][0]["required"] is True
        assert body["delivery_url"] == "https://cdn.example.com/guide.pdf"
        assert body["personas"] == [
            {"persona_id": persona["id"], "slug": "cio", "name": "Cio", "relevance": 3}
        ]

    async def test_slug_is_made_from_the_title(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        body = await make_asset(client, editor, title="State of IT: 2026 Edition")
        assert body["slug"] == "state-of-it-2026-edition"

    async def test_a_duplicate_slug_is_409(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_asset(client, editor, slug="guide")
        response = await client.post(
            ASSETS,
            json={"slug": "guide", "title": "x", "kind": "guide", "funnel_stage": "attract"},
            headers=editor,
        )
        assert response.status_code == 409
        assert error_fields(response) == ["slug"]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            *refusing(
                kind=["movie"], funnel_stage=["nurture"],
                url=["example.com/x", "ftp://example.com/x"], title=["t" * 201], slug=["Bad Slug"],
                colour=["red"], gated=["yes"], topics=[[f"t{i}" for i in range(21)]],
            ),
            ({"form_fields": [{"name": "Company"}]}, "form_fields[0].name"),
            ({"form_fields": [{"name": "_key"}]}, "form_fields[0].name"),
            ({"personas": [{"persona": "cio", "relevance": 0}]}, "personas[0].relevance"),
            ({"personas": [{"persona": "cio", "relevance": 4}]}, "personas[0].relevance"),
        ],
    )  # fmt: skip
    async def test_bad_bodies_are_400_naming_the_field(
        self, client: httpx.AsyncClient, editor: Headers, changes: dict[str, Any], field: str
    ) -> None:
        body = {"title": "x", "kind": "guide", "funnel_stage": "attract", **changes}
        assert_names(await client.post(ASSETS, json=body, headers=editor), field)
        assert (await client.get(ASSETS, headers=editor)).json()["items"] == []


class TestGating:
    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"gated": True, "delivery_url": None}, "delivery_url"),
            ({"gated": False, "delivery_url": None}, "form_fields"),
            ({"gated": False, "form_fields": []}, "delivery_url"),
            ({"form_fields": [{"name": "company"}, {"name": "company"}]}, "form_fields"),
            ({"form_fields": [{"name": "email", "required": False}]}, "form_fields"),
        ],
    )
    async def test_inconsistent_gating_is_422_naming_the_field(
        self, client: httpx.AsyncClient, editor: Headers, changes: dict[str, Any], field: str
    ) -> None:
        response = await client.post(ASSETS, json={**GATED, **changes}, headers=editor)
        assert_names(response, field, 422)

    async def test_ungating_must_clear_the_form_in_the_same_change(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_asset(client, editor, **GATED)
        half = await client.patch(
            f"{ASSETS}/cloud-cost-guide", json={"gated": False}, headers=editor
        )
        assert half.status_code == 422
        whole = await client.patch(
            f"{ASSETS}/cloud-cost-guide",
            json={"gated": False, "form_fields": [], "delivery_url": None},
            headers=editor,
        )
        assert whole.status_code == 200, whole.text
        assert whole.json()["gated"] is False
        assert whole.json()["delivery_url"] is None


class TestUpdateAsset:
    async def test_partial_update_replaces_lists_whole(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_persona(client, editor, "cio")
        await make_persona(client, editor, "cfo")
        await make_asset(
            client, editor, slug="guide", topics=["a", "b"], url="https://example.com/g",
            personas=[{"persona": "cio"}],
        )  # fmt: skip
        response = await client.patch(
            f"{ASSETS}/guide",
            json={"topics": ["c"], "url": None, "personas": [{"persona": "cfo", "relevance": 1}]},
            headers={**editor, "If-Match": '"1"'},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["topics"] == ["c"]
        assert body["url"] is None
        assert [(p["slug"], p["relevance"]) for p in body["personas"]] == [("cfo", 1)]
        assert body["title"] == "Cloud Cost Guide"
        assert response.headers["etag"] == '"2"'

    async def test_a_stale_if_match_is_412_and_changes_nothing(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_asset(client, editor, slug="guide")
        await client.patch(f"{ASSETS}/guide", json={"title": "New"}, headers=editor)
        stale = await client.patch(
            f"{ASSETS}/guide", json={"title": "Stale"}, headers={**editor, "If-Match": '"1"'}
        )
        assert stale.status_code == 412
        assert (await client.get(f"{ASSETS}/guide", headers=editor)).json()["title"] == "New"

    async def test_null_is_refused_for_a_required_field(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_asset(client, editor, slug="guide")
        response = await client.patch(f"{ASSETS}/guide", json={"title": None}, headers=editor)
        assert response.status_code == 400
        assert error_fields(response) == ["title"]

    async def test_unknown_asset_is_404(self, client: httpx.AsyncClient, editor: Headers) -> None:
        response = await client.patch(f"{ASSETS}/nothing", json={"title": "x"}, headers=editor)
        assert response.status_code == 404


class TestArchiveAndDelete:
    async def test_archive_hides_unarchive_restores(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_asset(client, editor, slug="guide")
        archived = await client.post(f"{ASSETS}/guide/archive", headers=editor)
        assert archived.json()["archived"] is True
        assert (await client.get(ASSETS, headers=editor)).json()["items"] == []
        hidden = await client.get(ASSETS, params={"archived": "true"}, headers=editor)
        assert [a["slug"] for a in hidden.json()["items"]] == ["guide"]
        restored = await client.post(f"{ASSETS}/guide/unarchive", headers=editor)
        assert restored.json()["archived"] is False

    async def test_delete(self, client: httpx.AsyncClient, editor: Headers) -> None:
        created = await make_asset(client, editor, slug="guide")
        assert (await client.delete(f"{ASSETS}/{created['id']}", headers=editor)).status_code == 204
        assert (await client.get(f"{ASSETS}/guide", headers=editor)).status_code == 404


class TestListAssets:
    async def test_filters_combine(self, client: httpx.AsyncClient, editor: Headers) -> None:
        cio = await make_persona(client, editor, "cio")
        await make_persona(client, editor, "cfo")
        await make_asset(client, editor, slug="a", kind="ebook", funnel_stage="convert",
                         topics=["Cloud"], personas=[{"persona": "cio"}], gated=True,
                         delivery_url="https://x.example/a")  # fmt: skip
        await make_asset(client, editor, slug="b", kind="ebook", funnel_stage="attract",
                         topics=["cloud"], personas=[{"persona": "cfo"}])  # fmt: skip
        await make_asset(client, editor, slug="c", kind="webinar", funnel_stage="convert",
                         personas=[{"persona": "cio"}])  # fmt: skip

        async def slugs(**params: Any) -> list[str]:
            response = await client.get(ASSETS, params=params, headers=editor)
            assert response.status_code == 200, response.text
            return [a["slug"] for a in response.json()["items"]]

        assert await slugs() == ["a", "b", "c"]
        assert await slugs(persona="cio") == ["a", "c"]
        assert await slugs(persona=cio["id"]) == ["a", "c"]
        assert await slugs(persona="nobody") == []
        assert await slugs(funnel_stage="convert") == ["a", "c"]
        assert await slugs(kind="ebook") == ["a", "b"]
        assert await slugs(topic="CLOUD") == ["a", "b"]
        assert await slugs(gated="true") == ["a"]
        assert await slugs(kind="ebook", persona="cio", funnel_stage="convert") == ["a"]

    async def test_pages_are_stable_while_assets_are_added(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        for i in range(5):
            await make_asset(client, editor, slug=f"a{i}")
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get(ASSETS, params=params, headers=editor)).json()
            seen += [a["slug"] for a in page["items"]]
            await make_asset(client, editor, slug=f"late{len(seen)}")
            if (cursor := page["next_cursor"]) is None:
                break
        assert [s for s in seen if s.startswith("a")] == [f"a{i}" for i in range(5)]
        assert len(seen) == len(set(seen))

    @pytest.mark.parametrize(
        "params",
        [{"limit": 0}, {"limit": 501}, {"cursor": "x"}, {"kind": "movie"}, {"persona_id": "x"}],
    )
    async def test_bad_parameters_are_400(
        self, client: httpx.AsyncClient, editor: Headers, params: dict[str, Any]
    ) -> None:
        response = await client.get(ASSETS, params=params, headers=editor)
        assert response.status_code == 400
        assert error_fields(response) == list(params)


class TestAssetAccess:
    async def test_reader_reads_but_cannot_write(
        self, client: httpx.AsyncClient, reader: Headers, editor: Headers
    ) -> None:
        await make_asset(client, editor, slug="guide")
        assert (await client.get(f"{ASSETS}/guide", headers=reader)).status_code == 200
        for response in [
            await client.post(ASSETS, json={"title": "x"}, headers=reader),
            await client.patch(f"{ASSETS}/guide", json={"title": "x"}, headers=reader),
            await client.delete(f"{ASSETS}/guide", headers=reader),
        ]:
            assert response.status_code == 403

    async def test_no_key_is_401(self, client: httpx.AsyncClient) -> None:
        assert (await client.get(ASSETS)).status_code == 401


@pytest.mark.committing
class TestConcurrentCreates:
    async def test_one_slug_one_winner(
        self, committing_client: httpx.AsyncClient, committing_admin: Headers
    ) -> None:
        body = {"slug": "race", "title": "Race", "kind": "guide", "funnel_stage": "attract"}
        responses = await asyncio.gather(
            *(committing_client.post(ASSETS, json=body, headers=committing_admin) for _ in range(8))
        )
        assert sorted(r.status_code for r in responses) == [201] + [409] * 7
