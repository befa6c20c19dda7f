"""What the API answers (leads, captures, keys, reports, whatever the status) is never stored by
a shared or browser cache."""

import re
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from inbound.auth.scopes import Scope
from inbound.caching import no_store_middleware
from tests.conftest import Headers, KeyMaker
from tests.support.world import LEADS, World, capture, make_asset, make_world

PATH_PARAMETER = re.compile(r"\{[^}]+\}")
WITH_BODY = {"POST", "PUT", "PATCH"}


def private_routes(app: Litestar) -> list[tuple[str, str]]:
    """Every method of every API and dashboard route, its path parameters filled in."""
    found: list[tuple[str, str]] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        if not route.path.startswith(("/api/", "/dashboard")):
            continue
        path = PATH_PARAMETER.sub(str(uuid.uuid4()), route.path)
        found += [(method, path) for method in sorted(route.methods) if method != "OPTIONS"]
    return found


def assert_not_stored(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store", (
        response.request.method,
        response.request.url,
        response.status_code,
    )


class TestNoStore:
    async def test_every_api_route_answers_no_store_whatever_its_status(
        self, app: Litestar, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        routes = private_routes(app)
        assert len(routes) > 40  # the walk found the API
        for method, path in routes:
            for headers in (admin, {}):
                body: dict[str, Any] = {"json": {}} if method in WITH_BODY else {}
                response = await client.request(method, path, headers=headers, **body)
                assert response.status_code != 500, (method, path, response.text)
                assert_not_stored(response)

    async def test_what_the_router_answers_itself_is_not_stored_and_carries_a_request_id(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        for method, path in (
            ("GET", "/api/v1/no-such-thing"),
            ("DELETE", "/api/v1/next"),
            ("PUT", "/api/v1/batch"),
            ("GET", "/api/v1/leads/not-a-uuid/activity"),
        ):
            response = await client.request(method, path, headers=admin)
            assert response.status_code in (404, 405), (method, path, response.status_code)
            assert_not_stored(response)
            assert response.headers.get("x-request-id"), (method, path)

    async def test_answers_with_personal_data_or_secrets_are_not_stored(
        self, client: httpx.AsyncClient, admin: Headers, make_key: KeyMaker
    ) -> None:
        world: World = await make_world(client, admin)
        await make_asset(client, admin)
        captured = await capture(client, world)
        assert captured.status_code == 201
        lead = captured.json()["contact_id"]
        key = await client.post(
            "/api/v1/api-keys", json={"name": "sales", "scopes": ["leads:read"]}, headers=admin
        )
        assert key.status_code == 201
        answers = [
            captured,
            key,
            await client.get(LEADS, headers=admin),
            await client.get(LEADS, headers=admin | {"Accept": "text/csv"}),
            await client.get(f"{LEADS}/{lead}", headers=admin),
            await client.get(f"/api/v1/captures/{captured.json()['capture_id']}", headers=admin),
            await client.get("/api/v1/crm/status", headers=admin),
        ]
        for answer in answers:
            assert answer.status_code == 200 or answer.status_code == 201, answer.text
            assert_not_stored(answer)
        reports = await make_key(Scope.REPORTS_READ)
        dashboard = await client.get("/dashboard", headers=reports)
        assert_not_stored(dashboard)

    async def test_public_documents_stay_cacheable(self, client: httpx.AsyncClient) -> None:
        contract = await client.get("/docs/openapi.json")
        assert contract.status_code == 200
        assert "no-store" not in contract.headers.get("cache-control", "")


async def cacheable(scope: Any, receive: Any, send: Any) -> None:
    """A public answer that says how long it may be kept."""
    headers = [(b"cache-control", b"public, max-age=300")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.mark.parametrize("path", ["/api/v1/forms/ebook", "/docs/openapi.json"])
async def test_a_cache_control_of_its_own_is_kept(path: str) -> None:
    transport = httpx.ASGITransport(app=no_store_middleware(cacheable))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.get(path)
    assert response.headers.get_list("cache-control") == ["public, max-age=300"]
