"""Sending webhooks: one signed attempt per claimed delivery, over pooled httpx clients.

What a receiver gets is signed the Standard Webhooks way; whatever happens to an attempt
(an answer, a timeout, a refused target) becomes its `Outcome`, for `delivery.record`.
"""

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import httpx
import msgspec
from standardwebhooks.webhooks import Webhook

from inbound.db import utcnow
from inbound.webhooks.targets import TargetRefused
from inbound.webhooks.transport import CheckedTransport

KEPT_RESPONSE = 1000
CONNECTIONS_PER_POOL = 8
USER_AGENT = "inbound-webhooks/1"


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
