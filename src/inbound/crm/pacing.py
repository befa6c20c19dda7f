"""Pacing calls to HubSpot so that its rate limit is never reached.

HubSpot allows a private app a number of calls in any rolling window (100 or 190 in 10 s) and
says so in every answer's headers: the limit, the window, and what is left of it. The pacer
counts the calls it starts in the window and waits when the next would be one too many. What
is left by HubSpot's count can be less than by ours (a worker that stopped a moment ago
spent some of it): the difference is counted as spent now, so the pacer slows down before
HubSpot refuses. A refusal (429) stops every call until its `Retry-After` has passed.
"""

import asyncio
import collections
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# A call leaves our count of the window this long after HubSpot's: it reaches HubSpot a
# little after we start it, and HubSpot's window must not see it in a later second than ours.
MARGIN_SECONDS = 0.25
DEFAULT_INTERVAL_SECONDS = 10.0


@dataclass
class Pacer:
    limit: int
    interval: float = DEFAULT_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    paused_until: float = 0.0
    daily_left: int | None = None
    _started: collections.deque[float] = field(default_factory=collections.deque)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def acquire(self) -> None:
        """Wait until one more call fits in the window, and count it."""
        async with self._lock:
            # Each wait runs to the moment the window next has room: a deadline, not polling.
            while (wait := self._wait(self.clock())) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
            self._started.append(self.clock())

    def _wait(self, now: float) -> float:
        if now < self.paused_until:
            return self.paused_until - now
        horizon = self.interval + MARGIN_SECONDS
        while self._started and self._started[0] <= now - horizon:
            self._started.popleft()
        if len(self._started) >= self.limit:
            return self._started[0] + horizon - now
        return 0.0

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take in what HubSpot's rate-limit headers (names in lowercase) say of the limit
        and what is left."""
        limit = _integer(headers.get("x-hubspot-ratelimit-max"))
        interval = _integer(headers.get("x-hubspot-ratelimit-interval-milliseconds"))
        remaining = _integer(headers.get("x-hubspot-ratelimit-remaining"))
        daily_left = _integer(headers.get("x-hubspot-ratelimit-daily-remaining"))
        if limit:
            self.limit = limit
        if interval:
            self.interval = interval / 1000
        if remaining is not None:
            unknown = (self.limit - remaining) - len(self._started)
            now = self.clock()
            self._started.extend([now] * max(0, unknown))
        if daily_left is not None:
            self.daily_left = daily_left
            if daily_left <= 0:
                # The daily budget is gone; HubSpot renews it at midnight in the account's
                # zone, which we do not know: try again in an hour.
                self.pause(3600)

    def pause(self, seconds: float) -> None:
        """Start no call for ``seconds``."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    @property
    def in_window(self) -> int:
        return len(self._started)


def _integer(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
