"""The contract states what handlers do by hand: If-Match, Idempotency-Key, CSV, the 303."""

import inspect
import json
from typing import Any

import pytest
from litestar.handlers import HTTPRouteHandler

from inbound.app import create_app
from inbound.config import Settings
from tests.conftest import ROOT

LEAD_WRITES = {
    "moveLeadStage", "assignLeadPersona", "clearLeadPersona", "workLead", "claimLead",
    "reassignLead", "releaseLead", "addLeadNote", "eraseLead",
}  # fmt: skip
CSV_REPORTS = {"funnelReport", "velocityReport", "assetsReport"}


@pytest.fixture(scope="module")
def operations() -> dict[str, dict[str, Any]]:
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    return {
        operation["operationId"]: operation
        for item in document["paths"].values()
        for operation in item.values()
    }


def _header(operation: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next(
        (p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"] == name),
        None,
    )


def _checks_if_match(handler: HTTPRouteHandler) -> bool:
    source = inspect.getsource(handler.fn)
    # A lead's writes take the If-Match check through their LeadChange (change.precondition).
    return any(
        check in source for check in ("check_if_match(", "if_match(request)", "change.precondition")
    )


def test_every_write_that_checks_if_match_says_so(
    settings: Settings, operations: dict[str, dict[str, Any]]
) -> None:
    handlers = [
        handler
        for route in create_app(settings).routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(handler, HTTPRouteHandler) and handler.operation_id
    ]
    checking = {str(h.operation_id) for h in handlers if _checks_if_match(h)}
    assert checking >= LEAD_WRITES
    for operation_id in sorted(checking):
        operation = operations[operation_id]
        if_match = _header(operation, "If-Match")
        assert if_match is not None, operation_id
        assert if_match["required"] is False
        assert if_match["schema"] == {"type": "string"}
        assert "412" in if_match["description"]
        assert operation["responses"]["412"]["content"]["application/problem+json"]
    reads = [op for op_id, op in operations.items() if op_id not in checking]
    assert [op["operationId"] for op in reads if _header(op, "If-Match")] == []


def test_capture_takes_an_idempotency_key(operations: dict[str, dict[str, Any]]) -> None:
    key = _header(operations["captureLead"], "Idempotency-Key")
    assert key is not None
    assert key["required"] is False
    assert key["schema"] == {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"}
    assert "24 hours" in key["description"]


def test_capture_documents_the_redirect_of_a_plain_form(
    operations: dict[str, dict[str, Any]],
) -> None:
    see_other = operations["captureLead"]["responses"]["303"]
    assert "_redirect" in see_other["description"]
    assert "content" not in see_other
    location = see_other["headers"]["Location"]
    assert location["required"] is True
    assert location["schema"] == {"type": "string"}
    assert "capture_id" in location["description"]


@pytest.mark.parametrize("operation_id", sorted({"listLeads", *CSV_REPORTS}))
def test_csv_is_an_alternative_answer(
    operations: dict[str, dict[str, Any]], operation_id: str
) -> None:
    content = operations[operation_id]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    assert content["text/csv"]["schema"]["type"] == "string"
    assert "Accept: text/csv" in content["text/csv"]["schema"]["description"]
