"""The pacer keeps a call in the rate window from its start until one window after its answer:
HubSpot counts it on arrival, which may come well after we start it."""

import asyncio
import time

from inbound.crm.pacing import MARGIN_SECONDS, Pacer


async def test_a_call_still_out_holds_its_place_however_long_it_takes() -> None:
    pacer = Pacer(limit=2, interval=0.2)
    first, _second = await pacer.acquire(), await pacer.acquire()
    third = asyncio.create_task(pacer.acquire())
    await asyncio.sleep(0.4)  # twice the window, and both calls are still out
    assert not third.done()
    answered = time.monotonic()
    pacer.release(first)
    await third
    assert time.monotonic() - answered >= 0.2 + MARGIN_SECONDS - 0.01


async def test_what_hubspot_counted_and_we_did_not_is_spent() -> None:
    pacer = Pacer(limit=10, interval=0.3)
    # Another worker spent 9 of 10 a moment ago: one call fits, the next waits for the window.
    pacer.observe({"x-hubspot-ratelimit-max": "10", "x-hubspot-ratelimit-remaining": "1",
                   "x-hubspot-ratelimit-interval-milliseconds": "300"})  # fmt: skip
    pacer.release(await pacer.acquire())
    began = time.monotonic()
    pacer.release(await pacer.acquire())
    assert time.monotonic() - began >= 0.25


async def test_a_429_stops_every_call_until_retry_after() -> None:
    pacer = Pacer(limit=100)
    pacer.pause(0.3)
    began = time.monotonic()
    pacer.release(await pacer.acquire())
    assert time.monotonic() - began >= 0.29
