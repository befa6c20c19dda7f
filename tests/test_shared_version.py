"""A version of cached values shared by processes through Redis: a change announced by one
is heard by the others, which ask Redis nothing per request while they hear; one not
hearing (yet, or any more) asks for the version instead."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from inbound.shared_version import SharedVersion

REDIS_URL = "redis://127.0.0.1:6379/13"
PATIENCE_SECONDS = 3.0
POLL_SECONDS = 0.01


class Process:
    """One process's view: its version follower and how often it dropped its cache."""

    def __init__(self, key: str) -> None:
        self.drops = 0
        self.version = SharedVersion(Redis.from_url(REDIS_URL), key, self._drop)

    def _drop(self) -> None:
        self.drops += 1


async def eventually(condition: Callable[[], bool]) -> None:
    for _ in range(int(PATIENCE_SECONDS / POLL_SECONDS)):
        if condition():
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"not so within {PATIENCE_SECONDS} s")


@pytest.fixture
async def processes() -> AsyncIterator[tuple[Process, Process]]:
    key = f"inbound:test:{uuid.uuid4()}"
    pair = (Process(key), Process(key))
    yield pair
    for process in pair:
        await process.version.close()
    async with Redis.from_url(REDIS_URL) as redis:
        await redis.delete(key)


async def hearing(process: Process) -> None:
    await process.version.follow()
    await eventually(lambda: process.version.hearing)


async def test_a_change_is_heard_by_the_other_process(processes: tuple[Process, Process]) -> None:
    writer, reader = processes
    await hearing(reader)
    before = reader.drops
    await writer.version.bump()
    await eventually(lambda: reader.drops == before + 1)


async def test_the_process_that_changed_does_not_drop_its_cache_again_on_its_own_news(
    processes: tuple[Process, Process],
) -> None:
    writer, reader = processes
    await hearing(writer)
    await hearing(reader)
    await writer.version.bump()
    await eventually(lambda: reader.drops == 1)
    assert writer.drops == 0


async def test_a_hearing_process_asks_redis_nothing_per_request(
    processes: tuple[Process, Process],
) -> None:
    _, reader = processes
    await hearing(reader)
    # A version changed without an announcement goes unnoticed only if nothing is asked.
    await reader.version.redis.incr(reader.version.key)
    await reader.version.follow()
    assert reader.drops == 0


async def test_a_process_not_hearing_yet_asks_for_the_version(
    processes: tuple[Process, Process],
) -> None:
    writer, reader = processes
    await writer.version.redis.incr(writer.version.key)  # changed before the reader listened
    await reader.version.follow()
    assert reader.drops == 1


async def test_a_lost_subscription_is_taken_up_again_and_misses_no_change(
    processes: tuple[Process, Process],
) -> None:
    writer, reader = processes
    await hearing(reader)
    async with Redis.from_url(REDIS_URL) as admin:
        await admin.client_kill_filter(_type="pubsub")
    await eventually(lambda: not reader.version.hearing)
    # Changed while the reader was deaf: its new subscription reads the version.
    await writer.version.redis.incr(writer.version.key)
    await eventually(lambda: reader.version.hearing)
    assert reader.drops == 1
    await writer.version.bump()
    await eventually(lambda: reader.drops == 2)


async def test_with_redis_down_following_and_bumping_fail_quietly() -> None:
    dropped: list[bool] = []
    version = SharedVersion(
        Redis.from_url("redis://127.0.0.1:1/0"), "k", lambda: dropped.append(True)
    )
    try:
        await version.follow()
        await version.bump()
        assert not version.hearing
        assert dropped == []
    finally:
        await version.close()


async def test_closing_ends_a_listener_that_swallowed_its_cancellation() -> None:
    """The Redis client can swallow a cancellation that lands inside a read: closing must
    not wait forever for a listener that went on."""
    version = SharedVersion(Redis.from_url(REDIS_URL), "k", lambda: None)
    swallowed: list[bool] = []

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(True)  # once, as such a read does

    version._listener = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    began = time.monotonic()
    async with asyncio.timeout(PATIENCE_SECONDS):
        await version.close()
    assert time.monotonic() - began < 1.0  # not ended by the timeout's own cancellation
    assert swallowed == [True]
    assert version._listener.done()
