"""The writes of one capture: lean statements in a transaction of their own (see `statements`)."""

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.leads.capture.idempotency import IdempotencyKey
from inbound.leads.capture.statements import (
    CLAIM_IDEMPOTENCY_KEY,
    CONTACT_COLUMNS,
    INSERT_CAPTURE,
    INSERT_CONTACT,
    INSERT_SCORE_EVENT,
    INSERT_STAGE_CHANGE,
    LOCK_CONTACT_BY_EMAIL,
    POINTS_SINCE,
    REPLAYED_CAPTURE,
    TAKE_OVER_IDEMPOTENCY_KEY,
    UPDATE_CONTACT,
)
from inbound.leads.events import INSERT_LEAD_EVENT
from inbound.leads.state import ContactState, LeadEventRow, ScoreEventRow, StageChangeRow
from inbound.lean_sql import LeanTransaction
from inbound.tracking.identity_sql import link_capture_visitor

IDEMPOTENCY_WINDOW = timedelta(hours=24)


class CaptureWrites:
    """What one capture reads and writes under its locks, statement by statement."""

    def __init__(self, transaction: LeanTransaction) -> None:
        self.transaction = transaction

    @classmethod
    @asynccontextmanager
    async def begin(cls, bind: AsyncEngine | AsyncConnection) -> AsyncIterator["CaptureWrites"]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        async with LeanTransaction.begin(bind) as transaction:
            yield cls(transaction)

    async def claim_key(
        self, site_id: uuid.UUID, idempotency: IdempotencyKey, capture_id: uuid.UUID, now: datetime
    ) -> dict[str, Any] | None:
        """Take an idempotency key for this capture; when a live one holds it, its first
        capture, unless it was made from another request (refused).

        A concurrent post with the same key waits here until the first one commits.
        """
        key, request_hash = idempotency.key, idempotency.request_hash
        claim = {"site_id": site_id, "key": key, "capture_id": capture_id, "created_at": now,
                 "request_hash": request_hash}  # fmt: skip
        expired = now - IDEMPOTENCY_WINDOW
        if await self.transaction.first(CLAIM_IDEMPOTENCY_KEY, {**claim, "expired": expired}):
            return None
        first = await self.transaction.first(REPLAYED_CAPTURE, {"site_id": site_id, "key": key})
        if first is None:  # the first capture was erased since: this one takes the key
            await self.transaction.execute(
                TAKE_OVER_IDEMPOTENCY_KEY,
                {"b_site_id": site_id, "b_key": key, "capture_id": capture_id,
                 "created_at": now, "request_hash": request_hash},
            )  # fmt: skip
        else:
            idempotency.check_replay(first["request_hash"])
        return first

    async def lock_contact(self, email: str) -> ContactState | None:
        """The contact with this email, locked until the commit."""
        row = await self.transaction.first(LOCK_CONTACT_BY_EMAIL, {"email": email})
        return None if row is None else ContactState.of(row)

    async def points_since(self, contact_id: uuid.UUID, kind: str, since: datetime) -> float:
        """The points ``kind`` earned the locked contact since ``since``: what its cap counts."""
        window = {"contact_id": contact_id, "kind": kind, "since": since}
        summed = await self.transaction.first(POINTS_SINCE, window)
        return float(summed["earned"]) if summed else 0.0

    async def insert_contact(self, state: ContactState) -> bool:
        """Create the contact; False when a concurrent capture created one with its email."""
        columns = state.columns()
        values = {name: columns[name] for name in CONTACT_COLUMNS}
        return await self.transaction.first(INSERT_CONTACT, values) is not None

    async def update_contact(self, state: ContactState) -> None:
        """Write every column a capture may change."""
        await self.transaction.execute(UPDATE_CONTACT, state.columns() | {"b_id": state.id})

    async def insert_history(
        self,
        stage_changes: Sequence[StageChangeRow],
        score_events: Sequence[ScoreEventRow],
        events: Sequence[LeadEventRow],
    ) -> None:
        """The contact's stage changes, score ledger entries and lead events."""
        await self.transaction.execute_many(INSERT_STAGE_CHANGE, stage_changes)
        await self.transaction.execute_many(
            INSERT_SCORE_EVENT, [row._asdict() for row in score_events]
        )
        await self.transaction.execute_many(INSERT_LEAD_EVENT, events)

    async def insert_capture(self, capture: Mapping[str, Any]) -> None:
        await self.transaction.execute(INSERT_CAPTURE, capture)

    async def link_visitor(
        self, *, contact_id: uuid.UUID, visitor_id: str, capture_id: uuid.UUID, now: datetime
    ) -> None:
        """The visitor id the form came with now stands for the contact."""
        await link_capture_visitor(
            self.transaction, contact_id=contact_id, visitor_id=visitor_id,
            capture_id=capture_id, now=now,
        )  # fmt: skip
