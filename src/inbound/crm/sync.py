"""The worker's side of the CRM sync: pending contacts go to HubSpot in batch upserts.

One worker syncs at a time (it holds a renewable turn in `crm_sync_state`), because HubSpot's
rate limit belongs to the app, not to a worker: that worker paces every call to stay under it.
A round claims the contacts whose turn has come, a few batches ahead of the calls, sends them
`crm_batch_size` to a call with `crm_concurrency` calls in flight, and records each call's
outcome beside the next call:

- written: the contact is synced and its HubSpot id kept;
- refused for one contact (HubSpot names it by its trace id): that contact is failed, with
  HubSpot's message, and the rest of its batch is written;
- refused as a whole (400 and the like): the batch is split in two and each half sent again,
  until the contact at fault is alone and fails by itself;
- 429: every call waits for `Retry-After`, and the batch goes again (a few times; then its
  contacts are due when HubSpot said);
- a server error, a timeout, a dropped connection: the batch's contacts are due again after a
  backoff that doubles with each failure;
- 401 or 403: the token or its scopes are wrong; nothing is marked failed, the sync waits.

Upserts go by email, so a batch sent twice (a worker killed after HubSpot wrote it, before we
recorded it) updates what the first wrote: nothing is ever created twice.
"""

import asyncio
import collections
import os
import random
import socket
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.backoff import Backoff
from inbound.config import Settings
from inbound.crm import queue
from inbound.crm.hubspot import NO_ANSWER, Answer, HubSpot
from inbound.crm.mapping import (
    GROUP,
    PROPERTIES,
    SCHEMA_VERSION,
    changed_since,
    owned_values,
    properties_of,
)
from inbound.crm.models import CrmErasure, CrmSyncState
from inbound.crm.pacing import Pacer
from inbound.db import dialect_insert_for, table_of, utcnow

logger = structlog.get_logger(__name__)

STATE = table_of(CrmSyncState)
ERASURES = table_of(CrmErasure)
ERASURES_PER_ROUND = 50
RATE_LIMIT_HEADER = "x-hubspot-ratelimit-"
AUTH_PAUSE_SECONDS = 60.0
RETRIED_TRIES = 5
# A round goes on as long as contacts are due, up to this long; then the turn is checked.
ROUND_SECONDS = 20.0
NOTE_EVERY = 1.0  # seconds
LEASE_MARGIN_SECONDS = 5.0
T = TypeVar("T")


@dataclass
class Round:
    """One round's batches still to send, and what it did."""

    batches: collections.deque[list[queue.Pending]]
    ends_at: float
    recording: list[asyncio.Task[None]] = field(default_factory=list)
    refilling: asyncio.Lock = field(default_factory=asyncio.Lock)
    drained: bool = False
    synced: int = 0
    failed: int = 0


@dataclass
class CrmSync:
    """The CRM sync of one worker process; `step` does one round when it holds the turn."""

    engine: AsyncEngine
    settings: Settings
    rng: random.Random = field(default_factory=random.Random)
    name: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )
    hubspot: HubSpot | None = None

    def __post_init__(self) -> None:
        settings = self.settings
        if self.hubspot is None and settings.hubspot_token is not None:
            self.hubspot = HubSpot(
                token=settings.hubspot_token.get_secret_value(),
                url=settings.hubspot_url,
                timeout=settings.crm_timeout_seconds,
                connections=settings.crm_concurrency,
            )
        self.pacer = Pacer(limit=settings.crm_rate_limit)
        # Contacts taken for a call are not due again before this, unless their answer is
        # recorded first: long enough for the call and its retries after 429s.
        self.lease = timedelta(seconds=2 * settings.crm_timeout_seconds + LEASE_MARGIN_SECONDS)
        self._threads = ThreadPoolExecutor(
            max_workers=settings.crm_concurrency, thread_name_prefix="hubspot"
        )
        self._schema_failures = 0
        self._noted_at: datetime | None = None
        self._schema_retry_at: datetime | None = None

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def step(self) -> int:
        """Sync what is due, if this worker holds the turn; how many contacts were handled."""
        if self.hubspot is None or not await self._take_turn():
            return 0
        if self.pacer.paused_until - self.pacer.clock() > self.settings.crm_lease_seconds / 2:
            return 0  # HubSpot asked for a long wait: no round sits through it
        if not await self._schema_ready():
            return 0
        erased = await self._erase_due()
        work = Round(collections.deque(), ends_at=self.pacer.clock() + ROUND_SECONDS)
        try:
            await asyncio.gather(*(self._send(work) for _ in range(self.settings.crm_concurrency)))
        finally:
            await asyncio.gather(*work.recording)
        return erased + work.synced + work.failed

    # Erasures: before the round's upserts, so that none can bring an erased contact back.

    async def _erase_due(self) -> int:
        """GDPR-delete in HubSpot the contacts erased here whose turn has come; how many."""
        hubspot = self.hubspot
        assert hubspot is not None
        now = utcnow()
        async with self.engine.connect() as connection:
            due = (
                await connection.execute(
                    select(ERASURES.c.id, ERASURES.c.email, ERASURES.c.crm_id, ERASURES.c.attempts)
                    .where(ERASURES.c.done_at.is_(None), ERASURES.c.due_at <= now)
                    .order_by(ERASURES.c.due_at)
                    .limit(ERASURES_PER_ROUND)
                )
            ).all()
        erased = 0
        for erasure in due:
            answer = await self._call(
                partial(hubspot.erase, crm_id=erasure.crm_id, email=erasure.email)
            )
            now = utcnow()
            # Gone already (404) is what an erasure wants, too.
            done = answer.ok or answer.status == 404
            values: dict[str, Any] = {"attempts": erasure.attempts + 1}
            if done:
                # The email was kept only to erase it there.
                values |= {"done_at": now, "email": None, "error": None}
            else:
                values |= {"error": _describe(answer), "due_at": now + self._wait(erasure.attempts)}
            async with self.engine.begin() as connection:
                await connection.execute(
                    update(ERASURES).where(ERASURES.c.id == erasure.id).values(values)
                )
                if done:
                    await self._note_success(connection, answer, now)
                else:
                    await self._note_error(connection, f"erasing: {_describe(answer)}", answer)
            erased += done
            if answer.status in (401, 403):
                self.pacer.pause(AUTH_PAUSE_SECONDS)
            if answer.status in (401, 403, 429):
                break  # the rest wait for the next round
        return erased

    # The turn

    async def _take_turn(self) -> bool:
        """Hold, or renew, this worker's turn to sync; False while another holds it."""
        now = utcnow()
        until = now + timedelta(seconds=self.settings.crm_lease_seconds)
        async with self.engine.begin() as connection:
            taken = await connection.execute(
                update(STATE)
                .where(STATE.c.id == 1)
                .where(
                    or_(
                        STATE.c.leader.is_(None),
                        STATE.c.leader == self.name,
                        STATE.c.leader_until < now,
                    )
                )
                .values(leader=self.name, leader_until=until)
            )
            if taken.rowcount:
                return True
            created = await connection.execute(
                dialect_insert_for(connection, STATE)
                .values(id=1, leader=self.name, leader_until=until, schema_version=0, rate_limit={})
                .on_conflict_do_nothing(index_elements=["id"])
            )
            return bool(created.rowcount)

    async def _schema_ready(self) -> bool:
        """Our properties exist in HubSpot: created on the first run, or after they change."""
        async with self.engine.connect() as connection:
            version = await connection.scalar(select(STATE.c.schema_version).where(STATE.c.id == 1))
        if version == SCHEMA_VERSION:
            return True
        if self._schema_retry_at and utcnow() < self._schema_retry_at:
            return False
        answer = await self.set_up_properties()
        if answer.ok:
            self._schema_failures, self._schema_retry_at = 0, None
        else:
            self._schema_failures += 1
            self._schema_retry_at = utcnow() + self._wait(self._schema_failures - 1)
        return answer.ok

    async def set_up_properties(self) -> Answer:
        """Create our property group and properties in HubSpot where missing, and note it."""
        answer = await self._create_missing_properties()
        async with self.engine.begin() as connection:
            if answer.ok:
                await self._ensure_state_row(connection)
                await connection.execute(
                    update(STATE).where(STATE.c.id == 1)
                    .values(schema_version=SCHEMA_VERSION, schema_at=utcnow())
                )  # fmt: skip
            else:
                await self._note_error(connection, f"setting up properties: {_describe(answer)}")
        return answer

    async def _create_missing_properties(self) -> Answer:
        hubspot = self.hubspot
        assert hubspot is not None
        # Each step is safe to repeat: what exists is left alone, and a 409 (made by a try
        # whose answer was lost) counts as made.
        answer, groups = await self._call(partial(hubspot.existing, "groups"), transient=True)
        if answer.ok and GROUP["name"] not in groups:
            answer = _made(await self._call(hubspot.create_group, transient=True))
        if not answer.ok:
            return answer
        answer, names = await self._call(partial(hubspot.existing, "properties"), transient=True)
        for definition in PROPERTIES:
            if answer.ok and definition["name"] not in names:
                made = partial(hubspot.create_property, definition)
                answer = _made(await self._call(made, transient=True))
        return answer

    async def _call(self, call: Callable[[], T], *, transient: bool = False) -> T:
        """A paced call to HubSpot in a worker thread, again after a 429 (a few times), and
        with ``transient``, after a server error or no answer too."""
        for tries in range(RETRIED_TRIES):
            slot = await self.pacer.acquire()
            try:
                found = await asyncio.get_running_loop().run_in_executor(self._threads, call)
            finally:
                self.pacer.release(slot)
            answer = found[0] if isinstance(found, tuple) else found
            assert isinstance(answer, Answer)
            self.pacer.observe(answer.headers)
            if answer.status == 429:
                self.pacer.pause(answer.retry_after or self.pacer.interval)
            elif transient and (answer.status == NO_ANSWER or answer.status >= 500):
                await asyncio.sleep(self._wait(tries).total_seconds())
            else:
                break
        return found

    def _wait(self, failures: int) -> timedelta:
        """The backoff after ``failures`` earlier failures."""
        backoff = Backoff(self.settings.crm_retry_base_seconds, self.settings.crm_retry_max_seconds)
        return backoff.wait(failures + 1, self.rng)

    async def _ensure_state_row(self, connection: AsyncConnection) -> None:
        await connection.execute(
            dialect_insert_for(connection, STATE)
            .values(id=1, schema_version=0, rate_limit={})
            .on_conflict_do_nothing(index_elements=["id"])
        )

    # Sending

    async def _refill(self, work: Round) -> None:
        """Take the next contacts whose turn has come, when few batches are left to send: the
        calls in flight never wait for a round to end before the next contacts are read."""
        async with work.refilling:
            if len(work.batches) >= self.settings.crm_concurrency or work.drained:
                return
            if self.pacer.clock() >= work.ends_at:
                work.drained = True  # the round ends; the next one checks the turn again
                return
            size = self.settings.crm_batch_size
            now = utcnow()
            pending = await queue.claim(
                self.engine, now, size * self.settings.crm_concurrency, now + self.lease
            )
            if len(pending) < size * self.settings.crm_concurrency:
                work.drained = True
            work.batches.extend(pending[i : i + size] for i in range(0, len(pending), size))

    async def _send(self, work: Round) -> None:
        """Send batches until none is due, recording each as it comes back."""
        hubspot = self.hubspot
        assert hubspot is not None
        while True:
            await self._refill(work)
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
            answer = await self._call(partial(hubspot.upsert, inputs))
            if _refused_as_a_whole(answer) and len(batch) > 1:
                # Halve the batch until the contact at fault is alone.
                middle = len(batch) // 2
                work.batches.extend((batch[:middle], batch[middle:]))
                continue
            # Recorded beside the next call, not before it: the call is what takes time.
            sent = {key: owned_values(values) for key, values in properties.items()}
            work.recording.append(asyncio.create_task(self._settle(work, batch, answer, sent)))

    async def _settle(
        self,
        work: Round,
        batch: list[queue.Pending],
        answer: Answer,
        sent: dict[uuid.UUID, dict[str, str]],
    ) -> None:
        """Record a call's outcome; ``sent``: HubSpot's own properties as a write leaves them."""
        now = utcnow()
        if answer.ok:
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
                await queue.record_done(connection, synced, failed, now, sent)
                await queue.record_retry(
                    connection, [(p, self._backoff(p, now)) for p in unanswered]
                )
                await self._note_success(connection, answer, now)
            work.synced += len(synced)
            work.failed += len(failed)
            return
        if answer.status == 429:  # still, after a few paced tries: due when HubSpot said
            wait = max(1.0, self.pacer.paused_until - self.pacer.clock())
            await self._retry(batch, now, answer, seconds=wait)
            return
        if answer.status in (401, 403):
            self.pacer.pause(AUTH_PAUSE_SECONDS)
            await self._retry(batch, now, answer, seconds=AUTH_PAUSE_SECONDS)
            return
        if answer.status == NO_ANSWER or answer.status >= 500:
            await self._retry(batch, now, answer)
            return
        # Refused as a whole, and alone: the contact is at fault.
        async with self.engine.begin() as connection:
            await queue.record_done(connection, [], [(batch[0], answer.message)], now)
            await self._note_success(connection, answer, now)
        work.failed += 1

    async def _retry(
        self, batch: Sequence[queue.Pending], now: datetime, answer: Answer, seconds: float = 0.0
    ) -> None:
        retries = [
            (p, now + timedelta(seconds=seconds) if seconds else self._backoff(p, now))
            for p in batch
        ]
        async with self.engine.begin() as connection:
            await queue.record_retry(connection, retries)
            await self._note_error(connection, _describe(answer), answer)

    def _backoff(self, pending: queue.Pending, now: datetime) -> datetime:
        return now + self._wait(pending.attempts)

    # What the status shows

    async def _note_success(
        self, connection: AsyncConnection, answer: Answer, now: datetime
    ) -> None:
        # Every call in flight records its answer: one of them a second is enough for the
        # status, and spares the others a wait on the state row's lock.
        if self._noted_at is not None and (now - self._noted_at).total_seconds() < NOTE_EVERY:
            return
        self._noted_at = now
        await connection.execute(
            update(STATE).where(STATE.c.id == 1)
            .values(last_success_at=now, **self._rate_limit(answer, now))
        )  # fmt: skip
        await self._renew_turn(connection, now)

    async def _renew_turn(self, connection: AsyncConnection, now: datetime) -> None:
        """Hold the turn for another lease after each call, so that a long round keeps it."""
        until = now + timedelta(seconds=self.settings.crm_lease_seconds)
        await connection.execute(
            update(STATE).where(STATE.c.id == 1, STATE.c.leader == self.name)
            .values(leader_until=until)
        )  # fmt: skip

    async def _note_error(
        self, connection: AsyncConnection, error: str, answer: Answer | None = None
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {"last_error": error[:2000], "last_error_at": now}
        if answer is not None:
            values |= self._rate_limit(answer, now)
        logger.warning("crm sync call failed", error=error)
        await connection.execute(update(STATE).where(STATE.c.id == 1).values(values))
        await self._renew_turn(connection, now)

    def _rate_limit(self, answer: Answer, now: datetime) -> dict[str, Any]:
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


def _refused_as_a_whole(answer: Answer) -> bool:
    """A 4xx that will never succeed as it is, for a reason HubSpot did not pin on one input."""
    return 400 <= answer.status < 500 and answer.status not in (401, 403, 429)


def _made(answer: Answer) -> Answer:
    """A create's answer, with 409 (it exists already) as success."""
    return Answer(200, answer.headers) if answer.status == 409 else answer


def _describe(answer: Answer) -> str:
    if answer.status == NO_ANSWER:
        return answer.message
    return f"HubSpot answered {answer.status}: {answer.message}"
