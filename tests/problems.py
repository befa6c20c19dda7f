"""Checking answers: RFC 9457 problem details, the one way every test checks a refusal, and
the body of an answer that must succeed."""

from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"


def assert_problem(
    response: httpx.Response, status: int | set[int] | frozenset[int]
) -> dict[str, Any]:
    """The response is a problem-details body with one of these statuses; return it."""
    expected = status if isinstance(status, (set, frozenset)) else {status}
    assert response.status_code in expected, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert body["title"]
    return body


def error_fields(response: httpx.Response) -> list[str]:
    """The fields a problem-details answer names, after checking it is one and that each
    field comes with a message."""
    errors = assert_problem(response, response.status_code).get("errors") or []
    assert all(error["message"] for error in errors), errors
    return [str(error["field"]) for error in errors]


def body_of(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The JSON body of an answer that must have this status (its text shows when not)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body
