"""What the tests of refused captures share: the problem an answer must be, and proof that
nothing was written."""

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture, CaptureIdempotencyKey, Contact, ScoreEvent, StageChange
from tests.leads.helpers import count_rows
from tests.problems import assert_problem as assert_problem

WRITTEN = (Contact, Capture, StageChange, ScoreEvent, CaptureIdempotencyKey)


async def nothing_written(db: AsyncSession) -> bool:
    """True when no capture left any row behind."""
    return all([await count_rows(db, model) == 0 for model in WRITTEN])
