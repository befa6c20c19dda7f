"""Inputs and races found by review: each once answered 500 or silently did the wrong thing."""

import asyncio

import httpx
import pytest

from tests.conftest import Headers
from tests.content.helpers import ASSETS, PERSONAS, make_asset, make_persona

UUID = "01a20ca6-b5a3-71c3-bc07-6f1ab7505195"


class TestOddInputs:
    @pytest.mark.parametrize(
        "path",
        [f"{PERSONAS}/{UUID}%0A", f"{ASSETS}/{UUID}%0A", f"{ASSETS}?persona={UUID}%0A"],
    )
    async def test_an_id_with_a_trailing_newline_is_not_an_id(
        self, client: httpx.AsyncClient, editor: Headers, path: str
    ) -> None:
        response = await client.get(path, headers=editor)
        assert response.status_code in {200, 404}, response.text
        if response.status_code == 200:
            assert response.json()["items"] == []

    async def test_a_topic_that_grows_when_lower_cased_is_refused(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        body = {"title": "x", "kind": "guide", "funnel_stage": "attract", "topics": ["İ" * 64]}
        response = await client.post(ASSETS, json=body, headers=editor)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "topics[0]"

    async def test_a_deeply_nested_body_is_400(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        body = b'{"name": "x", "goals": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        response = await client.post(
            PERSONAS, content=body, headers={**editor, "Content-Type": "application/json"}
        )
        assert response.status_code == 400

    async def test_a_query_parameter_given_twice_is_refused(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        response = await client.get(f"{ASSETS}?kind=ebook&kind=video", headers=editor)
        assert response.status_code == 400
        assert response.json()["errors"][0] == {
            "field": "kind",
            "message": "given more than once",
            "source": "query",
        }

    @pytest.mark.parametrize("order", [('"9"', '"1"'), ('"1"', '"9"')])
    async def test_every_if_match_header_counts(
        self, client: httpx.AsyncClient, editor: Headers, order: tuple[str, str]
    ) -> None:
        await make_persona(client, editor, "cio")
        headers = [*editor.items(), *(("If-Match", tag) for tag in order)]
        response = await client.patch(f"{PERSONAS}/cio", json={"priority": 1}, headers=headers)
        assert response.status_code == 200, response.text


class TestPartialUpdatesKeepNestedDefaults:
    async def test_a_tag_without_relevance_gets_the_default(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_persona(client, editor, "cio")
        await make_asset(client, editor, slug="guide")
        response = await client.patch(
            f"{ASSETS}/guide", json={"personas": [{"persona": "cio"}]}, headers=editor
        )
        assert response.status_code == 200, response.text
        assert response.json()["personas"][0]["relevance"] == 2

    async def test_a_form_field_without_label_or_required(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_asset(
            client, editor, slug="guide", gated=True, delivery_url="https://x.example/g"
        )
        response = await client.patch(
            f"{ASSETS}/guide", json={"form_fields": [{"name": "company"}]}, headers=editor
        )
        assert response.status_code == 200, response.text
        assert response.json()["form_fields"][1] == {
            "name": "company",
            "label": None,
            "required": True,
            "type": None,
            "options": None,
            "text_version": None,
        }

    async def test_a_rule_without_weight_is_stored_like_on_create(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_persona(client, editor, "cio")
        rule = {"field": "job_title", "operator": "equals", "value": "CMO"}
        response = await client.patch(f"{PERSONAS}/cio", json={"rules": [rule]}, headers=editor)
        assert response.json()["rules"] == [{**rule, "weight": 1.0}]


@pytest.mark.committing
class TestTaggingWhileAPersonaIsDeleted:
    async def test_never_a_500(
        self, committing_client: httpx.AsyncClient, committing_admin: Headers
    ) -> None:
        client, admin = committing_client, committing_admin
        for round_ in range(8):
            slug = f"p{round_}"
            await make_persona(client, admin, slug)
            await make_asset(client, admin, slug=f"a{round_}", personas=[{"persona": slug}])
            tag, delete = await asyncio.gather(
                client.put(
                    f"{ASSETS}/a{round_}/personas",
                    json={"personas": [{"persona": slug, "relevance": 3}]},
                    headers=admin,
                ),
                client.delete(f"{PERSONAS}/{slug}", params={"force": "true"}, headers=admin),
            )
            assert tag.status_code in {200, 422}, tag.text
            assert delete.status_code == 204, delete.text


class TestEtagsFollowTheRepresentation:
    async def test_a_new_site_key_moves_the_site_version(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        site = (await client.post("/api/v1/sites", json={"name": "Main"}, headers=admin)).json()
        before = await client.get(f"/api/v1/sites/{site['id']}", headers=admin)
        await client.post(f"/api/v1/sites/{site['id']}/keys", headers=admin)
        after = await client.get(f"/api/v1/sites/{site['id']}", headers=admin)
        assert len(after.json()["keys"]) == 2
        assert after.headers["etag"] != before.headers["etag"]

    async def test_replacing_tags_answers_the_new_etag(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await make_persona(client, editor, "cio")
        await make_asset(client, editor, slug="guide")
        response = await client.put(
            f"{ASSETS}/guide/personas", json={"personas": [{"persona": "cio"}]}, headers=editor
        )
        assert response.headers["etag"] == '"2"'
        assert (await client.get(f"{ASSETS}/guide", headers=editor)).headers["etag"] == '"2"'
