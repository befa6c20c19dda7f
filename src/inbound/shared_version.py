"""A version of cached values that every process sharing a Redis follows.

A process that changes what the others cache bumps a version key and announces the new
version on a channel. Each process listens on that channel in the background and drops its
cache when it hears of another's change, so a request costs no round trip to Redis: asking
for the version on every capture or answer cost about 0.12 ms of processor time and a round
trip each. While the process is not subscribed (starting up, Redis down or lost), it asks
for the version on each request instead, as a fallback; when that fails too, the cache's own
time bounds how stale a value can be.

Only a deployment of several processes needs Redis (`pip install 'inbound[redis]'`): this
module is imported when `INBOUND_REDIS_URL` is set.
"""

import asyncio
import contextlib
from collections.abc import Callable

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

logger = structlog.get_logger(__name__)

# How long the listener waits for a message before it pings: a link that died without a
# word (no reset) shows as a ping left unanswered.
QUIET_SECONDS = 5.0
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0
CLOSE_POLL_SECONDS = 0.1


class LinkSilent(ConnectionError):
    """Redis answered no ping on the subscription."""


class SharedVersion:
    """Calls ``on_change`` whenever another process changed the values behind ``key``."""

    @classmethod
    def from_url(cls, redis_url: str, key: str, on_change: Callable[[], None]) -> "SharedVersion":
        """Follow the version kept in the Redis at ``redis_url``."""
        # Short timeouts, as for the rate limits: a slow Redis must not hold up a visitor's form.
        redis = Redis.from_url(redis_url, socket_timeout=0.25, socket_connect_timeout=0.25)
        return cls(redis, key, on_change)

    def __init__(self, redis: Redis, key: str, on_change: Callable[[], None]) -> None:
        self.redis = redis
        self.key = key
        self.channel = f"{key}:changed"
        self.on_change = on_change
        self._version: bytes | str | None = None
        # True while the subscription is live: every change from then on is heard.
        self._hearing = False
        self._listener: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def hearing(self) -> bool:
        """Whether the subscription is live, so that requests ask Redis nothing."""
        return self._hearing

    async def follow(self) -> None:
        """Make sure the cache reflects every change another process announced."""
        if self._hearing:
            return
        if not self._closed and (self._listener is None or self._listener.done()):
            self._listener = asyncio.create_task(self._listen(), name=f"follow {self.key}")
        try:
            self._saw(await self.redis.get(self.key))
        except (RedisError, OSError) as exc:
            logger.warning("shared cache version unavailable; cache time applies", error=str(exc))

    async def bump(self) -> None:
        """Tell every other process that the values changed."""
        try:
            version = await self.redis.incr(self.key)
            # Our own announcement, heard back, must not drop what we read since.
            self._version = str(version).encode()
            await self.redis.publish(self.channel, version)
        except (RedisError, OSError) as exc:
            logger.warning("shared cache version not bumped; cache time applies", error=str(exc))

    async def close(self) -> None:
        """Stop listening and close the client."""
        self._closed = True
        listener = self._listener
        while listener is not None and not listener.done():
            # The Redis client can swallow a cancellation that lands inside its read of the
            # subscription: ask again until the listener has ended.
            listener.cancel()
            await asyncio.wait([listener], timeout=CLOSE_POLL_SECONDS)
        await self.redis.aclose()

    def _saw(self, version: bytes | str | None) -> None:
        if version != self._version:
            self._version = version
            self.on_change()

    async def _listen(self) -> None:
        failures = 0
        while not self._closed:
            pubsub = self.redis.pubsub()
            try:
                await self._hear(pubsub)
            except Exception as exc:  # Redis lost or down: asked per request meanwhile
                _stop_if_cancelled(exc)
                logger.warning(
                    "shared cache changes not heard; the version is asked per request",
                    error=str(exc) or type(exc).__name__,
                )
            finally:
                failures = 0 if self._hearing else failures + 1
                self._hearing = False
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(min(RETRY_FIRST_SECONDS * 2**failures, RETRY_MAX_SECONDS))

    async def _hear(self, pubsub: PubSub) -> None:
        await pubsub.subscribe(self.channel)
        # Live once Redis confirms it: the version read after that misses no change.
        if await pubsub.get_message(timeout=QUIET_SECONDS) is None:
            raise LinkSilent("Redis did not confirm the subscription")
        self._saw(await self.redis.get(self.key))
        self._hearing = True
        pinged = False
        while not self._closed:
            message = await pubsub.get_message(timeout=QUIET_SECONDS)
            _stop_if_cancelled()
            if message is None:
                if pinged:
                    raise LinkSilent("no answer to a ping on the cache's channel")
                await pubsub.ping()
                pinged = True
                continue
            pinged = False
            if message["type"] == "message":
                self._saw(message["data"])


def _stop_if_cancelled(error: BaseException | None = None) -> None:
    """Raise the cancellation of this task if one is pending: the Redis client can end a read
    that was cancelled with an error of its own, or with no message at all, and the listener
    must not go on as if nothing had been asked of it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error
