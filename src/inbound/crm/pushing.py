"""Contacts pushed to HubSpot in batch upserts, `crm_batch_size` to a call with
`crm_concurrency` calls in flight, each call's outcome recorded beside the next call."""

import asyncio
import collections
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.config import Settings
from inbound.crm import repository
from inbound.crm.calls import AUTH_PAUSE_SECONDS, Calls, describe, refused_as_a_whole
from inbound.crm.hubspot import NO_ANSWER, Answer, HubSpot
from inbound.crm.mapping import changed_since, owned_values, properties_of
from inbound.crm.repository import Pending
from inbound.crm.status import Notes
from inbound.db import utcnow


@dataclass
class Round:
    """One round's batches still to send, and what it did."""

    batches: collections.deque[list[Pending]]
    ends_at: float
    recording: list[asyncio.Task[None]] = field(default_factory=list)
    refilling: asyncio.Lock = field(default_factory=asyncio.Lock)
    drained: bool = False
    synced: int = 0
    failed: int = 0


@dataclass
class Pushing:
    """The upserts of one worker; contacts taken for a call are not due again before
    ``lease`` has passed, unless their answer is recorded first."""

    engine: AsyncEngine
    settings: Settings
    hubspot: HubSpot
    calls: Calls
    notes: Notes
    lease: timedelta

    @property
    def concurrency(self) -> int:
        return self.settings.crm_concurrency

    async def refill(self, work: Round) -> None:
        """Take the next contacts whose turn has come, when few batches are left to send: the
        calls in flight never wait for a round to end before the next contacts are read."""
        async with work.refilling:
            if len(work.batches) >= self.settings.crm_concurrency or work.drained:
                return
            if self.calls.pacer.clock() >= work.ends_at:
                work.drained = True  # the round ends; the next one checks the turn again
                return
            size = self.settings.crm_batch_size
            now = utcnow()
            pending = await repository.claim(
                self.engine, now, size * self.settings.crm_concurrency, now + self.lease
            )
            if len(pending) < size * self.settings.crm_concurrency:
                work.drained = True
            work.batches.extend(pending[i : i + size] for i in range(0, len(pending), size))

    async def send(self, work: Round) -> None:
        """Send batches until none is due, recording each as it comes back."""
        while True:
            await self.refill(work)
            if not work.batches:
                return
            batch = work.batches.popleft()
            properties = {p.contact_id: properties_of(p.contact) for p in batch}
            inputs = [
                {"id": p.contact["email"], "idProperty": "email",
                 "objectWriteTraceId": str(p.contact_id),
                 "properties": changed_since(properties[p.contact_id], p.last_sent)}
                for p in batch
            ]  # fmt: skip
            answer = await self.calls.call(partial(self.hubspot.upsert, inputs))
            if refused_as_a_whole(answer) and len(batch) > 1:
                # Halve the batch until the contact at fault is alone.
                middle = len(batch) // 2
                work.batches.extend((batch[:middle], batch[middle:]))
                continue
            # Recorded beside the next call, not before it: the call is what takes time.
            sent = {key: owned_values(values) for key, values in properties.items()}
            work.recording.append(asyncio.create_task(self.settle(work, batch, answer, sent)))

    async def settle(
        self, work: Round, batch: list[Pending], answer: Answer,
        sent: dict[uuid.UUID, dict[str, str]],
    ) -> None:  # fmt: skip
        """Record a call's outcome; ``sent``: HubSpot's own properties as a write leaves them."""
        now = utcnow()
        if answer.ok:
            await self._written(work, batch, answer, sent, now)
            return
        pacer = self.calls.pacer
        if answer.status == 429:  # still, after a few paced tries: due when HubSpot said
            wait = max(1.0, pacer.paused_until - pacer.clock())
            await self.retry(batch, now, answer, seconds=wait)
            return
        if answer.status in (401, 403):
            pacer.pause(AUTH_PAUSE_SECONDS)
            await self.retry(batch, now, answer, seconds=AUTH_PAUSE_SECONDS)
            return
        if answer.status == NO_ANSWER or answer.status >= 500:
            await self.retry(batch, now, answer)
            return
        # Refused as a whole, and alone: the contact is at fault.
        async with self.engine.begin() as connection:
            await repository.record_done(connection, [], [(batch[0], answer.message)], now)
            await self.notes.success(connection, answer, now)
        work.failed += 1

    async def _written(
        self, work: Round, batch: list[Pending], answer: Answer,
        sent: dict[uuid.UUID, dict[str, str]], now: datetime,
    ) -> None:  # fmt: skip
        """Record an upsert HubSpot took: each contact written, refused, or not answered for."""
        synced, failed, unanswered = [], [], []
        for pending in batch:
            trace, email = str(pending.contact_id), str(pending.contact["email"]).lower()
            crm_id = answer.written.get(trace) or answer.written_by_email.get(email)
            if crm_id is not None:
                synced.append((pending, crm_id))
            elif trace in answer.refused:
                failed.append((pending, answer.refused[trace]))
            else:
                unanswered.append(pending)
        async with self.engine.begin() as connection:
            await repository.record_done(connection, synced, failed, now, sent)
            await repository.record_retry(
                connection, [(p, self._backoff(p, now)) for p in unanswered]
            )
            await self.notes.success(connection, answer, now)
        work.synced += len(synced)
        work.failed += len(failed)

    async def retry(
        self, batch: Sequence[Pending], now: datetime, answer: Answer, seconds: float = 0.0
    ) -> None:
        """The batch's contacts due again: after ``seconds``, or else after their backoff."""
        retries = [
            (p, now + timedelta(seconds=seconds) if seconds else self._backoff(p, now))
            for p in batch
        ]
        async with self.engine.begin() as connection:
            await repository.record_retry(connection, retries)
            await self.notes.error(connection, describe(answer), answer)

    def _backoff(self, pending: Pending, now: datetime) -> datetime:
        return now + self.calls.wait(pending.attempts)
