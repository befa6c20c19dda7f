"""Request rate limits, counted in Redis when several processes must share them, else in memory."""

import math
import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a request may go on, and if not, in how many seconds to try again."""

    allowed: bool
    retry_after: int = 0


class RateLimiter:
    """Named limits (such as ``30/minute``) applied per key, such as an IP or an API key."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.limiter = SlidingWindowCounterRateLimiter(storage)

    @classmethod
    def from_url(cls, redis_url: str | None) -> "RateLimiter":
        """Share counters through Redis when a URL is given; otherwise keep them in memory."""
        if not redis_url:
            return cls(MemoryStorage())
        uri = redis_url.replace("redis://", "async+redis://", 1).replace(
            "rediss://", "async+rediss://", 1
        )
        # Short timeouts: a slow Redis must not hold up a visitor's form.
        storage = RedisStorage(
            uri,
            implementation="redispy",
            key_prefix="inbound",
            socket_timeout=0.25,
            socket_connect_timeout=0.25,
        )
        return cls(storage)

    async def hit(self, limit: RateLimitItem, *identifiers: str) -> Verdict:
        """Count one request against ``limit``; fail open when the counter store is down.

        Refusing every form while Redis is unreachable would lose real leads; letting them
        through for a while only loses the spam protection.
        """
        return await self._verdict(limit, identifiers, count=True)

    async def check(self, limit: RateLimitItem, *identifiers: str) -> Verdict:
        """Whether ``limit`` has room for one more request, without counting this one."""
        return await self._verdict(limit, identifiers, count=False)

    async def _verdict(
        self, limit: RateLimitItem, identifiers: tuple[str, ...], *, count: bool
    ) -> Verdict:
        attempt = self.limiter.hit if count else self.limiter.test
        try:
            if await attempt(limit, *identifiers):
                return Verdict(allowed=True)
            stats = await self.limiter.get_window_stats(limit, *identifiers)
        except Exception as exc:  # the store is down or misconfigured
            logger.warning("rate limit store unavailable; request let through", error=str(exc))
            return Verdict(allowed=True)
        return Verdict(allowed=False, retry_after=max(1, math.ceil(stats.reset_time - time.time())))

    async def reset(self) -> None:
        """Forget every counter (for tests and operators)."""
        await self.storage.reset()


def parse_limit(text: str) -> RateLimitItem:
    """Read a limit such as ``30/minute`` or ``5 per second``; ValueError when unreadable."""
    return parse(text)
