"""Routes, requests and log readers of the database outage tests."""

from pathlib import Path

import pytest

from tests.conftest import _base_url, is_sqlite

# Nothing listens on port 1 on a test machine: every connect is refused at once.
NOWHERE = "postgresql+asyncpg://postgres@127.0.0.1:1/inbound"


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log lines that carry a traceback (ours through structlog, or a library's)."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.exc_info or (isinstance(record.msg, dict) and record.msg.get("exc_info"))
    ]


def logged(caplog: pytest.LogCaptureFixture, event: str) -> int:
    return sum(1 for r in caplog.records if isinstance(r.msg, dict) and r.msg["event"] == event)


def outage_url(tmp_path: Path) -> str:
    """A database that cannot be reached, of the kind under test."""
    if is_sqlite(_base_url()):
        return f"sqlite+aiosqlite:///{tmp_path}/no-such-directory/inbound.db"
    return NOWHERE
