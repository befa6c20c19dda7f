"""The committed API contract is exactly what the code generates."""

import json

import httpx
import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator

from inbound.app import create_app
from inbound.config import Settings
from inbound.contract import openapi_document
from tests.conftest import ROOT


def test_committed_json_matches_the_code(settings: Settings) -> None:
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert committed == openapi_document(create_app(settings)), "run `make openapi`"


def test_committed_yaml_matches_the_code(settings: Settings) -> None:
    committed = yaml.safe_load((ROOT / "openapi" / "openapi.yaml").read_text())
    assert committed == openapi_document(create_app(settings)), "run `make openapi`"


@pytest.mark.parametrize("name", ["openapi.json", "openapi.yaml"])
def test_committed_document_is_valid_openapi(name: str) -> None:
    document = yaml.safe_load((ROOT / "openapi" / name).read_text())  # JSON is YAML too
    problems = [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert problems == []


def test_every_response_header_has_a_schema() -> None:
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    headers = [
        (path, status, name, header)
        for path, item in document["paths"].items()
        for operation in item.values()
        for status, response in operation["responses"].items()
        for name, header in response.get("headers", {}).items()
    ]
    assert headers, "the document declares response headers"
    assert [h for h in headers if h[3].get("schema", {}).get("type") != "string"] == []


async def test_served_document_is_the_committed_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads((ROOT / "openapi" / "openapi.json").read_text())


async def test_request_bodies_are_closed_and_every_operation_is_named() -> None:
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    schemas = document["components"]["schemas"]
    assert schemas["PersonaCreate"]["additionalProperties"] is False
    assert schemas["PersonaUpdate"]["properties"]["name"]["type"] == "string"  # null refused
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert all(op.get("operationId") for op in operations)


async def test_interactive_docs_need_no_outside_network(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "cdn." not in page.text
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert len(bundle.content) > 100_000
