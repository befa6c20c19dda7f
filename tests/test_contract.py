"""Property-based requests over the committed OpenAPI document, against the running service.

Every operation gets generated valid and invalid input; no answer may be a 500 or break
the document (status codes, content types, schemas, headers).
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import ROOT, _base_url
from tests.support.live_server import LiveServer, live_server

schema = schemathesis.openapi.from_path(ROOT / "openapi" / "openapi.json")
# Operations with rules across parameters that the document cannot state (a period whose end
# comes after its start and spans at most 5 years, a known time zone, a filter naming an
# existing persona, touchpoint or survey (of the metric asked), a cursor used with the filters
# it was made for, one visitor id of two): a request valid for the schema may still be refused
# with a 400.
CROSS_PARAMETER_RULES = {
    "funnelReport", "velocityReport", "assetsReport", "pathsReport", "surveyReport",
    "journeyReport", "listLeads", "resyncCrm", "nextContent", "listAtRiskLeads",
}  # fmt: skip
# Requests only HubSpot can make: generated ones carry no valid signature and get a 401.
SIGNED_BY_THE_CALLER = {"receiveHubSpotWebhook"}
# Events carry free JSON (`properties`, `context`) whose strings and names may hold no NUL at
# any depth (PostgreSQL stores none): a rule on nested free values the document cannot state.
FREE_JSON_WITHOUT_NUL = {"ingestEvent", "ingestBatch"}


@pytest.fixture(scope="module")
def server(worker_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp("contract")
    # Generated requests come fast from one address: rate limits are tested on their own.
    unlimited = {
        "INBOUND_CAPTURE_RATE_PER_IP": "1000000/minute",
        "INBOUND_TRACKING_RATE_PER_IP": "1000000/minute",
        "INBOUND_SURVEY_RATE_PER_IP": "1000000/minute",
    }
    # HubSpot's webhooks are checked, and refused as unsigned, rather than unconfigured (503).
    signing = {"INBOUND_HUBSPOT_CLIENT_SECRET": "contract-secret"}
    settings = unlimited | signing
    with live_server(_base_url(), f"inbound_contract_{worker_id}", tmp, settings) as running:
        yield running


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_honours_its_contract(case: schemathesis.Case[Any], server: LiveServer) -> None:
    excluded: list[schemathesis.CheckFunction] = (
        [positive_data_acceptance]
        if case.operation.definition.raw.get("operationId")
        in CROSS_PARAMETER_RULES | SIGNED_BY_THE_CALLER | FREE_JSON_WITHOUT_NUL
        else []
    )
    # The generated Authorization is swapped for a real key; where the case leaves it out on
    # purpose, none is sent, or the request would be valid but for what was taken off it.
    headers = server.admin_headers if "Authorization" in (case.headers or {}) else {}
    case.call_and_validate(base_url=server.url, headers=headers, excluded_checks=excluded)
