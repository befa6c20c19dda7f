"""The content team's personas: creating, reading and changing them, over HTTP."""

from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.personas.helpers import (
    PERSONAS,
    UNKNOWN_ID,
    create,
    error_fields,
    read,
    rule,
    slugs,
)
from tests.problems import assert_names, assert_problem

RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO", "IT director"]},
    {"field": "company_size", "operator": "between", "min": 200, "weight": 2},
    {"field": "country", "operator": "one_of", "values": ["DE", "AT"], "weight": 0.5},
    {"field": "industry", "operator": "equals", "value": "Software", "weight": 100},
    {"field": "form.budget_band", "operator": "between", "min": 1, "max": 5},
    {"field": "form.custom_field", "operator": "contains_any", "values": ["yes"]},
]
# The same rules as the API keeps them: defaults filled in, nothing else changed.
STORED_RULES: list[dict[str, Any]] = [
    {"weight": 1, **RULES[0]},
    {"max": None, **RULES[1]},
    RULES[2],
    RULES[3],
    {"weight": 1, **RULES[4]},
    {"weight": 1, **RULES[5]},
]
SHOE_SIZE_RULE = {"field": "shoe_size", "operator": "equals", "value": "9"}
EMPTY_RANGE_RULE = {"field": "company_size", "operator": "between", "min": 9, "max": 1}
UUID_SHAPED = "01A20C4A-C977-72F1-B9E6-5E758768B236"


class TestCreatePersona:
    async def test_everything_given_is_stored_and_located(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        given = {
            "slug": "cio",
            "name": "Chief Information Officer",
            "description": "Owns the IT budget.",
            "goals": ["Cut costs", "Fewer vendors"],
            "pain_points": ["Legacy systems", "Shadow IT"],
            "rules": RULES,
            "priority": 5,
        }
        response = await client.post(PERSONAS, json=given, headers=editor)
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["location"] == f"{PERSONAS}/{body['id']}"
        assert {k: body[k] for k in given if k != "rules"} == {
            k: v for k, v in given.items() if k != "rules"
        }
        assert body["rules"] == STORED_RULES
        assert body["archived"] is False
        assert body["archived_at"] is None
        assert body["version"] == 1
        assert body["created_at"].endswith("Z")
        located = await client.get(response.headers["location"], headers=editor)
        assert located.json() == body

    async def test_the_slug_is_made_from_the_name(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        body = await create(client, editor, name="  Marketing Manager (EMEA)  ")
        assert body["name"] == "Marketing Manager (EMEA)"
        assert body["slug"] == "marketing-manager-emea"
        assert (await read(client, editor, "marketing-manager-emea")).status_code == 200

    async def test_defaults_for_what_is_left_out(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        body = await create(client, editor, name="CFO")
        assert body["description"] is None
        assert body["goals"] == body["pain_points"] == body["rules"] == []
        assert body["priority"] == 0

    @pytest.mark.parametrize(
        "fields",
        [
            {"name": "n" * 200},
            {"slug": "s" * 64},
            {"slug": "it-director-2"},
            {"priority": 1000},
            {"priority": -1000},
            {"priority": 3.0},
            {"description": "d" * 5000},
            {"goals": ["g"] * 50},
            {"rules": [{"field": "form.custom_field", "operator": "equals", "value": "x"}]},
            {"rules": [{"field": "form.custom_field", "operator": "one_of", "values": ["a"]}]},
            {"rules": [{"field": "form.seats", "operator": "between", "max": 10}]},
            {"rules": [{"field": "company_size", "operator": "between", "min": 5, "max": 5}]},
        ],
    )
    async def test_values_at_the_limits_are_accepted(
        self, client: httpx.AsyncClient, editor: Headers, fields: dict[str, Any]
    ) -> None:
        body = await create(client, editor, **fields)
        for name, value in fields.items():
            if name != "rules":
                assert body[name] == value
        assert len(body["rules"]) == len(fields.get("rules", []))

    async def test_a_duplicate_slug_is_409_naming_the_slug(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, slug="cio")
        response = await client.post(
            PERSONAS, json={"name": "Other", "slug": "cio"}, headers=editor
        )
        assert response.status_code == 409
        assert error_fields(response) == ["slug"]
        assert response.json()["type"].endswith("slug-taken")
        assert (await read(client, editor, "cio")).json()["name"] == "IT Director"

    async def test_a_name_whose_slug_is_taken_is_409(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        await create(client, editor, name="IT Director")
        response = await client.post(PERSONAS, json={"name": "IT director"}, headers=editor)
        assert response.status_code == 409
        assert error_fields(response) == ["slug"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "x", "colour": "red"}, "colour"),
            ({}, "name"),
            ({"name": 5}, "name"),
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"name": "x", "slug": 5}, "slug"),
            ({"name": "x", "slug": "CIO"}, "slug"),
            ({"name": "x", "slug": "it director"}, "slug"),
            ({"name": "x", "slug": "-it"}, "slug"),
            ({"name": "x", "slug": "s" * 65}, "slug"),
            ({"name": "x", "slug": UUID_SHAPED.lower()}, "slug"),
            ({"name": "x", "slug": UUID_SHAPED}, "slug"),
            ({"name": "x", "description": 5}, "description"),
            ({"name": "x", "description": "d" * 5001}, "description"),
            ({"name": "x", "goals": "one goal"}, "goals"),
            ({"name": "x", "goals": [1]}, "goals[0]"),
            ({"name": "x", "goals": ["g"] * 51}, "goals"),
            ({"name": "x", "pain_points": ["ok", " "]}, "pain_points[1]"),
            ({"name": "x", "priority": "5"}, "priority"),
            ({"name": "x", "priority": True}, "priority"),
            ({"name": "x", "priority": 1.5}, "priority"),
            ({"name": "x", "priority": 1001}, "priority"),
            ({"name": "x", "rules": {}}, "rules"),
            (rule(field="shoe_size", operator="equals", value="9"), "rules[0].field"),
            (rule(field="form.Budget", operator="equals", value="9"), "rules[0].field"),
            (rule(field="country", operator="equals", value="DE", colour=1), "rules[0].colour"),
            (rule(field="country", operator="near", value="DE"), "rules[0].operator"),
            (rule(field="country", value="DE"), "rules[0].operator"),
            (rule(field="country", operator="equals"), "rules[0].value"),
            (rule(field="country", operator="equals", value="DE", weight=0), "rules[0].weight"),
            (rule(field="country", operator="equals", value="DE", weight=-1), "rules[0].weight"),
            (rule(field="country", operator="equals", value="DE", weight=101), "rules[0].weight"),
            (rule(field="country", operator="equals", value="DE", weight="2"), "rules[0].weight"),
            (rule(field="country", operator="one_of", values=[]), "rules[0].values"),
            (rule(field="country", operator="one_of", values="DE"), "rules[0].values"),
            (rule(field="country", operator="contains_any", values=[""]), "rules[0].values[0]"),
            (rule(field="company_size", operator="between"), "rules[0]"),
            (rule(field="company_size", operator="between", min="5"), "rules[0].min"),
            (rule(field="job_title", operator="between", min=1), "rules[0].field"),
            (rule(field="country", operator="between", min=1, max=2), "rules[0].field"),
            (
                {"name": "x", "rules": [RULES[0], {**RULES[1], "weight": 0}]},
                "rules[1].weight",
            ),
        ],
    )  # fmt: skip
    async def test_bad_bodies_are_400_naming_the_field(
        self, client: httpx.AsyncClient, editor: Headers, body: dict[str, Any], field: str
    ) -> None:
        response = await client.post(PERSONAS, json=body, headers=editor)
        assert_names(response, field)
        assert await slugs(client, editor) == []

    async def test_a_well_formed_rule_that_can_never_match_is_422(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        response = await client.post(
            PERSONAS, json={"name": "x", "rules": [EMPTY_RANGE_RULE]}, headers=editor
        )
        assert response.status_code == 422, response.text
        assert error_fields(response) == ["rules[0].min"]
        assert await slugs(client, editor) == []

    async def test_a_name_without_slug_material_asks_for_a_slug(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        response = await client.post(PERSONAS, json={"name": "!!!"}, headers=editor)
        assert response.status_code == 422
        assert error_fields(response) == ["slug"]

    async def test_a_body_that_is_not_json_is_400(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        response = await client.post(
            PERSONAS, content=b'{"name": ', headers={**editor, "Content-Type": "application/json"}
        )
        assert_problem(response, 400)


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
