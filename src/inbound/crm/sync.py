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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from inbound.backoff import Backoff
from inbound.config import Settings
from inbound.crm import repository
from inbound.crm.calls import Calls, describe, made
from inbound.crm.erasing import erase_due
from inbound.crm.hubspot import Answer, HubSpot
from inbound.crm.mapping import GROUP, PROPERTIES, SCHEMA_VERSION
from inbound.crm.pacing import Pacer
from inbound.crm.pushing import Pushing, Round
from inbound.crm.status import Notes
from inbound.db import utcnow

# A round goes on as long as contacts are due, up to this long; then the turn is checked.
ROUND_SECONDS = 20.0
LEASE_MARGIN_SECONDS = 5.0


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
        backoff = Backoff(settings.crm_retry_base_seconds, settings.crm_retry_max_seconds)
        self.calls = Calls(self.pacer, backoff, settings.crm_concurrency, self.rng)
        self.notes = Notes(self.name, settings.crm_lease_seconds, self.pacer)
        self._schema_failures = 0
        self._schema_retry_at: datetime | None = None

    def close(self) -> None:
        self.calls.close()

    async def step(self) -> int:
        """Sync what is due, if this worker holds the turn; how many contacts were handled."""
        hubspot = self.hubspot
        if hubspot is None or not await self._take_turn():
            return 0
        if self.pacer.paused_until - self.pacer.clock() > self.settings.crm_lease_seconds / 2:
            return 0  # HubSpot asked for a long wait: no round sits through it
        if not await self._schema_ready():
            return 0
        erased = await erase_due(self.engine, hubspot, self.calls, self.notes)
        # Contacts taken for a call are not due again before this, unless their answer is
        # recorded first: long enough for the call and its retries after 429s.
        lease = timedelta(seconds=2 * self.settings.crm_timeout_seconds + LEASE_MARGIN_SECONDS)
        pushing = Pushing(self.engine, self.settings, hubspot, self.calls, self.notes, lease)
        work = Round(collections.deque(), ends_at=self.pacer.clock() + ROUND_SECONDS)
        try:
            await asyncio.gather(
                *(pushing.send(work) for _ in range(self.settings.crm_concurrency))
            )
        finally:
            await asyncio.gather(*work.recording)
        return erased + work.synced + work.failed

    async def _take_turn(self) -> bool:
        """Hold, or renew, this worker's turn to sync; False while another holds it."""
        now = utcnow()
        until = now + timedelta(seconds=self.settings.crm_lease_seconds)
        async with self.engine.begin() as connection:
            return await repository.take_turn(connection, self.name, now, until)

    async def _schema_ready(self) -> bool:
        """Our properties exist in HubSpot: created on the first run, or after they change."""
        async with self.engine.connect() as connection:
            version = await repository.schema_version(connection)
        if version == SCHEMA_VERSION:
            return True
        if self._schema_retry_at and utcnow() < self._schema_retry_at:
            return False
        answer = await self.set_up_properties()
        if answer.ok:
            self._schema_failures, self._schema_retry_at = 0, None
        else:
            self._schema_failures += 1
            self._schema_retry_at = utcnow() + self.calls.wait(self._schema_failures - 1)
        return answer.ok

    async def set_up_properties(self) -> Answer:
        """Create our property group and properties in HubSpot where missing, and note it."""
        answer = await self._create_missing_properties()
        async with self.engine.begin() as connection:
            if answer.ok:
                await repository.ensure_state_row(connection)
                await repository.note(
                    connection, {"schema_version": SCHEMA_VERSION, "schema_at": utcnow()}
                )
            else:
                await self.notes.error(connection, f"setting up properties: {describe(answer)}")
        return answer

    async def _create_missing_properties(self) -> Answer:
        hubspot, call = self.hubspot, self.calls.call
        assert hubspot is not None
        # Each step is safe to repeat: what exists is left alone, and a 409 (made by a try
        # whose answer was lost) counts as made.
        answer, groups = await call(partial(hubspot.existing, "groups"), transient=True)
        if answer.ok and GROUP["name"] not in groups:
            answer = made(await call(hubspot.create_group, transient=True))
        if not answer.ok:
            return answer
        answer, names = await call(partial(hubspot.existing, "properties"), transient=True)
        for definition in PROPERTIES:
            if answer.ok and definition["name"] not in names:
                answer = made(
                    await call(partial(hubspot.create_property, definition), transient=True)
                )
        return answer
