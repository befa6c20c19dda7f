"""`inbound worker`: hands the outbox's lead events on to webhook subscriptions and to the CRM
sync, sends the webhooks, syncs contacts to HubSpot, and turns tracked behaviour into identity
links and engagement points.

Work that talks to the outside world never runs in a request; the request writes events in
its own transaction, and this loop delivers them. Start as many workers as needed: webhooks
are shared out between them, and one at a time syncs to HubSpot.
"""

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.backoff import Backoff
from inbound.churn.recompute import Recomputed, recompute_risks
from inbound.config import Settings
from inbound.crm import queue as crm_queue
from inbound.crm.sync import CrmSync
from inbound.db import create_sessionmaker, utcnow
from inbound.leads.events import CRM_ORIGIN, NOT_FOR_CRM, LeadEventType
from inbound.leads.service import LeadSettingsService
from inbound.outage import OutageWatch, schema_missing, unavailability
from inbound.reports.daily.roll import roll_report_days
from inbound.tracking.identity import engagement_step
from inbound.tracking.nbc.signals import refresh_signals
from inbound.tracking.retention import prune
from inbound.webhooks import delivery

logger = structlog.get_logger(__name__)

# A claim outlasts the sending of its batch by this much; after it, another worker takes over
# the deliveries of one that died.
LEASE_MARGIN = timedelta(seconds=5)
PURGE_EVERY_SECONDS = 300.0
PRUNE_EVENTS_EVERY_SECONDS = 3600.0
# The longest wait between two looks at a database that is away.
OUTAGE_MAX_WAIT = 30.0
RETENTION = timedelta(days=30)


@dataclass
class Worker:
    """One worker process's loop; `step` does one round of everything."""

    engine: AsyncEngine
    settings: Settings
    rng: random.Random = field(default_factory=random.Random)
    _purged_at: float = 0.0
    _events_pruned_at: float | None = None
    _nbc_refreshed_at: float = float("-inf")
    _churn_at: float = float("-inf")
    _days_rolled_at: float = float("-inf")

    def __post_init__(self) -> None:
        self.policy = delivery.RetryPolicy(
            Backoff(
                self.settings.webhook_retry_base_seconds, self.settings.webhook_retry_max_seconds
            ),
            give_up_after=timedelta(hours=self.settings.webhook_give_up_hours),
        )
        settings = self.settings
        # Each round sends its batch `concurrency` at a time; a live worker has answered and
        # recorded the whole batch well before its lease ends.
        rounds = -(-settings.webhook_batch // settings.webhook_concurrency)
        self.lease = (rounds + 1) * timedelta(seconds=settings.webhook_timeout_seconds)
        self.lease += LEASE_MARGIN
        self.sender = delivery.Sender(
            concurrency=settings.webhook_concurrency,
            timeout=settings.webhook_timeout_seconds,
            allow_loopback=settings.webhook_allow_loopback,
        )
        self.crm = CrmSync(self.engine, settings, rng=self.rng) if settings.crm_enabled else None
        self.sessions = create_sessionmaker(self.engine)

    async def close(self) -> None:
        await self.sender.close()
        if self.crm is not None:
            self.crm.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; rest while there is nothing to do. Webhooks and the CRM
        sync go on side by side, so that waiting on HubSpot's rate limit holds up no webhook."""
        await asyncio.gather(
            self._loop(stop, self.database_step),
            self._loop(stop, self.crm_step),
            # It meets the same database as the webhooks, whose loop reports an outage.
            self._loop(stop, self.nbc_step, quiet=True),
            self._loop(stop, self.churn_step, quiet=True),
            self._loop(stop, self.report_days_step, quiet=True),
        )

    async def _loop(
        self, stop: asyncio.Event, step: Callable[[], Awaitable[int]], *, quiet: bool = False
    ) -> None:
        poll = self.settings.worker_poll_seconds
        watch = OutageWatch(
            task=step.__name__, base_seconds=poll, max_seconds=OUTAGE_MAX_WAIT, quiet=quiet
        )
        while not stop.is_set():
            wait = poll
            try:
                busy = await step()
                watch.succeeded()
            except Exception as error:
                busy = 0
                # A database that is down or not migrated fails every round alike: one line
                # when it starts and one when it ends, with growing waits between.
                reason = unavailability(error) or schema_missing(error)
                if reason is None:
                    logger.exception("worker round failed; trying again shortly")
                else:
                    wait = watch.failed(reason)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)

    async def step(self) -> int:
        """One round of everything; how many events, deliveries and contacts were handled."""
        return await self.database_step() + await self.crm_step()

    async def database_step(self) -> int:
        """Engagement, then webhooks: the work that needs only our database. Engagement
        first, so that an MQL it makes is dispatched in the same round."""
        return await self.engagement_step() + await self.webhook_step()

    async def engagement_step(self) -> int:
        """Link identify calls and score behaviour the event writer queued."""
        return await engagement_step(self.sessions)

    async def retention_step(self) -> int:
        """Now and then, drop the events past the retention period (whole months on
        PostgreSQL) and the message ids past the dedupe window; how many went."""
        if (
            self._events_pruned_at is not None
            and time.monotonic() - self._events_pruned_at < PRUNE_EVENTS_EVERY_SECONDS
        ):
            return 0
        async with self.engine.begin() as connection:
            pruned = await prune(
                connection, utcnow(), timedelta(days=self.settings.tracking_retention_days)
            )
        self._events_pruned_at = time.monotonic()
        if pruned.months or pruned.events:
            logger.info("old events removed", months=pruned.months, events=pruned.events)
        return len(pruned.months) + pruned.events + pruned.messages

    async def nbc_step(self) -> int:
        """Recompute the next-best-content signals when their time has come; never busy, so
        the loop rests between looks."""
        every = self.settings.nbc_refresh_seconds
        if every <= 0 or time.monotonic() - self._nbc_refreshed_at < every:
            return 0
        self._nbc_refreshed_at = time.monotonic()
        async with self.engine.begin() as connection:
            await refresh_signals(
                connection,
                now=utcnow(),
                window_days=self.settings.nbc_window_days,
                min_together=self.settings.nbc_min_together,
            )
        return 0

    async def churn_step(self) -> int:
        """Recompute the churn risks when their time has come; never busy, so the loop rests
        between looks."""
        every = self.settings.churn_every_seconds
        if every <= 0 or time.monotonic() - self._churn_at < every:
            return 0
        self._churn_at = time.monotonic()
        done = await self.recompute_risks()
        if done.flagged or done.cleared or done.dropped:
            logger.info("churn risks recomputed", contacts=done.contacts, flagged=done.flagged,
                        cleared=done.cleared, dropped=done.dropped)  # fmt: skip
        return 0

    async def recompute_risks(self) -> Recomputed:
        """Recompute, store and announce every eligible contact's churn risk now."""
        async with self.sessions() as session:
            half_life = (await LeadSettingsService(session).current()).scoring.half_life_days
        return await recompute_risks(
            self.engine, threshold=self.settings.churn_threshold, half_life_days=half_life
        )

    async def report_days_step(self) -> int:
        """Roll the days that are due into the day tables when the time has come; never busy,
        so the loop rests between looks."""
        every = self.settings.report_days_every_seconds
        if every <= 0 or time.monotonic() - self._days_rolled_at < every:
            return 0
        self._days_rolled_at = time.monotonic()
        rolled = await roll_report_days(self.engine)
        if rolled:
            logger.info("report days rolled", days=rolled)
        return 0

    async def crm_step(self) -> int:
        """Sync the contacts whose turn has come to HubSpot, when the sync is on."""
        return await self.crm.step() if self.crm is not None else 0

    async def webhook_step(self) -> int:
        """Dispatch new events, send what is due, now and then forget old history (webhook
        deliveries, and behaviour events past their retention); how many events and
        deliveries were handled."""
        async with self.engine.begin() as connection:
            events = await delivery.dispatch(connection, self.policy.give_up_after)
            if self.crm is not None:
                await self._queue_for_crm(connection, events)
        dispatched = len(events)
        sent = await self.send_due()
        if time.monotonic() - self._purged_at > PURGE_EVERY_SECONDS:
            self._purged_at = time.monotonic()
            async with self.engine.begin() as connection:
                await delivery.purge(connection, utcnow() - RETENTION)
        # Hourly, and not counted as work: what it removes asks for no round after it.
        await self.retention_step()
        return dispatched + sent

    async def _queue_for_crm(
        self, connection: AsyncConnection, events: list[delivery.Dispatched]
    ) -> None:
        """Make the contacts these events changed due for the CRM sync."""
        # What HubSpot itself reported is not sent back to it; a follow-up case and a churn
        # risk are ours alone: they change nothing HubSpot holds.
        changed = {
            event.lead_id
            for event in events
            if event.origin != CRM_ORIGIN and event.type not in NOT_FOR_CRM
        }
        # A new form submission is a new sign of interest: it brings back to HubSpot a contact
        # someone deleted there, which other changes do not.
        captured = {e.lead_id for e in events if e.type == LeadEventType.CAPTURE_CREATED}
        if changed - captured:
            await crm_queue.enqueue(connection, changed - captured, utcnow())
        if captured:
            await crm_queue.enqueue(connection, captured, utcnow(), revive=True)

    async def send_due(self) -> int:
        """Claim a batch of due deliveries, send them at once, record how each went."""
        async with self.engine.begin() as connection:
            claimed = await delivery.claim(
                connection, limit=self.settings.webhook_batch, lease=self.lease
            )
        if not claimed:
            return 0
        outcomes = await self.sender.send_all(claimed)
        async with self.engine.begin() as connection:
            await delivery.record(connection, outcomes, self.policy, self.rng)
        return len(outcomes)

    async def until_idle(self) -> None:
        """What `inbound worker --until-idle` does: each periodic pass that is on, once (the
        next-best-content signals, the churn risks, the report days), then rounds until
        nothing is left to do now, so that the events of the passes are delivered too."""
        await self.nbc_step()
        await self.churn_step()
        await self.report_days_step()
        await self.drain()

    async def drain(self) -> None:
        """Step until nothing is left to do now (for tests and one-off runs)."""
        while await self.step():
            pass
