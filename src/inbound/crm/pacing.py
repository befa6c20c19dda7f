"""Pacing calls to HubSpot so that its rate limit is never reached.

HubSpot allows a private app a number of calls in any rolling window (100 or 190 in 10 s) and
says so in every answer's headers: the limit, the window, and what is left of it. HubSpot
counts a call when it arrives, which is some time after we start it (a busy worker thread, the
network). So the pacer keeps each call in its window from the moment it starts until one
window after its answer came back, which is never earlier than HubSpot lets it go, and waits
when the next call would be one too many. What is left by HubSpot's count can be less than by
ours (a worker that stopped a moment ago spent some of it): the difference is counted as
spent now, so the pacer slows down before HubSpot refuses. A refusal (429) stops every call
until its `Retry-After` has passed.
"""

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Clocks and rounding: a call leaves our window this much after it has left HubSpot's.
MARGIN_SECONDS = 0.05
IN_FLIGHT = math.inf
DEFAULT_INTERVAL_SECONDS = 10.0


@dataclass
class Slot:
    """One call's place in the window."""

    leaves_at: float


@dataclass
class Pacer:
    limit: int
    interval: float = DEFAULT_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    paused_until: float = 0.0
    daily_left: int | None = None
    # When each call in the window leaves it: IN_FLIGHT until its answer is back.
    _calls: list[Slot] = field(default_factory=list)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _answered: asyncio.Event = field(default_factory=asyncio.Event)

    async def acquire(self) -> Slot:
        """Wait until one more call fits in the window, and count it; `release` the slot
        when the call's answer (or its failure) is back."""
        async with self._lock:
            while True:
                self._answered.clear()
                wait = self._wait(self.clock())
                if wait <= 0:
                    break
                if math.isinf(wait):
                    # Every call in the window is still out: the first answer frees a place.
                    await self._answered.wait()
                else:
                    await asyncio.sleep(wait)
            slot = Slot(IN_FLIGHT)
            self._calls.append(slot)
            return slot

    def release(self, slot: Slot) -> None:
        """The call's answer is back: it leaves the window one interval from now."""
        slot.leaves_at = self.clock() + self.interval + MARGIN_SECONDS
        self._answered.set()

    def _wait(self, now: float) -> float:
        if now < self.paused_until:
            return self.paused_until - now
        self._calls = [call for call in self._calls if call.leaves_at > now]
        if len(self._calls) >= self.limit:
            return min(call.leaves_at for call in self._calls) - now
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
            unknown = (self.limit - remaining) - len(self._calls)
            leaves_at = self.clock() + self.interval + MARGIN_SECONDS
            self._calls.extend(Slot(leaves_at) for _ in range(max(0, unknown)))
        if daily_left is not None:
            self.daily_left = daily_left
            if daily_left <= 0:
                # The daily budget is gone; HubSpot renews it at midnight in the account's
                # zone, which we do not know: try again in an hour.
                self.pause(3600)

    def pause(self, seconds: float) -> None:
        """Start no call for ``seconds``."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)


def _integer(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
