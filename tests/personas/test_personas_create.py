"""The content team's personas over HTTP: creating them."""

from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.personas.helpers import (
    EMPTY_RANGE_RULE,
    PERSONAS,
    RULES,
    UUID_SHAPED,
    create,
    error_fields,
    read,
    rule,
    slugs,
)
from tests.problems import assert_names, assert_problem

# The same rules as the API keeps them: defaults filled in, nothing else changed.
STORED_RULES: list[dict[str, Any]] = [
    {"weight": 1, **RULES[0]},
    {"max": None, **RULES[1]},
    RULES[2],
    RULES[3],
    {"weight": 1, **RULES[4]},
    {"weight": 1, **RULES[5]},
]


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
