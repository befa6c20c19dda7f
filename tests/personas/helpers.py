"""Builders and checks shared by the persona tests."""

import re
from typing import Any

import httpx

from tests.conftest import Headers
from tests.problems import body_of
from tests.problems import error_fields as problem_fields

PERSONAS = "/api/v1/personas"
ASSETS = "/api/v1/assets"
UNKNOWN_ID = "01a20c4a-c977-72f1-b9e6-5e758768b236"

# Pydantic puts the operator of a tagged union into the error path (`rules[0].equals.weight`);
# the checks below compare paths without it, so that they name the field as the body spells it.
_UNION_TAG = re.compile(r"(?<=\])\.(?:contains_any|equals|one_of|between)(?=\.|\[|$)")


async def create(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    """Create a persona (named "IT Director" unless told otherwise) and return its body."""
    response = await client.post(PERSONAS, json={"name": "IT Director", **fields}, headers=headers)
    return body_of(response, 201)


async def read(client: httpx.AsyncClient, headers: Headers, ref: str) -> httpx.Response:
    return await client.get(f"{PERSONAS}/{ref}", headers=headers)


async def slugs(client: httpx.AsyncClient, headers: Headers, **params: Any) -> list[str]:
    """The slugs of the first page of the list, in order."""
    response = await client.get(PERSONAS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [p["slug"] for p in response.json()["items"]]


async def tag_asset(
    client: httpx.AsyncClient, headers: Headers, persona: str, *, slug: str = "guide"
) -> None:
    """Create an asset tagged to ``persona`` with high relevance."""
    response = await client.post(
        ASSETS,
        json={
            "slug": slug,
            "title": "Cloud Cost Guide",
            "kind": "guide",
            "funnel_stage": "attract",
            "personas": [{"persona": persona, "relevance": 3}],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text


def error_fields(response: httpx.Response) -> list[str]:
    """The fields a problem-details answer names, without the tag of a rule's operator."""
    return [_UNION_TAG.sub("", field) for field in problem_fields(response)]


def rule(**fields: Any) -> dict[str, Any]:
    """A persona body with this one rule."""
    return {"name": "x", "rules": [fields]}


RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO", "IT director"]},
    {"field": "company_size", "operator": "between", "min": 200, "weight": 2},
    {"field": "country", "operator": "one_of", "values": ["DE", "AT"], "weight": 0.5},
    {"field": "industry", "operator": "equals", "value": "Software", "weight": 100},
    {"field": "form.budget_band", "operator": "between", "min": 1, "max": 5},
    {"field": "form.custom_field", "operator": "contains_any", "values": ["yes"]},
]
EMPTY_RANGE_RULE = {"field": "company_size", "operator": "between", "min": 9, "max": 1}
UUID_SHAPED = "01A20C4A-C977-72F1-B9E6-5E758768B236"
