"""Refusals name the field and say in plain words what it takes: values, not patterns."""

from typing import Any

import httpx
import pytest

from inbound.field_messages import plain_error, plain_parameter_message
from tests.conftest import Headers
from tests.support.world import capture, make_ebook_world

OPERATORS = "must be one of: contains_any, equals, one_of, between"
STAGES = "must be one of: subscriber, lead, mql, sql, opportunity, customer, evangelist"
NO_LEAD = "/api/v1/leads/00000000-0000-0000-0000-000000000000"
PERIOD = "from=2026-01-01&to=2026-01-31"
JARGON = ("pattern", "regex", "tag", "discriminator", "Input should", "Field required", "^")


async def _errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    pairs = [(e["field"], e["message"]) for e in problem["errors"]]
    for _, message in pairs:
        assert not any(word in message for word in JARGON), message
    assert problem["detail"] == "; ".join(f"{f}: {m}" for f, m in pairs)
    return pairs


def _persona(rule: dict[str, Any]) -> dict[str, Any]:
    return {"name": "IT Director", "rules": [rule]}


class TestPersonaRules:
    async def test_unknown_operator_names_the_operators(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        rule = {"field": "job_title", "operator": "like", "value": "CIO"}
        response = await client.post("/api/v1/personas", json=_persona(rule), headers=editor)
        assert await _errors(response) == [("rules[0].operator", OPERATORS)]

    async def test_missing_operator_is_required(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        rule = {"field": "job_title", "value": "CIO"}
        response = await client.post("/api/v1/personas", json=_persona(rule), headers=editor)
        assert await _errors(response) == [("rules[0].operator", "required")]

    async def test_unknown_field_lists_the_profile_fields(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        rule = {"field": "shoe_size", "operator": "equals", "value": "9"}
        response = await client.post("/api/v1/personas", json=_persona(rule), headers=editor)
        [(field, message)] = await _errors(response)
        assert field == "rules[0].field"  # the kind of rule is no part of the path
        assert message.startswith(
            "must be one of: job_title, industry, company_size, country, seniority, topic, "
            "or form.<name>"
        )

    async def test_between_without_bounds_says_so(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        rule = {"field": "company_size", "operator": "between"}
        response = await client.post("/api/v1/personas", json=_persona(rule), headers=editor)
        assert await _errors(response) == [("rules[0]", "`between` needs `min`, `max` or both")]

    async def test_every_kind_of_mistake_in_one_body(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        body = {"name": "x" * 201, "slug": "IT Director", "priority": "3", "goals": [" "],
                "rules": "none", "colour": "blue"}  # fmt: skip
        response = await client.post("/api/v1/personas", json=body, headers=editor)
        assert sorted(await _errors(response)) == [
            ("colour", "unknown field; leave it out"),
            ("goals[0]", "must not be empty"),
            ("name", "must have at most 200 characters"),
            ("priority", "must be an integer"),
            ("rules", "must be a list"),
            ("slug", "must be lower-case letters and digits, in words joined by single "
                     "hyphens (it-director)"),
        ]  # fmt: skip

    async def test_missing_name_and_a_body_that_is_no_object(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        missing = await client.post("/api/v1/personas", json={}, headers=editor)
        assert await _errors(missing) == [("name", "required")]
        listed = await client.post("/api/v1/personas", json=[1], headers=editor)
        assert await _errors(listed) == [("body", "must be an object")]
        for path in ("/api/v1/personas", "/api/v1/nbc/rules", "/api/v1/assets"):
            empty = await client.post(path, headers={**editor, "Content-Type": "application/json"})
            assert await _errors(empty) == [("body", "required: a JSON object")], path


async def test_asset_kind_and_funnel_stage_list_their_values(
    client: httpx.AsyncClient, editor: Headers
) -> None:
    body = {"title": "Guide", "kind": "book", "funnel_stage": "middle"}
    response = await client.post("/api/v1/assets", json=body, headers=editor)
    errors = dict(await _errors(response))
    assert errors["kind"].startswith("must be one of: blog_post, ebook, whitepaper, webinar,")
    assert errors["kind"].endswith(", newsletter, other")
    assert errors["funnel_stage"] == "must be one of: attract, convert, close, delight"


async def test_lead_stage_lists_the_stages(client: httpx.AsyncClient, admin: Headers) -> None:
    response = await client.post(f"{NO_LEAD}/stage", json={"stage": "won"}, headers=admin)
    assert await _errors(response) == [("stage", STAGES)]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("mode=x", "mode", "must be one of: cohort, period"),
        ("entry=won", "entry", STAGES),
        ("by=colour", "by", "must be one of: none, persona, first_asset, any_asset, source, site"),
        ("format=xml", "format", "must be one of: json, csv"),
        ("window_days=0", "window_days", "must be at least 1"),
    ],
)
async def test_report_parameters_list_their_values(
    client: httpx.AsyncClient, admin: Headers, query: str, field: str, message: str
) -> None:
    response = await client.get(f"/api/v1/reports/funnel?{PERIOD}&{query}", headers=admin)
    assert await _errors(response) == [(field, message)]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-13-01&to=2026-01-31", "from", "must be a date (YYYY-MM-DD)"),
        ("from=2026-01-01&to=soon", "to", "must be a date (YYYY-MM-DD)"),
        (f"{PERIOD}&window_days=abc", "window_days", "must be an integer"),
    ],
)
async def test_report_dates_and_numbers_are_named_as_sent(
    client: httpx.AsyncClient, admin: Headers, query: str, field: str, message: str
) -> None:
    response = await client.get(f"/api/v1/reports/funnel?{query}", headers=admin)
    assert await _errors(response) == [(field, message)]


@pytest.mark.parametrize(
    ("path", "field", "message"),
    [
        ("/api/v1/leads?min_score=abc", "min_score", "must be a number"),
        ("/api/v1/assets?gated=perhaps", "gated", "must be true or false"),
        ("/api/v1/leads?updated_since=yesterday", "updated_since",
         "must be an RFC 3339 time with its offset, e.g. 2026-01-31T09:00:00Z"),
    ],
)  # fmt: skip
async def test_optional_filters_say_what_they_take(
    client: httpx.AsyncClient, admin: Headers, path: str, field: str, message: str
) -> None:
    response = await client.get(path, headers=admin)
    assert await _errors(response) == [(field, message)]


async def test_lead_list_parameters_list_their_values(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    response = await client.get("/api/v1/leads?min_grade=E&sort=x&limit=501", headers=admin)
    assert sorted(await _errors(response)) == [
        ("limit", "must be at most 500"),
        ("min_grade", "must be one of: A, B, C, D"),
        ("sort", "must be one of: updated, recency, score, grade"),
    ]


async def test_delivery_status_lists_its_values(client: httpx.AsyncClient, admin: Headers) -> None:
    hook = "/api/v1/webhooks/00000000-0000-0000-0000-000000000000"
    response = await client.get(f"{hook}/deliveries?status=late", headers=admin)
    assert await _errors(response) == [("status", "must be one of: pending, succeeded, dead")]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"type": "literal_error", "loc": ("a",), "ctx": {"expected": "'x' or 'y'"}},
         (("a",), "must be one of: x, y")),
        ({"type": "enum", "loc": ("a",), "ctx": {"expected": "'x', 'y' or 'z'"}},
         (("a",), "must be one of: x, y, z")),
        ({"type": "string_pattern_mismatch", "loc": ("a",), "ctx": {"pattern": "^(x|y)$"}},
         (("a",), "must be one of: x, y")),
        ({"type": "string_pattern_mismatch", "loc": ("a",), "ctx": {"pattern": "^[0-9]{3}$"}},
         (("a",), "is not in the form this field takes (see its pattern in the API contract)")),
        ({"type": "union_tag_invalid", "loc": ("r", 0),
          "ctx": {"discriminator": "'kind'", "tag": "q", "expected_tags": "'x', 'y'"}},
         (("r", 0, "kind"), "must be one of: x, y")),
        ({"type": "too_long", "loc": ("a",), "ctx": {"max_length": 3}},
         (("a",), "must have at most 3 items")),
        ({"type": "greater_than", "loc": ("a",), "ctx": {"gt": 0}},
         (("a",), "must be greater than 0")),
        ({"type": "less_than_equal", "loc": ("a",), "ctx": {"le": 100}},
         (("a",), "must be at most 100")),
        ({"type": "value_error", "loc": ("a",), "ctx": {"error": "too early"},
          "msg": "Value error, too early"}, (("a",), "too early")),
        ({"type": "something_new", "loc": ("a",), "msg": "Pydantic's own words"},
         (("a",), "Pydantic's own words")),
    ],
)  # fmt: skip
def test_pydantic_errors_in_plain_words(
    error: dict[str, Any], expected: tuple[tuple[Any, ...], str]
) -> None:
    assert plain_error(error) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Expected `str` of length <= 64", "must have at most 64 characters"),
        ("Expected `int` >= 1", "must be at least 1"),
        ("Expected `int`, got `str`", "must be an integer"),
        ("Expected `float | null`, got `str`", "must be a number"),
        ("Expected `bool | null`, got `str`", "must be true or false"),
        ("Invalid RFC3339 encoded date", "must be a date (YYYY-MM-DD)"),
        ("Expected `str` matching regex '^(a|b)$'", "must be one of: a, b"),
        ("Invalid enum value 'x'", "Invalid enum value 'x'"),  # nothing to name: left as is
    ],
)
def test_parameter_messages_in_plain_words(message: str, expected: str) -> None:
    assert plain_parameter_message(message, None) == expected


class TestFormatsInWords:
    """Fields whose form is a pattern say what the form is, not the pattern."""

    async def test_an_origin(self, client: httpx.AsyncClient, admin: Headers) -> None:
        body = {"name": "www", "allowed_origins": ["ftp://www.example.com"]}
        response = await client.post("/api/v1/sites", json=body, headers=admin)
        [(field, message)] = await _errors(response)
        assert field == "allowed_origins[0]"
        assert message.startswith("must be an origin: http:// or https://")

    async def test_a_webhook_url(self, client: httpx.AsyncClient, admin: Headers) -> None:
        body = {"url": "gopher://hooks.example.com/x", "events": ["lead.created"]}
        response = await client.post("/api/v1/webhooks", json=body, headers=admin)
        [(field, message)] = await _errors(response)
        assert field == "url"
        assert message.startswith("must be an http:// or https:// URL")

    async def test_an_email_and_a_custom_field_name(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        world = await make_ebook_world(client, admin)
        response = await capture(
            client, world, email="ana at example.com", fields={"Shoe Size": "9"}
        )
        errors = dict(await _errors(response))
        assert errors["email"].startswith("must be an email address (name@example.com)")
        assert errors["fields.Shoe Size"].startswith("the name must start with a lowercase letter")
