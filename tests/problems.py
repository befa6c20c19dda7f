"""Checking answers: RFC 9457 problem details, the one way every test checks a refusal, and
the body of an answer that must succeed."""

from typing import Any

import httpx
import pytest

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


def refusing(**cases: list[Any]) -> list[Any]:
    """Parametrize cases ``(changes, field)``: each value alone under its name, refused with a
    problem that names that field; each case's id shows it, as `limit=501`."""
    return [
        pytest.param({name: value}, name, id=f"{name}={value!r}"[:40])
        for name, values in cases.items()
        for value in values
    ]


def assert_names(response: httpx.Response, field: str, status: int = 400) -> None:
    """The answer is a problem with this status whose errors name ``field`` (among others)."""
    assert_problem(response, status)
    assert field in error_fields(response)
