"""The emulated portal's rate limits and the faults a test can switch on."""

import collections
import math
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Faults:
    """What goes wrong, and how often: each call draws once against the rates in turn."""

    rate_429: float = 0.0  # refused with 429 and a Retry-After, before any work
    rate_5xx: float = 0.0  # a 502 or 503 from the edge, before any work
    rate_drop: float = 0.0  # the connection closes without an answer, half of them after the work
    slow_rate: float = 0.0  # answered, but `slow_seconds` late
    slow_seconds: float = 0.0
    latency_seconds: float = 0.0  # added to every answer, as a distant data centre does
    retry_after_seconds: int = 1
    # Routes (`upsert`, `gdpr_delete`, ...) that answer 503 to every call until switched off:
    # one endpoint of HubSpot's down while the others work.
    failing_routes: tuple[str, ...] = ()
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self.rng.seed(self.seed)

    def update(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            if name in ("rng",) or not hasattr(self, name):
                raise ValueError(f"no fault switch {name!r}")
            setattr(self, name, tuple(value) if name == "failing_routes" else value)
        if "seed" in changes and self.seed is not None:
            self.rng.seed(self.seed)

    def draw(self) -> str | None:
        """The fault this call meets, if any: `429`, `5xx`, `drop_before`, `drop_after`, `slow`."""
        roll = self.rng.random()
        for name, rate in (("429", self.rate_429), ("5xx", self.rate_5xx),
                           ("drop", self.rate_drop), ("slow", self.slow_rate)):  # fmt: skip
            if roll < rate:
                if name == "drop":
                    return "drop_after" if self.rng.random() < 0.5 else "drop_before"
                return name
            roll -= rate
        return None


@dataclass
class RateLimit:
    """HubSpot's burst limit for a private app: ``limit`` calls in any rolling ``interval``,
    plus a daily budget; searches have their own limit per second and carry no headers."""

    limit: int = 100
    interval_seconds: float = 10.0
    daily: int = 250_000
    search_per_second: int = 5
    _calls: collections.deque[float] = field(default_factory=collections.deque)
    _searches: collections.deque[float] = field(default_factory=collections.deque)
    _today: int = 0
    # The most calls ever seen inside one window: a client that paces itself keeps this at or
    # under `limit`.
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, search: bool = False) -> tuple[str | None, float]:
        """Count a call: the policy it breaks (None when allowed) and, if so, the seconds
        until a call would be allowed again."""
        now = time.monotonic()
        with self.lock:
            if search:
                window, limit, span = self._searches, self.search_per_second, 1.0
            else:
                window, limit, span = self._calls, self.limit, self.interval_seconds
            while window and window[0] <= now - span:
                window.popleft()
            if not search and self._today >= self.daily:
                return "DAILY", 3600.0
            if len(window) >= limit:
                return ("SECONDLY" if search else "TEN_SECONDLY_ROLLING"), window[0] + span - now
            window.append(now)
            if not search:
                self._today += 1
                self.peak = max(self.peak, len(window))
            return None, 0.0

    def headers(self) -> dict[str, str]:
        """The rate-limit headers HubSpot sends on every answer but searches'."""
        now = time.monotonic()
        with self.lock:
            used = sum(1 for moment in self._calls if moment > now - self.interval_seconds)
            return {
                "X-HubSpot-RateLimit-Max": str(self.limit),
                "X-HubSpot-RateLimit-Remaining": str(max(0, self.limit - used)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(
                    math.floor(self.interval_seconds * 1000)
                ),
                "X-HubSpot-RateLimit-Daily": str(self.daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily - self._today)),
            }

    def reset(self) -> None:
        with self.lock:
            self._calls.clear()
            self._searches.clear()
            self._today = 0
            self.peak = 0
