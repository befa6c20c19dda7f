"""The worker's side of webhooks: lead events from the outbox become deliveries, and due
deliveries are sent, signed the Standard Webhooks way, and retried until they succeed or die.

Several workers may run: on PostgreSQL one dispatches at a time (an advisory lock) and each
sender leases the deliveries it claims (`FOR UPDATE SKIP LOCKED`); a worker that dies lets its
leases lapse, and another sends those deliveries again. Receivers deduplicate on `webhook-id`.
"""

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.backoff import Backoff
from inbound.db import new_id, table_of, utcnow
from inbound.leads.events import lead_sequence
from inbound.leads.repository import LEAD_EVENTS
from inbound.webhooks.models import (
    PENDING,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from inbound.webhooks.sending import Due, Outcome, body
from inbound.webhooks.sending import Sender as Sender  # the worker sends through this module

DELIVERIES = table_of(WebhookDelivery)
ATTEMPTS = table_of(WebhookAttempt)
SUBSCRIPTIONS = table_of(WebhookSubscription)
SUCCEEDED, DEAD = "succeeded", "dead"
DISPATCH_LOCK = 0x1B0A_7E  # any constant shared by every worker of this service
DISPATCH_BATCH = 1000
PURGE_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries with the shared backoff, until the delivery's deadline."""

    backoff: Backoff
    give_up_after: timedelta


@dataclass(frozen=True, slots=True)
class Dispatched:
    """An event handed on: whose it is, and where its change came from."""

    lead_id: uuid.UUID
    origin: str | None
    type: str = ""


async def dispatch(connection: AsyncConnection, give_up_after: timedelta) -> list[Dispatched]:
    """Turn undispatched lead events into deliveries for the active subscriptions that chose
    them, in the order the events were written; the events handed on, for the caller to pass
    to other consumers in the same transaction."""
    if connection.dialect.name == "postgresql":
        taken = await connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": DISPATCH_LOCK}
        )
        if not taken.scalar_one():
            return []
    events = (
        await connection.execute(
            select(
                LEAD_EVENTS.c.seq,
                LEAD_EVENTS.c.id,
                LEAD_EVENTS.c.type,
                LEAD_EVENTS.c.lead_id,
                LEAD_EVENTS.c.lead_version,
                LEAD_EVENTS.c.ordinal,
                LEAD_EVENTS.c.origin,
            )
            .where(LEAD_EVENTS.c.dispatched_at.is_(None))
            .order_by(LEAD_EVENTS.c.seq)
            .limit(DISPATCH_BATCH)
        )
    ).all()
    if not events:
        return []
    subscriptions = (
        await connection.execute(
            select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.events).where(SUBSCRIPTIONS.c.active)
        )
    ).all()
    now = utcnow()
    deliveries = [
        {
            "id": new_id(), "subscription_id": subscription_id, "event_id": event.id,
            "event_type": event.type, "lead_id": event.lead_id,
            "lead_sequence": lead_sequence(event.lead_version, event.ordinal),
            "status": PENDING, "attempts": 0, "next_attempt_at": now,
            "give_up_at": now + give_up_after, "created_at": now,
        }
        for event in events
        for subscription_id, chosen in subscriptions
        if event.type in chosen
    ]  # fmt: skip
    if deliveries:
        await connection.execute(insert(DELIVERIES), deliveries)
    await connection.execute(
        update(LEAD_EVENTS)
        .where(LEAD_EVENTS.c.seq.in_([event.seq for event in events]))
        .values(dispatched_at=now)
    )
    return [Dispatched(event.lead_id, event.origin, event.type) for event in events]


async def claim(connection: AsyncConnection, *, limit: int, lease: timedelta) -> list[Due]:
    """Lease up to ``limit`` due deliveries, each the earliest pending one of its lead for its
    subscription, so that a lead's events leave in order."""
    now = utcnow()
    d, earlier = DELIVERIES, DELIVERIES.alias("earlier")
    waiting_behind = exists().where(
        earlier.c.status == PENDING,
        earlier.c.subscription_id == d.c.subscription_id,
        earlier.c.lead_id == d.c.lead_id,
        earlier.c.lead_sequence < d.c.lead_sequence,
    )
    due = (
        select(d.c.id)
        .join(
            SUBSCRIPTIONS, and_(SUBSCRIPTIONS.c.id == d.c.subscription_id, SUBSCRIPTIONS.c.active)
        )
        .where(
            d.c.status == PENDING,
            d.c.next_attempt_at <= now,
            d.c.leased_until.is_(None) | (d.c.leased_until < now),
            ~waiting_behind,
        )
        .order_by(d.c.next_attempt_at)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        due = due.with_for_update(of=d, skip_locked=True)
    until = now + lease
    claimed = (
        (
            await connection.execute(
                update(d)
                .where(d.c.id.in_(due.scalar_subquery()))
                .values(leased_until=until)
                .returning(d.c.id)
            )
        )
        .scalars()
        .all()
    )
    if not claimed:
        return []
    rows = await connection.execute(
        select(
            d.c.id, d.c.event_id, d.c.attempts, d.c.give_up_at, SUBSCRIPTIONS.c.url,
            SUBSCRIPTIONS.c.secret, LEAD_EVENTS.c.type, LEAD_EVENTS.c.data,
            LEAD_EVENTS.c.occurred_at,
        )
        .join(SUBSCRIPTIONS, SUBSCRIPTIONS.c.id == d.c.subscription_id)
        .join(LEAD_EVENTS, LEAD_EVENTS.c.id == d.c.event_id)
        .where(d.c.id.in_(claimed))
    )  # fmt: skip
    return [
        Due(row.id, row.event_id, row.attempts, row.give_up_at, until, row.url, row.secret,
            body(row.type, row.occurred_at, row.data))
        for row in rows
    ]  # fmt: skip


async def record(
    connection: AsyncConnection,
    outcomes: Sequence[Outcome],
    policy: RetryPolicy,
    rng: random.Random,
) -> None:
    """Store each attempt and what it means for its delivery: delivered, due again later, or
    dead. A delivery whose lease another worker took over meanwhile keeps that one's state."""
    if not outcomes:
        return
    now = utcnow()
    changes = []
    for outcome in outcomes:
        due = outcome.due
        failures = due.attempts + 1
        change: dict[str, Any] = {
            "b_id": due.id, "b_lease": due.leased_until, "attempts": failures,
            "last_attempt_at": outcome.attempted_at, "last_status_code": outcome.status_code,
            "last_error": outcome.error, "status": PENDING, "next_attempt_at": now,
            "finished_at": None,
        }  # fmt: skip
        if outcome.delivered:
            change.update(status=SUCCEEDED, finished_at=now)
        else:
            retry_at = now + policy.backoff.wait(failures, rng)
            if retry_at > due.give_up_at:
                change.update(status=DEAD, finished_at=now)
            else:
                change["next_attempt_at"] = retry_at
        changes.append(change)
    columns = ("attempts", "last_attempt_at", "last_status_code", "last_error", "status",
               "next_attempt_at", "finished_at")  # fmt: skip
    await connection.execute(
        update(DELIVERIES)
        .where(
            DELIVERIES.c.id == bindparam("b_id"),
            DELIVERIES.c.leased_until == bindparam("b_lease"),
        )
        .values({name: bindparam(name) for name in columns} | {"leased_until": None}),
        changes,
    )
    await connection.execute(
        insert(ATTEMPTS),
        [
            {
                "id": new_id(), "delivery_id": o.due.id, "attempted_at": o.attempted_at,
                "status_code": o.status_code, "error": o.error,
                "response_body": o.response_body, "duration_ms": o.duration_ms,
            }
            for o in outcomes
        ],
    )  # fmt: skip


async def purge(connection: AsyncConnection, older_than: datetime) -> int:
    """Forget a batch of events from before ``older_than``, handed on with nothing pending, and
    their deliveries and attempts; how many events went."""
    expired = (
        select(LEAD_EVENTS.c.seq)
        .where(
            LEAD_EVENTS.c.occurred_at < older_than,
            LEAD_EVENTS.c.dispatched_at.is_not(None),
            ~exists().where(
                DELIVERIES.c.event_id == LEAD_EVENTS.c.id, DELIVERIES.c.status == PENDING
            ),
        )
        .limit(PURGE_BATCH)
    )
    result = await connection.execute(
        LEAD_EVENTS.delete().where(LEAD_EVENTS.c.seq.in_(expired.scalar_subquery()))
    )
    return int(result.rowcount or 0)
