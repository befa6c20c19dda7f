"""The worker's side of webhooks: lead events from the outbox become deliveries, and due
deliveries are sent, signed the Standard Webhooks way, and retried until they succeed or die.

Several workers may run: on PostgreSQL one dispatches at a time (an advisory lock) and each
sender leases the deliveries it claims (`FOR UPDATE SKIP LOCKED`); a worker that dies lets its
leases lapse, and another sends those deliveries again. Receivers deduplicate on `webhook-id`.
"""

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx
import msgspec
from sqlalchemy import and_, bindparam, exists, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from standardwebhooks.webhooks import Webhook

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
from inbound.webhooks.targets import TargetRefused
from inbound.webhooks.transport import CheckedTransport

DELIVERIES = table_of(WebhookDelivery)
ATTEMPTS = table_of(WebhookAttempt)
SUBSCRIPTIONS = table_of(WebhookSubscription)
SUCCEEDED, DEAD = "succeeded", "dead"
DISPATCH_LOCK = 0x1B0A_7E  # any constant shared by every worker of this service
DISPATCH_BATCH = 1000
PURGE_BATCH = 10_000
KEPT_RESPONSE = 1000
CONNECTIONS_PER_POOL = 8
USER_AGENT = "inbound-webhooks/1"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries with the shared backoff, until the delivery's deadline."""

    backoff: Backoff
    give_up_after: timedelta


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed delivery, with what sending it needs."""

    id: uuid.UUID
    event_id: uuid.UUID
    attempts: int
    give_up_at: datetime
    leased_until: datetime
    url: str
    secret: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Dispatched:
    """An event handed on: whose it is, and where its change came from."""

    lead_id: uuid.UUID
    origin: str | None
    type: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went."""

    due: Due
    attempted_at: datetime
    status_code: int | None
    error: str | None
    response_body: str | None
    duration_ms: float

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


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


def body(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """What a receiver gets: the same bytes on every attempt."""
    timestamp = occurred_at.isoformat().replace("+00:00", "Z")
    return msgspec.json.encode({"type": event_type, "timestamp": timestamp, "data": data})


@lru_cache(maxsize=1024)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def signed_headers(due: Due, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    msg_id = str(due.event_id)
    signature = _signer(due.secret).sign(msg_id, at, due.body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


async def send(client: httpx.AsyncClient, due: Due) -> Outcome:
    """One attempt at a delivery; whatever happens becomes its outcome."""
    attempted_at = utcnow()
    began = time.perf_counter()
    status_code, error, answer = None, None, None
    try:
        response = await client.post(
            due.url, content=due.body, headers=signed_headers(due, attempted_at)
        )
        status_code, answer = response.status_code, response.text[:KEPT_RESPONSE]
        if not 200 <= status_code < 300:
            error = f"the receiver answered {status_code}"
    except TargetRefused as exc:
        # Nothing was sent, so there is no answer to keep: only why.
        error = f"refused: {exc}"
    except httpx.TimeoutException:
        error = "no answer within the timeout"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:KEPT_RESPONSE] or type(exc).__name__
    duration_ms = (time.perf_counter() - began) * 1000
    return Outcome(due, attempted_at, status_code, error, answer, duration_ms)


class Sender:
    """httpx clients sending at most ``concurrency`` deliveries at once.

    The sends are spread over several small connection pools: a pool's bookkeeping per
    request grows with its connections, and one large pool spends more on it than on HTTP.
    """

    def __init__(self, *, concurrency: int, timeout: float, allow_loopback: bool = False) -> None:
        per_pool = min(concurrency, CONNECTIONS_PER_POOL)
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        pools = -(-concurrency // per_pool)
        # Nothing from the environment: no proxy (the transport must itself connect to the
        # address it checked) and no .netrc credentials sent to receivers.
        self.clients = [
            httpx.AsyncClient(
                transport=CheckedTransport(limits=limits, allow_loopback=allow_loopback),
                timeout=timeout,
                follow_redirects=False,
                trust_env=False,
            )
            for _ in range(pools)
        ]
        self.slots = asyncio.Semaphore(concurrency)

    async def send_all(self, claimed: Sequence[Due]) -> list[Outcome]:
        """Send every delivery, ``concurrency`` at a time; their outcomes in the same order."""

        async def one(index: int, due: Due) -> Outcome:
            async with self.slots:
                return await send(self.clients[index % len(self.clients)], due)

        return list(await asyncio.gather(*(one(i, due) for i, due in enumerate(claimed))))

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()


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
