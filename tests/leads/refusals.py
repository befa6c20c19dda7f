"""What the tests of refused captures share: the problem an answer must be, and proof that
nothing was written."""

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture, CaptureIdempotencyKey, Contact, ScoreEvent, StageChange
from tests.leads.helpers import count_rows

WRITTEN = (Contact, Capture, StageChange, ScoreEvent, CaptureIdempotencyKey)


async def nothing_written(db: AsyncSession) -> bool:
    """True when no capture left any row behind."""
    return all([await count_rows(db, model) == 0 for model in WRITTEN])


def assert_problem(response: httpx.Response, status: int | set[int]) -> dict[str, Any]:
    """The response is a problem-details body with one of these statuses; return it."""
    expected = status if isinstance(status, set) else {status}
    assert response.status_code in expected, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    return body
