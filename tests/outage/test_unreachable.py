"""A database that is down or unreachable: every request answers 503 with `Retry-After` and a
problem body, logged as one line, never a 500 with a traceback."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar

from inbound.app import create_app
from inbound.config import Settings
from inbound.reports.dashboard_auth import COOKIE as DASHBOARD_COOKIE
from tests.conftest import http_client
from tests.outage.helpers import (
    SAMPLE_POSTS,
    WITHOUT_DATABASE,
    assert_unavailable,
    every_get_path,
    logged,
    outage_url,
    tracebacks,
)

UNAVAILABLE_EVENT = "database unavailable; client asked to retry"


@pytest.fixture
async def unreachable_app(tmp_path: Path) -> AsyncIterator[Litestar]:
    settings = Settings(
        database_url=outage_url(tmp_path), log_level="INFO", worker_in_process=False
    )
    app = create_app(settings)
    yield app
    await app.state.engine.dispose()


class TestUnreachableDatabase:
    async def test_every_get_route_answers_503_with_retry_after(
        self, unreachable_app: Litestar, caplog: pytest.LogCaptureFixture
    ) -> None:
        headers = {
            "Authorization": "Bearer inb_sk_" + "a" * 43,
            # A session the dashboard must look up, so that the page needs the database too.
            "Cookie": f"{DASHBOARD_COOKIE}=" + "a" * 43,
        }
        async with http_client(unreachable_app) as client:
            for path in every_get_path(unreachable_app):
                response = await client.get(path, headers=headers)
                assert response.status_code != 500, (path, response.text)
                if path == "/ready":
                    assert response.status_code == 503
                elif not WITHOUT_DATABASE.match(path):
                    assert_unavailable(response)
        assert tracebacks(caplog) == []
        assert logged(caplog, UNAVAILABLE_EVENT) > 10

    async def test_writes_answer_503_and_public_captures_too(
        self, unreachable_app: Litestar, caplog: pytest.LogCaptureFixture
    ) -> None:
        headers = {"Authorization": "Bearer inb_sk_" + "a" * 43}
        async with http_client(unreachable_app) as client:
            for path, body in SAMPLE_POSTS:
                assert_unavailable(await client.post(path, json=body, headers=headers))
            form = await client.post(
                "/api/v1/captures",
                data={"_key": "inb_pk_" + "b" * 43, "asset": "guide", "email": "a@example.com"},
            )
            assert_unavailable(form)
        assert tracebacks(caplog) == []

    @pytest.mark.usefixtures("json_logs")
    async def test_browser_posts_and_preflights_are_answered_and_logged_as_503(
        self, unreachable_app: Litestar, caplog: pytest.LogCaptureFixture
    ) -> None:
        # A browser sends Origin, whose check reads the sites before the handler runs.
        browser = {
            "Origin": "https://www.example.com",
            "Authorization": "Bearer inb_pk_" + "b" * 43,
        }
        async with http_client(unreachable_app) as client:
            answers = [
                await client.post(
                    "/api/v1/captures",
                    json={"asset": "guide", "email": "a@example.com"},
                    headers=browser,
                ),
                await client.get("/api/v1/assets/guide/form", headers=browser),
                await client.options(
                    "/api/v1/captures",
                    headers={"Origin": browser["Origin"], "Access-Control-Request-Method": "POST"},
                ),
            ]
        for answer in answers:
            assert_unavailable(answer)
            assert answer.headers["cache-control"] == "no-store"
            assert answer.headers["x-request-id"]
        access = [
            r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg["event"] == "request"
        ]
        assert [entry["status"] for entry in access] == [503, 503, 503]
        warnings = [
            r.msg
            for r in caplog.records
            if isinstance(r.msg, dict) and r.msg["event"] == UNAVAILABLE_EVENT
        ]
        assert [w.get("request_id") for w in warnings] == [
            a.headers["x-request-id"] for a in answers
        ]
        assert tracebacks(caplog) == []

    async def test_ready_says_unavailable_and_health_stays_alive(
        self, unreachable_app: Litestar
    ) -> None:
        async with http_client(unreachable_app) as client:
            ready = await client.get("/ready")
            health = await client.get("/health")
        assert ready.status_code == 503
        assert ready.json()["database"] == "unreachable"
        assert ready.headers["retry-after"].isdigit()
        assert health.status_code == 200

    async def test_each_failed_request_is_logged_on_one_line(
        self, unreachable_app: Litestar, caplog: pytest.LogCaptureFixture
    ) -> None:
        headers = {"Authorization": "Bearer inb_sk_" + "a" * 43}
        async with http_client(unreachable_app) as client:
            for _ in range(3):
                await client.get("/api/v1/personas", headers=headers)
        assert logged(caplog, UNAVAILABLE_EVENT) == 3
        assert tracebacks(caplog) == []
