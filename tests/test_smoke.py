import httpx

from tests.conftest import Headers


async def test_persona_round_trip(client: httpx.AsyncClient, editor: Headers) -> None:
    created = await client.post("/api/v1/personas", json={"name": "IT Director"}, headers=editor)
    assert created.status_code == 201, created.text
    got = await client.get("/api/v1/personas/it-director", headers=editor)
    assert got.json()["id"] == created.json()["id"]


async def test_missing_key_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/personas")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
