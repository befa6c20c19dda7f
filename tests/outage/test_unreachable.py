"""A database that is down, unreachable or killing the pool's connections: every request answers
503 with `Retry-After` and a problem body, logged as one line, never a 500 with a traceback."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.app import create_app
from inbound.config import Settings
from inbound.db import create_engine
from inbound.reports.dashboard_auth import COOKIE as DASHBOARD_COOKIE
from tests.conftest import Headers, http_client, is_sqlite
from tests.outage.helpers import logged, outage_url, tracebacks

SOME_ID = str(uuid.uuid4())
# Routes that never read the database.
WITHOUT_DATABASE = re.compile(r"^/(health|docs|inbound\.js$)")
UNAVAILABLE_EVENT = "database unavailable; client asked to retry"
SAMPLE_POSTS = [
    ("/api/v1/personas", {"name": "IT Director"}),
    ("/api/v1/assets", {"title": "Guide", "kind": "guide", "funnel_stage": "attract"}),
    ("/api/v1/sites", {"name": "www"}),
    ("/api/v1/api-keys", {"name": "ops", "scopes": ["admin"]}),
    (f"/api/v1/leads/{SOME_ID}/stage", {"stage": "sql"}),
    ("/api/v1/crm/resync", {}),
    ("/api/v1/captures", {"asset": "guide", "email": "ana@example.com"}),
    ("/api/v1/batch", {"batch": [{"event": "Viewed", "anonymousId": "a-1"}]}),
    ("/api/v1/t", {"event": "Viewed", "anonymousId": "a-1"}),
]


def every_get_path(app: Litestar) -> list[str]:
    """Each GET route of the app, its path parameters filled with a plausible value."""
    paths = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and "GET" in route.methods:
            path = re.sub(r"\{[^}:]+:uuid\}", SOME_ID, route.path)
            paths.append(re.sub(r"\{[^}]+\}", "x", path))
    return paths


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.headers["retry-after"].isdigit()
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 503
    assert "database" in body["detail"]


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


async def terminate_backends(admin_engine: AsyncEngine, database: str) -> int:
    """Kill every session on ``database`` but this one, as a restart would."""
    async with admin_engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        result = await conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": database},
        )
        return int(result.scalar_one())


@dataclass(frozen=True)
class Server:
    """The PostgreSQL server under the test: an engine on its `postgres` database, and the name
    of the test's own database."""

    engine: AsyncEngine
    database: str


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[Server]:
    if is_sqlite(database_url):
        pytest.skip("SQLite has no server sessions to kill")
    url = make_url(database_url)
    admin_engine = create_engine(url.set(database="postgres").render_as_string(False))
    yield Server(admin_engine, str(url.database))
    await admin_engine.dispose()


@pytest.mark.committing
class TestConnectionsKilledUnderThePool:
    async def test_no_request_gets_a_500_and_the_pool_recovers(
        self,
        committing_app: Litestar,
        committing_admin: Headers,
        server: Server,
        engine: AsyncEngine,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        admin_engine, name = server.engine, server.database
        paths = [p for p in every_get_path(committing_app) if not WITHOUT_DATABASE.match(p)]
        async with http_client(committing_app) as client:
            # Fill the pool with several live connections, then kill them all.
            await asyncio.gather(
                *(client.get("/api/v1/personas", headers=committing_admin) for _ in range(8))
            )
            assert await terminate_backends(admin_engine, name) > 0
            await engine.dispose()  # the test's own pool lost its connections too
            # At once, so that several requests meet a dead connection, not only the first.
            answers = list(
                await asyncio.gather(*(client.get(p, headers=committing_admin) for p in paths))
            )
            for path, body in SAMPLE_POSTS:
                answers.append(await client.post(path, json=body, headers=committing_admin))
            after = await client.get("/api/v1/personas", headers=committing_admin)
        assert [
            a.status_code for a in answers if a.status_code >= 500 and a.status_code != 503
        ] == []
        lost = [a for a in answers if a.status_code == 503]
        assert lost, "killing the pool's connections went unnoticed"
        for answer in lost:
            assert_unavailable(answer)
        assert after.status_code == 200
        assert tracebacks(caplog) == []

    async def test_a_database_refusing_connections_answers_503_until_it_is_back(
        self,
        committing_app: Litestar,
        committing_admin: Headers,
        server: Server,
        engine: AsyncEngine,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        admin_engine, name = server.engine, server.database
        try:
            async with http_client(committing_app) as client:
                assert (await client.get("/ready")).status_code == 200
                await allow_connections(admin_engine, name, allowed=False)
                await terminate_backends(admin_engine, name)
                during = [
                    await client.get("/api/v1/personas", headers=committing_admin),
                    await client.get("/api/v1/leads", headers=committing_admin),
                    await client.post(
                        SAMPLE_POSTS[0][0], json=SAMPLE_POSTS[0][1], headers=committing_admin
                    ),
                ]
                ready_during = await client.get("/ready")
                await allow_connections(admin_engine, name, allowed=True)
                after = await client.get("/api/v1/personas", headers=committing_admin)
        finally:
            await allow_connections(admin_engine, name, allowed=True)
            await engine.dispose()
        for answer in during:
            assert_unavailable(answer)
        assert ready_during.status_code == 503
        assert after.status_code == 200
        assert tracebacks(caplog) == []


async def allow_connections(admin_engine: AsyncEngine, database: str, *, allowed: bool) -> None:
    async with admin_engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(
            text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        )
