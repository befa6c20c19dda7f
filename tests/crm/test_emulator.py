"""The HubSpot emulator answers the real `hubspot-api-client` as HubSpot would: limits, error
bodies, search, reads, GDPR deletes and the faults tests switch on."""

import ast
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import ApiException, PublicGdprDeleteInput
from urllib3.util.retry import Retry

from inbound import hubspot_emulator
from inbound.hubspot_emulator import Emulator


@pytest.fixture
def client(portal: Emulator) -> Any:
    return HubSpot(access_token=portal.token, host=portal.url, retry=Retry(total=0))


def upsert(client: Any, *emails: str, traced: bool = True, **properties: str) -> Any:
    inputs = [
        {"id": email, "idProperty": "email", "properties": dict(properties)}
        | ({"objectWriteTraceId": str(n)} if traced else {})
        for n, email in enumerate(emails)
    ]
    return client.crm.contacts.batch_api.upsert(
        batch_input_simple_public_object_batch_input_upsert={"inputs": inputs}
    )


def refusal(call: Any) -> tuple[int, str]:
    with pytest.raises(ApiException) as raised:
        call()
    return raised.value.status, raised.value.body


def test_upsert_creates_then_updates_by_email_lowercased(client: Any, portal: Emulator) -> None:
    first = upsert(client, "Ana@Example.com", firstname="Ana")
    [created] = first.results
    assert created.new is True
    assert created.properties["email"] == "ana@example.com"
    [updated] = upsert(client, "ana@example.com", lastname="Lima").results
    assert (updated.id, updated.new) == (created.id, False)
    assert portal.portal.contacts[created.id]["properties"]["firstname"] == "Ana"


def test_batches_are_checked_as_hubspot_checks_them(client: Any) -> None:
    emails = [f"c{n}@example.com" for n in range(101)]
    status, body = refusal(lambda: upsert(client, *emails))
    assert status == 400
    assert "VALIDATION_ERROR" in body
    status, body = refusal(lambda: upsert(client, "a@example.com", "A@example.com"))
    assert status == 400
    assert "Duplicate IDs found in batch input: [a@example.com]" in body
    status, body = refusal(lambda: upsert(client, "a@example.com", nope="1", traced=False))
    assert status == 400
    assert "PROPERTY_DOESNT_EXIST" in body
    status, body = refusal(
        lambda: upsert(client, "a@example.com", lifecyclestage="x", traced=False)
    )
    assert "INVALID_OPTION" in body


def test_with_trace_ids_a_bad_input_is_reported_and_the_rest_written(client: Any) -> None:
    answer = upsert(client, "good@example.com", "bad@nowhere", firstname="X")
    assert [r.properties["email"] for r in answer.results] == ["good@example.com"]
    [error] = answer.errors
    assert error.context == {"objectWriteTraceId": ["1"]}
    assert "INVALID_EMAIL" in error.message


def test_lifecycle_stages_only_move_forward(client: Any, portal: Emulator) -> None:
    [contact] = upsert(client, "ana@example.com", lifecyclestage="customer").results
    upsert(client, "ana@example.com", lifecyclestage="lead")
    assert portal.portal.contacts[contact.id]["properties"]["lifecyclestage"] == "customer"
    upsert(client, "ana@example.com", lifecyclestage="")  # cleared first, HubSpot's way back
    upsert(client, "ana@example.com", lifecyclestage="lead")
    assert portal.portal.contacts[contact.id]["properties"]["lifecyclestage"] == "lead"


def test_read_search_and_gdpr_delete(client: Any, portal: Emulator) -> None:
    upsert(client, "ana@example.com", "ben@example.com", company="Acme")
    read = client.crm.contacts.batch_api.read(
        batch_read_input_simple_public_object_id={
            "idProperty": "email", "properties": ["company"],
            "inputs": [{"id": "ana@example.com"}, {"id": "zoe@example.com"}],
        }
    )  # fmt: skip
    assert [r.properties["company"] for r in read.results] == ["Acme"]
    assert read.errors[0].category == "OBJECT_NOT_FOUND"
    search = {
        "filterGroups": [
            {"filters": [{"propertyName": "email", "operator": "EQ", "value": "BEN@example.com"}]}
        ],
        "limit": 5,
    }
    found = client.crm.contacts.search_api.do_search(public_object_search_request=search)
    assert (found.total, found.results[0].properties["email"]) == (1, "ben@example.com")
    purge = PublicGdprDeleteInput(object_id="ana@example.com", id_property="email")
    client.crm.contacts.basic_api.purge(public_gdpr_delete_input=purge)
    assert sorted(portal.portal.by_email) == ["ben@example.com"]
    status, _ = refusal(lambda: client.crm.contacts.basic_api.purge(public_gdpr_delete_input=purge))
    assert status == 404


def test_a_wrong_token_is_a_401_in_hubspots_words(portal: Emulator) -> None:
    stranger = HubSpot(access_token="pat-na1-wrong", host=portal.url, retry=Retry(total=0))
    status, body = refusal(lambda: upsert(stranger, "ana@example.com"))
    assert status == 401
    assert "INVALID_AUTHENTICATION" in body


def test_the_rate_limit_refuses_with_429_and_says_when_to_come_back(
    client: Any, portal: Emulator
) -> None:
    portal.rate_limit.limit = 2
    upsert(client, "a@example.com")
    _, _, headers = client.crm.contacts.batch_api.upsert_with_http_info(
        batch_input_simple_public_object_batch_input_upsert={"inputs": []}
    )
    assert headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert headers["X-HubSpot-RateLimit-Max"] == "2"
    with pytest.raises(ApiException) as raised:
        upsert(client, "b@example.com")
    assert raised.value.status == 429
    assert int(raised.value.headers["Retry-After"]) >= 1
    assert '"policyName":"TEN_SECONDLY_ROLLING"' in raised.value.body


def test_faults_come_as_switched_on(client: Any, portal: Emulator) -> None:
    portal.faults.update({"rate_5xx": 1.0})
    status, _ = refusal(lambda: upsert(client, "a@example.com"))
    assert status == 503
    portal.faults.update({"rate_5xx": 0.0, "slow_rate": 1.0, "slow_seconds": 0.3})
    began = time.monotonic()
    upsert(client, "a@example.com")
    assert time.monotonic() - began >= 0.3
    portal.faults.update({"slow_rate": 0.0, "rate_drop": 1.0})
    # No answer at all: urllib3's error, not one of HubSpot's.
    with pytest.raises(urllib3.exceptions.HTTPError):
        upsert(client, "b@example.com")


def test_the_emulator_imports_nothing_of_the_service() -> None:
    """It stands in for HubSpot: a fault in our code must not change what it answers."""
    package = Path(hubspot_emulator.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = (
                [node.module or ""] if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else []
            )  # fmt: skip
            for name in names:
                if name == "inbound" or name.startswith("inbound."):
                    assert name.startswith("inbound.hubspot_emulator"), f"{module.name}: {name}"
