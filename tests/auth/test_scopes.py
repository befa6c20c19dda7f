"""Which key may call which endpoint, and how a request without a usable key is refused."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Headers, KeyMaker
from tests.problems import assert_problem

READ = "content:read"
WRITE = "content:write"
ADMIN = "admin"
UNKNOWN_ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

# What each scope lets its holder do, written out here rather than read from the code.
GRANTS: dict[str, set[str]] = {
    "content:read": {READ},
    "content:write": {READ, WRITE},
    "leads:read": {"leads:read"},
    "leads:write": {"leads:read", "leads:write"},
    "reports:read": {"reports:read"},
    "ingest": {"ingest"},
    "admin": {READ, WRITE, ADMIN, "leads:read", "leads:write", "reports:read", "ingest"},
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    needs: str
    body: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def content_collection(path: str, unknown: str) -> list[Endpoint]:
    """A content collection's endpoints: list, read, create, change, archive, unarchive and
    delete, naming an item that does not exist where they take one."""
    item = f"{path}/{unknown}"
    return [
        Endpoint("GET", path, READ),
        Endpoint("GET", item, READ),
        Endpoint("POST", path, WRITE, {}),
        Endpoint("PATCH", item, WRITE, {}),
        Endpoint("POST", f"{item}/archive", WRITE),
        Endpoint("POST", f"{item}/unarchive", WRITE),
        Endpoint("DELETE", item, WRITE),
    ]


ENDPOINTS = [
    *content_collection("/api/v1/personas", "nobody"),
    *content_collection("/api/v1/assets", "nothing"),
    Endpoint("GET", "/api/v1/assets/nothing/personas", READ),
    Endpoint("PUT", "/api/v1/assets/nothing/personas", WRITE, {"personas": []}),
    Endpoint("POST", "/api/v1/asset-tags", WRITE, {}),
    Endpoint("GET", "/api/v1/sites", ADMIN),
    Endpoint("GET", f"/api/v1/sites/{UNKNOWN_ID}", ADMIN),
    Endpoint("POST", "/api/v1/sites", ADMIN, {}),
    Endpoint("PATCH", f"/api/v1/sites/{UNKNOWN_ID}", ADMIN, {}),
    Endpoint("DELETE", f"/api/v1/sites/{UNKNOWN_ID}", ADMIN),
    Endpoint("POST", f"/api/v1/sites/{UNKNOWN_ID}/keys", ADMIN),
    Endpoint("GET", "/api/v1/api-keys", ADMIN),
    Endpoint("GET", f"/api/v1/api-keys/{UNKNOWN_ID}", ADMIN),
    Endpoint("POST", "/api/v1/api-keys", ADMIN, {}),
    Endpoint("DELETE", f"/api/v1/api-keys/{UNKNOWN_ID}", ADMIN),
]
CONTENT_ENDPOINTS = [e for e in ENDPOINTS if e.needs in {READ, WRITE}]


async def call(client: httpx.AsyncClient, endpoint: Endpoint, headers: Headers) -> httpx.Response:
    kwargs: dict[str, Any] = {"headers": headers}
    if endpoint.body is not None:
        kwargs["json"] = endpoint.body
    return await client.request(endpoint.method, endpoint.path, **kwargs)


class TestScopeTable:
    @pytest.mark.parametrize("scope", sorted(GRANTS))
    async def test_a_key_reaches_exactly_the_endpoints_its_scope_grants(
        self, client: httpx.AsyncClient, make_key: KeyMaker, scope: str
    ) -> None:
        headers = await make_key(scope)

        wrong: list[str] = []
        for endpoint in ENDPOINTS:
            response = await call(client, endpoint, headers)
            allowed = endpoint.needs in GRANTS[scope]
            if allowed and (response.status_code in {401, 403} or response.status_code >= 500):
                wrong.append(f"{endpoint}: {response.status_code}, expected it to pass the guard")
            if not allowed and response.status_code != 403:
                wrong.append(f"{endpoint}: {response.status_code}, expected 403")

        assert wrong == []

    async def test_a_refusal_is_a_problem_naming_the_missing_scope(
        self, client: httpx.AsyncClient, reader: Headers
    ) -> None:
        response = await client.post("/api/v1/personas", json={"name": "CFO"}, headers=reader)

        assert_problem(response, 403)
        body = response.json()
        assert body["status"] == 403
        assert "content:write" in body["detail"]


class TestImpliedScopes:
    async def test_content_write_implies_content_read(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        created = await client.post("/api/v1/personas", json={"name": "CTO"}, headers=editor)
        assert created.status_code == 201, created.text

        listed = await client.get("/api/v1/personas", headers=editor)
        one = await client.get(f"/api/v1/personas/{created.json()['id']}", headers=editor)

        assert listed.status_code == 200
        assert created.json()["id"] in [p["id"] for p in listed.json()["items"]]
        assert one.status_code == 200

    async def test_content_read_does_not_imply_content_write(
        self, client: httpx.AsyncClient, reader: Headers
    ) -> None:
        response = await client.post("/api/v1/personas", json={"name": "CTO"}, headers=reader)

        assert response.status_code == 403

    async def test_leads_write_does_not_imply_content_read(
        self, client: httpx.AsyncClient, make_key: KeyMaker
    ) -> None:
        response = await client.get("/api/v1/personas", headers=await make_key("leads:write"))

        assert response.status_code == 403

    async def test_admin_implies_everything(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        persona = await client.post("/api/v1/personas", json={"name": "CEO"}, headers=admin)
        personas = await client.get("/api/v1/personas", headers=admin)
        assets = await client.get("/api/v1/assets", headers=admin)
        site = await client.post("/api/v1/sites", json={"name": "www"}, headers=admin)
        keys = await client.get("/api/v1/api-keys", headers=admin)

        assert persona.status_code == 201, persona.text
        assert personas.status_code == 200
        assert assets.status_code == 200
        assert site.status_code == 201, site.text
        assert keys.status_code == 200


class TestSitePublicKey:
    @pytest.fixture
    async def public_key(self, client: httpx.AsyncClient, admin: Headers) -> Headers:
        response = await client.post("/api/v1/sites", json={"name": "www"}, headers=admin)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['public_key']}"}

    @pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
    async def test_a_public_key_is_refused_everywhere_but_ingest(
        self, client: httpx.AsyncClient, public_key: Headers, endpoint: Endpoint
    ) -> None:
        response = await call(client, endpoint, public_key)

        assert response.status_code == 403

    async def test_a_public_key_cannot_issue_itself_a_server_key(
        self, client: httpx.AsyncClient, public_key: Headers, admin: Headers
    ) -> None:
        before = (await client.get("/api/v1/api-keys", headers=admin)).json()["items"]

        response = await client.post(
            "/api/v1/api-keys", json={"name": "mine", "scopes": ["admin"]}, headers=public_key
        )

        assert response.status_code == 403
        after = (await client.get("/api/v1/api-keys", headers=admin)).json()["items"]
        assert after == before


class TestBearerGuard:
    @pytest.mark.parametrize(
        "authorization",
        [
            pytest.param("Basic dXNlcjpwYXNzd29yZA==", id="basic"),
            pytest.param("Bearer", id="bearer-without-token"),
            pytest.param("Bearer    ", id="bearer-with-blanks"),
            pytest.param("Bearer " + "a" * 1000, id="1000-char-token"),
            pytest.param("Bearer inb_sk_" + "x" * 43, id="unknown-key"),
            pytest.param("Token inb_sk_abc", id="other-scheme"),
            pytest.param("", id="empty-header"),
        ],
    )
    async def test_a_malformed_or_unknown_key_is_401_with_a_challenge(
        self, client: httpx.AsyncClient, authorization: str
    ) -> None:
        response = await client.get("/api/v1/personas", headers={"Authorization": authorization})

        assert_problem(response, 401)
        assert response.headers["www-authenticate"].lower().startswith("bearer")
        body = response.json()
        assert body["status"] == 401
        assert body["title"] == "Unauthorized"
        assert body["instance"] == "/api/v1/personas"

    async def test_no_header_is_401_with_a_challenge(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/sites")

        assert response.status_code == 401
        assert response.headers["www-authenticate"].lower().startswith("bearer")

    @pytest.mark.parametrize(
        ("scheme", "status"),
        [
            pytest.param("Basic", 401, id="a-real-key-under-another-scheme-is-401"),
            pytest.param("bearer", 200, id="the-scheme-is-case-insensitive"),
        ],
    )
    async def test_a_real_key_counts_under_the_bearer_scheme_only(
        self, client: httpx.AsyncClient, reader: Headers, scheme: str, status: int
    ) -> None:
        key = reader["Authorization"].removeprefix("Bearer ")

        response = await client.get(
            "/api/v1/personas", headers={"Authorization": f"{scheme} {key}"}
        )

        assert response.status_code == status

    async def test_a_real_key_with_a_character_more_is_401(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        response = await client.get(
            "/api/v1/personas", headers={"Authorization": admin["Authorization"] + "x"}
        )

        assert response.status_code == 401

    async def test_a_random_uuid_is_not_a_key(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/api/v1/personas", headers={"Authorization": f"Bearer {uuid.uuid4()}"}
        )

        assert response.status_code == 401
