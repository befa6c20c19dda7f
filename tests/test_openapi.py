"""The committed API contract is exactly what the code generates."""

import json

import httpx
import yaml

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
