"""What the tests of refused captures share: the problem an answer must be, and proof that
nothing was written."""

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture, CaptureIdempotencyKey, Contact, ScoreEvent, StageChange
from tests.leads.helpers import count_rows
from tests.problems import assert_problem, error_fields

# A refused capture may be answered 400 (unreadable) or 422 (readable but invalid).
REFUSED = frozenset({400, 422})
WRITTEN = (Contact, Capture, StageChange, ScoreEvent, CaptureIdempotencyKey)


async def nothing_written(db: AsyncSession) -> bool:
    """True when no capture left any row behind."""
    return all([await count_rows(db, model) == 0 for model in WRITTEN])


async def assert_refused(
    response: httpx.Response,
    db: AsyncSession,
    field: str,
    status: int | set[int] | frozenset[int] = REFUSED,
) -> None:
    """The capture was refused with a problem naming ``field`` alone, and wrote nothing."""
    assert_problem(response, status)
    assert error_fields(response) == [field]
    assert await nothing_written(db)
