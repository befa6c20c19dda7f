"""The content team's personas over HTTP: reading and changing them."""

from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.personas.helpers import (
    EMPTY_RANGE_RULE,
    PERSONAS,
    RULES,
    UNKNOWN_ID,
    UUID_SHAPED,
    create,
    error_fields,
    read,
)
from tests.problems import assert_names, assert_problem

SHOE_SIZE_RULE = {"field": "shoe_size", "operator": "equals", "value": "9"}


class TestReadPersona:
    async def test_by_id_and_by_slug_with_an_etag(
        self, client: httpx.AsyncClient, reader: Headers, editor: Headers
    ) -> None:
        created = await create(client, editor, slug="cio", rules=RULES)
        by_id = await read(client, reader, created["id"])
        by_slug = await read(client, reader, "cio")
        assert by_id.status_code == by_slug.status_code == 200
        assert by_id.json() == by_slug.json() == created
        assert by_id.headers["etag"] == by_slug.headers["etag"] == '"1"'

    async def test_the_etag_follows_the_version(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        await client.patch(f"{PERSONAS}/cio", json={"priority": 1}, headers=editor)
        response = await read(client, editor, "cio")
        assert response.json()["version"] == 2
        assert response.headers["etag"] == '"2"'

    @pytest.mark.parametrize("ref", ["nobody", UNKNOWN_ID])
    async def test_unknown_is_404(
        self, client: httpx.AsyncClient, editor: Headers, reader: Headers, ref: str
    ) -> None:
        await create(client, editor, slug="cio")
        response = await read(client, reader, ref)
        assert_problem(response, 404)
        assert response.json()["type"].endswith("persona-not-found")

    async def test_an_overlong_ref_is_400(self, client: httpx.AsyncClient, reader: Headers) -> None:
        response = await read(client, reader, "r" * 65)
        assert response.status_code == 400
        assert error_fields(response) == ["ref"]


class TestUpdatePersona:
    async def test_only_the_given_fields_change(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        created = await create(client, editor, slug="cio", goals=["a"], rules=RULES, priority=4)
        response = await client.patch(
            f"{PERSONAS}/cio", json={"goals": ["b", "c"], "name": "CIO"}, headers=editor
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["goals"] == ["b", "c"]
        assert body["name"] == "CIO"
        unchanged = {"id", "slug", "description", "pain_points", "rules", "priority", "created_at"}
        assert {k: body[k] for k in unchanged} == {k: created[k] for k in unchanged}
        assert body["version"] == 2
        assert body["updated_at"] > created["updated_at"]
        assert response.headers["etag"] == '"2"'
        assert (await read(client, editor, "cio")).json() == body

    async def test_by_id(self, client: httpx.AsyncClient, editor: Headers) -> None:
        created = await create(client, editor)
        response = await client.patch(
            f"{PERSONAS}/{created['id']}", json={"priority": 7}, headers=editor
        )
        assert response.status_code == 200
        assert response.json()["priority"] == 7

    async def test_null_clears_the_description(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio", description="Owns the budget.")
        response = await client.patch(f"{PERSONAS}/cio", json={"description": None}, headers=editor)
        assert response.status_code == 200
        assert response.json()["description"] is None
        assert (await read(client, editor, "cio")).json()["description"] is None

    @pytest.mark.parametrize(
        "field", ["name", "slug", "goals", "pain_points", "rules", "priority", "archived"]
    )
    async def test_null_is_refused_where_a_value_is_required(
        self, client: httpx.AsyncClient, editor: Headers, field: str
    ) -> None:
        created = await create(client, editor, slug="cio")
        response = await client.patch(f"{PERSONAS}/cio", json={field: None}, headers=editor)
        assert response.status_code == 400
        assert error_fields(response) == [field]
        assert (await read(client, editor, "cio")).json() == created

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"colour": "red"}, "colour"),
            ({"name": "x" * 201}, "name"),
            ({"slug": "Not A Slug"}, "slug"),
            ({"slug": UUID_SHAPED.lower()}, "slug"),
            ({"archived": "true"}, "archived"),
            ({"rules": [SHOE_SIZE_RULE]}, "rules[0].field"),
        ],
    )  # fmt: skip
    async def test_bad_changes_are_400_and_change_nothing(
        self, client: httpx.AsyncClient, editor: Headers, body: dict[str, Any], field: str
    ) -> None:
        created = await create(client, editor, slug="cio")
        response = await client.patch(f"{PERSONAS}/cio", json=body, headers=editor)
        assert_names(response, field)
        assert (await read(client, editor, "cio")).json() == created

    async def test_an_empty_range_is_422_and_changes_nothing(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        created = await create(client, editor, slug="cio")
        response = await client.patch(
            f"{PERSONAS}/cio", json={"rules": [EMPTY_RANGE_RULE]}, headers=editor
        )
        assert response.status_code == 422
        assert error_fields(response) == ["rules[0].min"]
        assert (await read(client, editor, "cio")).json() == created

    async def test_rules_are_replaced_as_a_whole(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio", rules=RULES)
        response = await client.patch(f"{PERSONAS}/cio", json={"rules": [RULES[3]]}, headers=editor)
        assert response.json()["rules"] == [RULES[3]]
        cleared = await client.patch(f"{PERSONAS}/cio", json={"rules": []}, headers=editor)
        assert cleared.json()["rules"] == []

    async def test_the_slug_can_change(self, client: httpx.AsyncClient, editor: Headers) -> None:
        created = await create(client, editor, slug="cio")
        response = await client.patch(f"{PERSONAS}/cio", json={"slug": "it-lead"}, headers=editor)
        assert response.status_code == 200
        assert response.json()["slug"] == "it-lead"
        assert (await read(client, editor, "cio")).status_code == 404
        moved = await read(client, editor, "it-lead")
        assert moved.json()["id"] == created["id"]

    async def test_a_taken_slug_is_409_and_nothing_changes(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        cfo = await create(client, editor, slug="cfo", name="CFO")
        response = await client.patch(
            f"{PERSONAS}/cfo", json={"slug": "cio", "priority": 9}, headers=editor
        )
        assert response.status_code == 409
        assert error_fields(response) == ["slug"]
        assert (await read(client, editor, "cfo")).json() == cfo

    async def test_if_match_with_the_current_etag_passes(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        etag = (await read(client, editor, "cio")).headers["etag"]
        response = await client.patch(
            f"{PERSONAS}/cio", json={"priority": 1}, headers={**editor, "If-Match": etag}
        )
        assert response.status_code == 200
        assert response.headers["etag"] != etag

    async def test_a_stale_etag_is_412_and_changes_nothing(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        stale = (await read(client, editor, "cio")).headers["etag"]
        await client.patch(f"{PERSONAS}/cio", json={"priority": 1}, headers=editor)
        response = await client.patch(
            f"{PERSONAS}/cio", json={"priority": 2}, headers={**editor, "If-Match": stale}
        )
        assert response.status_code == 412
        assert error_fields(response) == ["If-Match"]
        current = await read(client, editor, "cio")
        assert current.json()["priority"] == 1
        assert current.headers["etag"] == '"2"'

    async def test_unknown_is_404(self, client: httpx.AsyncClient, editor: Headers) -> None:
        for ref in ("nobody", UNKNOWN_ID):
            response = await client.patch(f"{PERSONAS}/{ref}", json={"priority": 1}, headers=editor)
            assert response.status_code == 404
