"""Routes, requests and log readers of the database outage tests."""

import re
import uuid
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.conftest import _base_url, is_sqlite

# Nothing listens on port 1 on a test machine: every connect is refused at once.
NOWHERE = "postgresql+asyncpg://postgres@127.0.0.1:1/inbound"
SOME_ID = str(uuid.uuid4())
# Routes that never read the database.
WITHOUT_DATABASE = re.compile(r"^/(health|docs|inbound\.js$)")
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


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log lines that carry a traceback (ours through structlog, or a library's)."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.exc_info or (isinstance(record.msg, dict) and record.msg.get("exc_info"))
    ]


def logged(caplog: pytest.LogCaptureFixture, event: str) -> int:
    return sum(1 for r in caplog.records if isinstance(r.msg, dict) and r.msg["event"] == event)


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


def outage_url(tmp_path: Path) -> str:
    """A database that cannot be reached, of the kind under test."""
    if is_sqlite(_base_url()):
        return f"sqlite+aiosqlite:///{tmp_path}/no-such-directory/inbound.db"
    return NOWHERE
