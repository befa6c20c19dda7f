"""The content team's personas: create, read, change, archive, delete, list."""

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import Headers

PERSONAS = "/api/v1/personas"
RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO", "IT director"]},
    {"field": "company_size", "operator": "between", "min": 200, "weight": 2},
    {"field": "country", "operator": "one_of", "values": ["DE", "AT"], "weight": 0.5},
    {"field": "form.budget", "operator": "equals", "value": "yes"},
]


async def create(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    response = await client.post(PERSONAS, json={"name": "IT Director", **fields}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def rule(**fields: Any) -> dict[str, Any]:
    """A persona body with one rule."""
    return {"name": "x", "rules": [fields]}


def error_fields(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json().get("errors") or []]


class TestCreatePersona:
    async def test_created_with_everything_given(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        response = await client.post(
            PERSONAS,
            json={
                "slug": "cio",
                "name": "Chief Information Officer",
                "description": "Owns the IT budget.",
                "goals": ["Cut costs", "Fewer vendors"],
                "pain_points": ["Legacy systems"],
                "rules": RULES,
                "priority": 5,
            },
            headers=editor,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["location"] == f"{PERSONAS}/{body['id']}"
        assert body["slug"] == "cio"
        assert body["goals"] == ["Cut costs", "Fewer vendors"]
        assert body["pain_points"] == ["Legacy systems"]
        assert [r["field"] for r in body["rules"]] == [r["field"] for r in RULES]
        assert body["rules"][1]["min"] == 200
        assert body["priority"] == 5
        assert body["archived"] is False
        assert body["version"] == 1

    async def test_slug_is_made_from_the_name(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        body = await create(client, editor, name="  Marketing Manager (EMEA)  ")
        assert body["name"] == "Marketing Manager (EMEA)"
        assert body["slug"] == "marketing-manager-emea"

    async def test_a_duplicate_slug_is_409_naming_the_slug(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        response = await client.post(
            PERSONAS, json={"name": "Other", "slug": "cio"}, headers=editor
        )
        assert response.status_code == 409
        assert error_fields(response) == ["slug"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "x", "colour": "red"}, "colour"),
            ({"name": 5}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"name": "   "}, "name"),
            ({}, "name"),
            ({"name": "x", "slug": "Not A Slug"}, "slug"),
            ({"name": "x", "slug": "01a20c4a-c977-72f1-b9e6-5e758768b236"}, "slug"),
            ({"name": "x", "goals": "one goal"}, "goals"),
            ({"name": "x", "goals": [""]}, "goals[0]"),
            ({"name": "x", "priority": "5"}, "priority"),
            ({"name": "x", "priority": 1001}, "priority"),
            (rule(field="shoe_size", operator="equals", value="9"), "rules[0]"),
            (rule(field="country", operator="near", value="DE"), "rules[0]"),
            (rule(field="country", operator="one_of", values=[]), "rules[0]"),
            (rule(field="country", operator="equals", value="DE", weight=0), "rules[0]"),
            (rule(field="company_size", operator="between"), "rules[0]"),
            (rule(field="job_title", operator="between", min=1), "rules[0]"),
        ],
    )  # fmt: skip
    async def test_bad_bodies_are_400_naming_the_field(
        self, client: httpx.AsyncClient, editor: Headers, body: dict[str, Any], field: str
    ) -> None:
        response = await client.post(PERSONAS, json=body, headers=editor)
        assert response.status_code == 400, response.text
        assert any(
            f == field or f.startswith((f"{field}.", f"{field}[")) for f in error_fields(response)
        )
        assert (await client.get(PERSONAS, headers=editor)).json()["items"] == []

    async def test_an_empty_range_is_422_naming_the_rule(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        rule = {"field": "company_size", "operator": "between", "min": 500, "max": 10}
        response = await client.post(PERSONAS, json={"name": "x", "rules": [rule]}, headers=editor)
        assert response.status_code == 422
        assert error_fields(response) == ["rules[0].min"]

    async def test_a_name_without_slug_material_asks_for_a_slug(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        response = await client.post(PERSONAS, json={"name": "!!!"}, headers=editor)
        assert response.status_code == 422
        assert error_fields(response) == ["slug"]


class TestReadPersona:
    async def test_by_id_and_by_slug_with_an_etag(
        self, client: httpx.AsyncClient, reader: Headers, editor: Headers
    ) -> None:
        created = await create(client, editor, slug="cio")
        by_id = await client.get(f"{PERSONAS}/{created['id']}", headers=reader)
        by_slug = await client.get(f"{PERSONAS}/cio", headers=reader)
        assert by_id.json() == by_slug.json() == created
        assert by_id.headers["etag"] == '"1"'

    @pytest.mark.parametrize("ref", ["nobody", "01a20c4a-c977-72f1-b9e6-5e758768b236"])
    async def test_unknown_is_404(
        self, client: httpx.AsyncClient, reader: Headers, ref: str
    ) -> None:
        response = await client.get(f"{PERSONAS}/{ref}", headers=reader)
        assert response.status_code == 404
        assert response.json()["status"] == 404


class TestUpdatePersona:
    async def test_only_the_given_fields_change(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        created = await create(client, editor, slug="cio", goals=["a"], description="d")
        response = await client.patch(
            f"{PERSONAS}/cio", json={"goals": ["b"], "description": None}, headers=editor
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["goals"] == ["b"]
        assert body["description"] is None
        assert body["name"] == created["name"]
        assert body["version"] == 2
        assert response.headers["etag"] == '"2"'

    async def test_the_slug_can_change(self, client: httpx.AsyncClient, editor: Headers) -> None:
        await create(client, editor, slug="cio")
        response = await client.patch(f"{PERSONAS}/cio", json={"slug": "it-lead"}, headers=editor)
        assert response.json()["slug"] == "it-lead"
        assert (await client.get(f"{PERSONAS}/cio", headers=editor)).status_code == 404
        assert (await client.get(f"{PERSONAS}/it-lead", headers=editor)).status_code == 200

    async def test_null_is_refused_where_a_value_is_required(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        response = await client.patch(f"{PERSONAS}/cio", json={"name": None}, headers=editor)
        assert response.status_code == 400
        assert error_fields(response) == ["name"]

    async def test_renaming_onto_a_taken_slug_is_409(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        await create(client, editor, slug="cfo", name="CFO")
        response = await client.patch(f"{PERSONAS}/cfo", json={"slug": "cio"}, headers=editor)
        assert response.status_code == 409
        assert (await client.get(f"{PERSONAS}/cfo", headers=editor)).json()["name"] == "CFO"

    async def test_if_match_guards_against_lost_updates(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        first = await client.patch(
            f"{PERSONAS}/cio", json={"priority": 1}, headers={**editor, "If-Match": '"1"'}
        )
        assert first.status_code == 200
        stale = await client.patch(
            f"{PERSONAS}/cio", json={"priority": 2}, headers={**editor, "If-Match": '"1"'}
        )
        assert stale.status_code == 412
        assert (await client.get(f"{PERSONAS}/cio", headers=editor)).json()["priority"] == 1


class TestArchivePersona:
    async def test_archived_personas_leave_the_default_list(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        await create(client, editor, slug="cfo", name="CFO")
        archived = await client.post(f"{PERSONAS}/cio/archive", headers=editor)
        assert archived.status_code == 200
        assert archived.json()["archived"] is True
        assert archived.json()["archived_at"] is not None
        active = await client.get(PERSONAS, headers=editor)
        assert [p["slug"] for p in active.json()["items"]] == ["cfo"]
        gone = await client.get(PERSONAS, params={"archived": "true"}, headers=editor)
        assert [p["slug"] for p in gone.json()["items"]] == ["cio"]

    async def test_unarchive_and_patch_restore(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        await client.post(f"{PERSONAS}/cio/archive", headers=editor)
        restored = await client.post(f"{PERSONAS}/cio/unarchive", headers=editor)
        assert restored.json()["archived"] is False
        assert restored.json()["archived_at"] is None
        patched = await client.patch(f"{PERSONAS}/cio", json={"archived": True}, headers=editor)
        assert patched.json()["archived"] is True


class TestDeletePersona:
    async def test_an_untagged_persona_is_deleted(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        assert (await client.delete(f"{PERSONAS}/cio", headers=editor)).status_code == 204
        assert (await client.get(f"{PERSONAS}/cio", headers=editor)).status_code == 404

    async def test_a_tagged_persona_is_kept_unless_forced(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        asset = await client.post(
            "/api/v1/assets",
            json={
                "slug": "guide",
                "title": "Guide",
                "kind": "guide",
                "funnel_stage": "attract",
                "personas": [{"persona": "cio", "relevance": 3}],
            },
            headers=editor,
        )
        assert asset.status_code == 201, asset.text
        refused = await client.delete(f"{PERSONAS}/cio", headers=editor)
        assert refused.status_code == 409
        assert "force=true" in refused.json()["detail"]
        forced = await client.delete(f"{PERSONAS}/cio", params={"force": "true"}, headers=editor)
        assert forced.status_code == 204
        tags = await client.get("/api/v1/assets/guide/personas", headers=editor)
        assert tags.json() == []


class TestPersonaAccess:
    async def test_no_key_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get(PERSONAS)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_a_reader_cannot_write(self, client: httpx.AsyncClient, reader: Headers) -> None:
        assert (await client.get(PERSONAS, headers=reader)).status_code == 200
        response = await client.post(PERSONAS, json={"name": "x"}, headers=reader)
        assert response.status_code == 403
        assert "content:write" in response.json()["detail"]


class TestListPersonas:
    async def test_pages_see_every_persona_once_while_others_are_added(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        for i in range(5):
            await create(client, editor, slug=f"p{i}", name=f"P{i}")
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get(PERSONAS, params=params, headers=editor)).json()
            seen += [p["slug"] for p in page["items"]]
            await create(client, editor, slug=f"late{len(seen)}", name="Late")
            cursor = page["next_cursor"]
            if cursor is None:
                break
        originals = [s for s in seen if s.startswith("p")]
        assert originals == [f"p{i}" for i in range(5)]
        assert len(seen) == len(set(seen))

    @pytest.mark.parametrize(
        ("params", "field"),
        [({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"cursor": "nope"}, "cursor")],
    )
    async def test_bad_paging_is_400(
        self, client: httpx.AsyncClient, editor: Headers, params: dict[str, Any], field: str
    ) -> None:
        response = await client.get(PERSONAS, params=params, headers=editor)
        assert response.status_code == 400
        assert error_fields(response) == [field]

    async def test_limit_500_is_allowed(self, client: httpx.AsyncClient, editor: Headers) -> None:
        response = await client.get(PERSONAS, params={"limit": 500}, headers=editor)
        assert response.status_code == 200


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
        assert statuses == [201] + [409] * (racers - 1)
        listed = await committing_client.get(PERSONAS, headers=committing_admin)
        assert [p["slug"] for p in listed.json()["items"]] == ["racer"]


RACERS = 20


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
                for i in range(RACERS)
            )
        )
        assert sorted(r.status_code for r in responses) == [200] + [412] * (RACERS - 1)
        final = await committing_client.get(f"{PERSONAS}/cio", headers=committing_admin)
        assert final.json()["version"] == 2
