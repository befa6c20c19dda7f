"""What the sync notes on its state row for the status to show: its last success, its last
error, HubSpot's rate-limit headers and pause; each note also renews the worker's turn."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.crm import repository
from inbound.crm.hubspot import Answer
from inbound.crm.pacing import Pacer
from inbound.db import utcnow

logger = structlog.get_logger(__name__)

RATE_LIMIT_HEADER = "x-hubspot-ratelimit-"
NOTE_EVERY = 1.0  # seconds


@dataclass
class Notes:
    """The notes of the worker ``name``, which holds its turn ``lease_seconds`` per note."""

    name: str
    lease_seconds: float
    pacer: Pacer
    noted_at: datetime | None = None

    async def success(self, connection: AsyncConnection, answer: Answer, now: datetime) -> None:
        """HubSpot answered (however it answered, the call went through)."""
        # Every call in flight records its answer: one of them a second is enough for the
        # status, and spares the others a wait on the state row's lock.
        if self.noted_at is not None and (now - self.noted_at).total_seconds() < NOTE_EVERY:
            return
        self.noted_at = now
        await repository.note(connection, {"last_success_at": now, **self.rate_limit(answer, now)})
        await self.renew_turn(connection, now)

    async def error(
        self, connection: AsyncConnection, error: str, answer: Answer | None = None
    ) -> None:
        """A call failed, or HubSpot refused it for a reason that is not one contact's."""
        now = utcnow()
        values: dict[str, Any] = {"last_error": error[:2000], "last_error_at": now}
        if answer is not None:
            values |= self.rate_limit(answer, now)
        logger.warning("crm sync call failed", error=error)
        await repository.note(connection, values)
        await self.renew_turn(connection, now)

    async def renew_turn(self, connection: AsyncConnection, now: datetime) -> None:
        """Hold the turn for another lease after each call, so that a long round keeps it."""
        await repository.renew_turn(
            connection, self.name, now + timedelta(seconds=self.lease_seconds)
        )

    def rate_limit(self, answer: Answer, now: datetime) -> dict[str, Any]:
        """HubSpot's rate-limit headers, and the pause they or a 429 set, as the status shows."""
        seen = {
            name.removeprefix(RATE_LIMIT_HEADER).replace("-", "_"): int(value)
            for name, value in answer.headers.items()
            if name.startswith(RATE_LIMIT_HEADER) and value.isdigit()
        }
        values: dict[str, Any] = {}
        if seen:
            values["rate_limit"] = seen | {"seen_at": now.isoformat()}
        if self.pacer.paused_until > self.pacer.clock():
            values["paused_until"] = now + timedelta(
                seconds=self.pacer.paused_until - self.pacer.clock()
            )
        return values
