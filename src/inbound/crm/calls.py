"""Calls to HubSpot as the sync makes them: paced to its rate limit, each in a worker thread
(the client blocks), and made again after a 429 (a few times) or, for calls that are safe to
repeat, after a server error or no answer."""

import asyncio
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from inbound.backoff import Backoff
from inbound.crm.hubspot import NO_ANSWER, Answer
from inbound.crm.pacing import Pacer

RETRIED_TRIES = 5
# How long the sync waits after HubSpot refused its token (401) or its scopes (403).
AUTH_PAUSE_SECONDS = 60.0
T = TypeVar("T")


@dataclass
class Calls:
    """The paced calls of one worker, with the backoff between tries."""

    pacer: Pacer
    backoff: Backoff
    concurrency: int
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._threads = ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="hubspot"
        )

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def call(self, call: Callable[[], T], *, transient: bool = False) -> T:
        """A paced call to HubSpot in a worker thread, again after a 429 (a few times), and
        with ``transient``, after a server error or no answer too."""
        for tries in range(RETRIED_TRIES):
            slot = await self.pacer.acquire()
            try:
                found = await asyncio.get_running_loop().run_in_executor(self._threads, call)
            finally:
                self.pacer.release(slot)
            answer = found[0] if isinstance(found, tuple) else found
            assert isinstance(answer, Answer)
            self.pacer.observe(answer.headers)
            if answer.status == 429:
                self.pacer.pause(answer.retry_after or self.pacer.interval)
            elif transient and (answer.status == NO_ANSWER or answer.status >= 500):
                await asyncio.sleep(self.wait(tries).total_seconds())
            else:
                break
        return found

    def wait(self, failures: int) -> timedelta:
        """The backoff after ``failures`` earlier failures."""
        return self.backoff.wait(failures + 1, self.rng)


def refused_as_a_whole(answer: Answer) -> bool:
    """A 4xx that will never succeed as it is, for a reason HubSpot did not pin on one input."""
    return 400 <= answer.status < 500 and answer.status not in (401, 403, 429)


def made(answer: Answer) -> Answer:
    """A create's answer, with 409 (it exists already) as success."""
    return Answer(200, answer.headers) if answer.status == 409 else answer


def describe(answer: Answer) -> str:
    """HubSpot's answer, or why there was none, for the status."""
    if answer.status == NO_ANSWER:
        return answer.message
    return f"HubSpot answered {answer.status}: {answer.message}"
