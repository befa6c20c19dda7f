"""What every request meets: problem details for every refusal, size limits, request ids, health."""

import json
import logging

import httpx
import pytest
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.app import create_app
from inbound.config import Settings
from tests.conftest import Headers, http_client
from tests.problems import assert_problem, error_fields


class TestBadBodies:
    async def test_malformed_json_is_400(self, client: httpx.AsyncClient, editor: Headers) -> None:
        response = await client.post(
            "/api/v1/personas",
            content=b'{"name": "x"',
            headers={**editor, "content-type": "application/json"},
        )
        assert_problem(response, 400)

    async def test_an_array_instead_of_an_object_is_400(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        response = await client.post("/api/v1/personas", json=[{"name": "x"}], headers=editor)
        assert_problem(response, 400)

    async def test_a_body_over_the_limit_is_413_and_nothing_is_stored(
        self, client: httpx.AsyncClient, editor: Headers, settings: Settings
    ) -> None:
        goals = ["g" * 500] * (settings.max_body_bytes // 500 + 10)
        response = await client.post(
            "/api/v1/personas", json={"name": "Big", "goals": goals}, headers=editor
        )
        assert_problem(response, 413)
        listed = await client.get("/api/v1/personas", headers=editor)
        assert listed.json()["items"] == []

    async def test_wrong_json_types_are_refused_not_coerced(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        response = await client.post(
            "/api/v1/personas", json={"name": "x", "priority": "5"}, headers=editor
        )
        assert_problem(response, 400)
        assert error_fields(response) == ["priority"]

    async def test_nul_characters_are_refused(
        self, client: httpx.AsyncClient, editor: Headers
    ) -> None:
        response = await client.post("/api/v1/personas", json={"name": "a\u0000b"}, headers=editor)
        assert_problem(response, 400)
        assert error_fields(response) == ["name"]


class TestUnknownQueryParameters:
    async def test_a_misspelt_filter_is_refused_by_name(
        self, client: httpx.AsyncClient, reader: Headers
    ) -> None:
        response = await client.get("/api/v1/assets?persona_id=x&kind=ebook", headers=reader)
        body = assert_problem(response, 400)
        errors = body["errors"]
        assert errors == [
            {"field": "persona_id", "message": "unknown query parameter", "source": "query"}
        ]

    async def test_declared_parameters_pass(
        self, client: httpx.AsyncClient, reader: Headers
    ) -> None:
        response = await client.get("/api/v1/assets?kind=ebook&limit=5", headers=reader)
        assert response.status_code == 200

    async def test_null_is_no_value_of_an_enum_or_flag_but_is_one_of_a_text(
        self, client: httpx.AsyncClient, reader: Headers
    ) -> None:
        response = await client.get("/api/v1/assets?kind=null&gated=null", headers=reader)
        assert_problem(response, 400)
        assert set(error_fields(response)) == {"kind", "gated"}
        text = await client.get("/api/v1/assets?topic=null", headers=reader)
        assert text.status_code == 200


class TestRoutingErrors:
    async def test_unknown_path_is_a_404_problem(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/api/v1/nothing-here"), 404)

    async def test_wrong_method_is_a_405_problem(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        assert_problem(await client.put("/api/v1/personas", json={}, headers=admin), 405)

    async def test_bad_uuid_in_path_is_a_problem(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        response = await client.get("/api/v1/sites/not-a-uuid", headers=admin)
        assert_problem(response, {400, 404})


class TestRequestIds:
    async def test_a_request_id_is_made_when_none_is_sent(self, client: httpx.AsyncClient) -> None:
        first = await client.get("/health")
        second = await client.get("/health")
        assert len(first.headers["x-request-id"]) == 32
        assert first.headers["x-request-id"] != second.headers["x-request-id"]

    async def test_the_callers_request_id_is_kept(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health", headers={"X-Request-ID": "lb-1234.abc"})
        assert response.headers["x-request-id"] == "lb-1234.abc"

    async def test_an_unsafe_request_id_is_replaced(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health", headers={"X-Request-ID": "a b\tc" * 50})
        assert response.headers["x-request-id"] != "a b\tc" * 50

    async def test_refusals_carry_the_request_id_too(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/personas", headers={"X-Request-ID": "r-1"})
        assert response.status_code == 401
        assert response.headers["x-request-id"] == "r-1"

    async def test_each_request_is_logged_as_one_json_line(
        self, settings: Settings, capsys: pytest.CaptureFixture[str]
    ) -> None:
        app = create_app(settings.model_copy(update={"log_level": "INFO"}))
        async with http_client(app) as client:
            await client.get("/health", headers={"X-Request-ID": "log-me"})
        await app.state.engine.dispose()
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
        access = [line for line in lines if line.get("request_id") == "log-me"]
        assert access
        assert access[-1]["path"] == "/health"
        assert access[-1]["status"] == 200

    async def test_no_log_line_holds_a_survey_links_token(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        token = "AQGaW3Fk0-x_Zz.c2lnbmF0dXJl"  # shaped like one; its page answers 404 all the same
        app = create_app(settings.model_copy(update={"log_level": "INFO"}))
        app.state.sessionmaker = sessionmaker
        async with http_client(app) as client:
            await client.get(f"/s/{token}", headers={"X-Request-ID": "link-page"})
            await client.post(f"/s/{token}", data={"score": "9"}, headers={"X-Request-ID": "link"})
        await app.state.engine.dispose()
        # Other libraries' lines, and messages that quote an address, lose it too.
        logging.getLogger("uvicorn.error").warning("slow answer to POST /s/%s", token)
        structlog.get_logger("inbound.test").error("failed", url=f"https://x.example/s/{token}")
        out = capsys.readouterr().out
        assert token not in out
        lines = [json.loads(line) for line in out.splitlines() if line]
        paths = [line["path"] for line in lines if line.get("request_id") in ("link-page", "link")]
        assert paths == ["/s/[token]", "/s/[token]"]
        assert any(line.get("url") == "https://x.example/s/[token]" for line in lines)
        assert any(line.get("event") == "slow answer to POST /s/[token]" for line in lines)


class TestHealth:
    async def test_health_is_always_ok(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health")
        assert response.json() == {"status": "ok"}

    async def test_ready_when_the_database_answers(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/ready")
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "database": "ok"}

    @pytest.mark.parametrize(
        "unreachable",
        [
            "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
            "sqlite+aiosqlite:////nonexistent-dir/inbound.db",
        ],
    )
    async def test_not_ready_when_the_database_is_down(self, unreachable: str) -> None:
        app = create_app(Settings(database_url=unreachable, log_level="ERROR"))
        async with http_client(app) as client:
            response = await client.get("/ready")
            assert (await client.get("/health")).status_code == 200
        await app.state.engine.dispose()
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unreachable"}
